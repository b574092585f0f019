"""Analyst tooling for the MAI e-services event streams.

Public surface:

    record_from_message(...)   decode one Kafka value, check its contract, redact x-pii fields
    EventRecord / Undecodable  a decoded event (with its verdict) / a message that is no CloudEvent
    flatten_record(record)     one flat row (envelope, Kafka coordinates, dotted data columns)
    write_records / read_rows  export to JSON lines, CSV or Parquet, and read an export back
    read_topic / StartPosition read a topic from the beginning, the end, an offset or a time
    render_data_dictionary()   the Markdown data dictionary generated from the contracts
"""

from __future__ import annotations

from .dictionary import render_data_dictionary
from .formats import FORMATS, ExportFormat, read_rows, write_records
from .reading import StartPosition, TopicNotFoundError, read_topic
from .records import EventRecord, Undecodable, data_columns, flatten_record, record_from_message

__all__ = [
    "FORMATS",
    "EventRecord",
    "ExportFormat",
    "StartPosition",
    "TopicNotFoundError",
    "Undecodable",
    "data_columns",
    "flatten_record",
    "read_rows",
    "read_topic",
    "record_from_message",
    "render_data_dictionary",
    "write_records",
]
