"""Export files: JSON lines (nested, as on the topic), CSV and Parquet (flat columns), and reading them back."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from .records import (
    CONTRACT_COLUMNS,
    DATA_PREFIX,
    ENVELOPE_COLUMNS,
    KAFKA_COLUMNS,
    EventRecord,
    data_fields,
    flatten_data,
    flatten_record,
)

__all__ = ["FORMATS", "ExportFormat", "columns_for", "read_rows", "write_records"]

ExportFormat = Literal["jsonl", "csv", "parquet"]
FORMATS: Final[tuple[ExportFormat, ...]] = ("jsonl", "csv", "parquet")


def columns_for(event_type: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Envelope, Kafka and contract columns, the contract's data columns, then any undeclared ones seen."""
    fixed = [*ENVELOPE_COLUMNS, *KAFKA_COLUMNS, *CONTRACT_COLUMNS]
    declared = [name for name, _schema in data_fields(event_type)]
    known = set(fixed) | set(declared)
    extra = sorted({name for row in rows for name in row if name not in known})
    return [*fixed, *declared, *extra]


def write_records(records: Iterable[EventRecord], path: Path, export_format: ExportFormat, event_type: str) -> int:
    """Write records to path in export_format; returns how many were written."""
    materialised = list(records)
    if export_format == "jsonl":
        with path.open("w", encoding="utf-8") as out:
            for record in materialised:
                out.write(json.dumps(record.as_json(), ensure_ascii=False, sort_keys=False) + "\n")
        return len(materialised)
    rows = [flatten_record(record) for record in materialised]
    columns = columns_for(event_type, rows)
    if export_format == "csv":
        _write_csv(rows, columns, path)
    elif export_format == "parquet":
        _write_parquet(rows, columns, event_type, path)
    else:
        raise ValueError(f"unknown export format {export_format!r}; choose one of {', '.join(FORMATS)}")
    return len(rows)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _write_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(column)) for column in columns])


_FIXED_ARROW_TYPES: Final = {
    "time": "timestamp",
    "kafka_partition": "int32",
    "kafka_offset": "int64",
    "valid": "bool",
}


def _arrow_type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if kind == "integer":
        return "int64"
    if kind == "number":
        return "float64"
    if kind == "boolean":
        return "bool"
    if kind == "string" and schema.get("format") == "date-time":
        return "timestamp"
    if kind == "string" and schema.get("format") == "date":
        return "date"
    return "string"


def _as_timestamp(value: Any) -> Any:
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def _write_parquet(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], event_type: str, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    wanted = dict(_FIXED_ARROW_TYPES)
    wanted.update({name: _arrow_type_of(schema) for name, schema in data_fields(event_type)})
    arrow_types = {
        "string": pa.string(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
    }
    arrays = []
    for column in columns:
        values = [row.get(column) for row in rows]
        kind = wanted.get(column, "string")
        try:
            if kind == "timestamp":
                values = [_as_timestamp(v) for v in values]
            elif kind == "date":
                values = [datetime.fromisoformat(v).date() if isinstance(v, str) else v for v in values]
            arrays.append(pa.array(values, type=arrow_types[kind]))
        except (ValueError, TypeError, pa.ArrowException):
            # An event that breaks its contract may hold a value of another type: keep it as text.
            arrays.append(pa.array([None if v is None else _csv_cell(v) for v in values], type=pa.string()))
    pq.write_table(pa.Table.from_arrays(arrays, names=list(columns)), path)  # type: ignore[no-untyped-call]


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Read an export back as flat rows (JSON lines are flattened the way CSV and Parquet are).

    Parquet keeps types (timestamps, integers, booleans); CSV cells are text, empty for none.
    """
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        rows = []
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    rows.append(_flat_from_json(json.loads(line)))
        return rows
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as cells:
            return [dict(row) for row in csv.DictReader(cells)]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table: list[dict[str, Any]] = pq.read_table(path).to_pylist()  # type: ignore[no-untyped-call]
        return table
    raise ValueError(f"cannot tell the format of {path.name}: expected .jsonl, .csv or .parquet")


def _flat_from_json(document: Mapping[str, Any]) -> dict[str, Any]:
    kafka = document.get("kafka") or {}
    row: dict[str, Any] = {name: document.get(name) for name in ENVELOPE_COLUMNS}
    row.update(
        kafka_topic=kafka.get("topic"),
        kafka_partition=kafka.get("partition"),
        kafka_offset=kafka.get("offset"),
        valid=document.get("valid"),
        contract_errors="; ".join(document.get("contract_errors") or []) or None,
    )
    flatten_data(document.get("data") or {}, DATA_PREFIX.rstrip("."), row)
    return row
