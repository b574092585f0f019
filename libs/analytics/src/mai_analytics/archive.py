"""The archiver: the analytics topics written to Parquet, partitioned by event type and day.

The archive root is a local directory (development) or ``s3://bucket/prefix`` on any S3-compatible
object store (``ANALYTICS_S3_ENDPOINT_URL`` for one that is not AWS; credentials from the usual
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_REGION``). Layout under the root::

    type=ro.mai.petition.submitted.v1/day=2026-03-14/part-000042-<topic>-<partition>.parquet
    _checkpoint.json      {"batch": 42, "offsets": {"analytics.petition.submitted:0": 1234, ...}}

Each batch writes its files first, then replaces ``_checkpoint.json`` atomically (locally: write,
fsync, rename; on S3 one PUT, which is atomic) with the next offset of every partition. On start
the archiver deletes the files of any batch newer than the checkpoint (a batch a kill
interrupted) and seeks every partition to its checkpointed offset, so a killed archiver resumes
where its last finished batch ended and every message is written exactly once. The broker-side
offsets of its consumer group are committed too, but only for monitoring (lag); the checkpoint
beside the files is what counts.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import mai_contracts
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from mai_chassis import kafka_clients
from mai_chassis.events import EventDecodeError, decode_event

__all__ = ["CHECKPOINT", "GROUP_ID", "ArchiveStore", "Archiver"]

logger = logging.getLogger(__name__)

GROUP_ID = "analytics-archiver"
CHECKPOINT = "_checkpoint.json"
_PART = re.compile(r"^part-(\d{6})-")


class ArchiveStore:
    """Where the archive lives: a local directory, or a prefix in an S3 bucket (``s3://bucket/prefix``)."""

    def __init__(self, root: str | os.PathLike[str], *, s3_endpoint_url: str = "") -> None:
        text = os.fspath(root)
        self.is_local = not text.startswith("s3://")
        self.filesystem: pafs.FileSystem
        if self.is_local:
            self.filesystem = pafs.LocalFileSystem()
            self.base = str(Path(text).resolve())
        else:
            location = urlsplit(text)
            options: dict[str, Any] = {}
            if s3_endpoint_url:
                endpoint = urlsplit(s3_endpoint_url)
                options.update(endpoint_override=endpoint.netloc, scheme=endpoint.scheme or "https")
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            if region:
                options["region"] = region
            self.filesystem = pafs.S3FileSystem(**options)
            self.base = (location.netloc + "/" + location.path.strip("/")).rstrip("/")

    def path(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def files(self) -> list[str]:
        """Every file under the root, as paths relative to it."""
        selector = pafs.FileSelector(self.base, recursive=True, allow_not_found=True)
        return sorted(
            info.path[len(self.base) + 1 :]
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File
        )

    def write_table(self, relative: str, table: pa.Table) -> None:
        if self.is_local:
            Path(self.path(relative)).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, self.path(relative), filesystem=self.filesystem)

    def read_table(self, relative: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.path(relative), columns=columns, filesystem=self.filesystem)

    def read_schema_names(self, relative: str) -> list[str]:
        with self.filesystem.open_input_file(self.path(relative)) as handle:
            return list(pq.read_schema(handle).names)

    def delete(self, relative: str) -> None:
        self.filesystem.delete_file(self.path(relative))

    def read_text(self, relative: str) -> str | None:
        """A small file's content, whole: an object replaced while it was read (S3 reads the size it
        asked for first, so a longer new object would come back cut) is read again."""
        path = self.path(relative)
        for _attempt in range(5):
            if self.filesystem.get_file_info(path).type != pafs.FileType.File:
                return None
            with self.filesystem.open_input_stream(path) as handle:
                content = bytes(handle.read())
            if self.is_local or self.filesystem.get_file_info(path).size == len(content):
                return content.decode("utf-8")
        raise OSError(f"{relative} kept changing while it was read")

    def replace_text(self, relative: str, text: str) -> None:
        """Write a small file so that a reader sees the old content or the new, never a mix."""
        if not self.is_local:
            with self.filesystem.open_output_stream(self.path(relative)) as stream:
                stream.write(text.encode("utf-8"))
            return
        final = Path(self.path(relative))
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(final.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)


def _flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    # Nested objects become dotted columns; arrays stay one column, as JSON text.
    if isinstance(value, dict) and value:
        for name, item in value.items():
            _flatten(item, f"{prefix}.{name}", into)
    elif isinstance(value, list | dict):
        into[prefix] = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        into[prefix] = value


class Archiver:
    """Consumes the analytics topics in batches and writes each batch to Parquet with its checkpoint."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        bootstrap_servers: str,
        topic_prefix: str = "",
        group_id: str = GROUP_ID,
        batch_size: int = 5000,
        poll_timeout_ms: int = 1000,
        client_options: Mapping[str, Any] | None = None,
        s3_endpoint_url: str = "",
    ) -> None:
        self.root = root
        self.store = ArchiveStore(root, s3_endpoint_url=s3_endpoint_url)
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.group_id = topic_prefix + group_id
        self.batch_size = batch_size
        self.poll_timeout_ms = poll_timeout_ms
        self.client_options = kafka_clients.client_options(client_options)  # the environment's if None
        self.topics = [topic_prefix + t.name for t in mai_contracts.analytics_topics()]
        self._consumer: Any = None
        #: Rows written since this archiver was created.
        self.archived = 0

    # -- checkpoint ------------------------------------------------------------------------------

    def read_checkpoint(self) -> tuple[int, dict[str, int]]:
        """The last finished batch number and the next offset of every partition (`topic:partition`)."""
        text = self.store.read_text(CHECKPOINT)
        if text is None:
            return 0, {}
        stored = json.loads(text)
        return int(stored["batch"]), {str(k): int(v) for k, v in stored["offsets"].items()}

    def _write_checkpoint(self, batch: int, offsets: Mapping[str, int]) -> None:
        self.store.replace_text(CHECKPOINT, json.dumps({"batch": batch, "offsets": dict(sorted(offsets.items()))}))

    def _discard_unfinished(self, finished_batch: int) -> None:
        for relative in self.store.files():
            match = _PART.match(relative.rsplit("/", 1)[-1])
            if relative.startswith("type=") and match and int(match.group(1)) > finished_batch:
                logger.warning("removing %s, written by a batch that did not finish", relative)
                self.store.delete(relative)

    # -- one batch -------------------------------------------------------------------------------

    def write_batch(self, batch: int, messages: Sequence[Any]) -> int:
        """Write messages (Kafka records) as Parquet files of batch ``batch``; return the rows written."""
        groups: dict[tuple[str, str, str, int], list[dict[str, Any]]] = defaultdict(list)
        for message in messages:
            try:
                event = decode_event(message.value)
            except EventDecodeError:
                logger.error("skipped undecodable %s[%d]@%d", message.topic, message.partition, message.offset)
                continue
            day = (event.time.date().isoformat()) if event.time else "unknown"
            row: dict[str, Any] = {
                "id": event.id,
                "type": event.type,
                "source": event.source,
                "subject": event.subject,
                "time": event.time,
                "kafka_topic": message.topic,
                "kafka_partition": message.partition,
                "kafka_offset": message.offset,
                "data_json": json.dumps(event.data, ensure_ascii=False, sort_keys=True),
            }
            _flatten(event.data, "data", row)
            topic = message.topic[len(self.topic_prefix) :]
            groups[(event.type, day, topic, message.partition)].append(row)
        written = 0
        # A file is written under its final name: if the batch does not finish, the next start
        # deletes it (its batch number is past the checkpoint's).
        for (event_type, day, topic, partition), rows in groups.items():
            name = f"type={event_type}/day={day}/part-{batch:06d}-{topic}-{partition}.parquet"
            self.store.write_table(name, pa.Table.from_pylist(rows))
            written += len(rows)
        return written

    # -- the Kafka loop --------------------------------------------------------------------------

    def _open(self) -> tuple[Any, int, dict[str, int]]:
        from kafka import TopicPartition

        batch, offsets = self.read_checkpoint()
        self._discard_unfinished(batch)
        consumer = kafka_clients.consumer(
            bootstrap_servers=self.bootstrap_servers,
            security=self.client_options,
            group_id=self.group_id,
            client_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=1000,
            bootstrap_timeout_ms=10000,
        )
        partitions = []
        for topic in self.topics:
            for number in sorted(consumer.partitions_for_topic(topic) or ()):
                partitions.append(TopicPartition(topic, number))
        consumer.assign(partitions)
        for tp in partitions:
            position = offsets.get(f"{tp.topic}:{tp.partition}")
            if position is None:
                consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, position)
        return consumer, batch, offsets

    def run(self, stop: threading.Event, *, max_batches: int | None = None) -> None:
        """Archive until ``stop`` is set (or ``max_batches`` batches were written); counts in ``archived``."""
        from kafka.structs import OffsetAndMetadata

        consumer, batch, offsets = self._open()
        self._consumer = consumer
        batches = 0
        logger.info("archiver %s started at batch %d into %s", self.group_id, batch, self.root)
        try:
            while not stop.is_set() and (max_batches is None or batches < max_batches):
                polled: list[Any] = []
                while len(polled) < self.batch_size and not stop.is_set():
                    records = consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.batch_size)
                    if not records:
                        break
                    for messages in records.values():
                        polled.extend(messages)
                if not polled:
                    continue
                batch += 1
                self.archived += self.write_batch(batch, polled)
                for message in polled:
                    offsets[f"{message.topic}:{message.partition}"] = message.offset + 1
                self._write_checkpoint(batch, offsets)
                batches += 1
                try:
                    consumer.commit(
                        {
                            tp: OffsetAndMetadata(offsets[f"{tp.topic}:{tp.partition}"], "", -1)
                            for tp in consumer.assignment()
                            if f"{tp.topic}:{tp.partition}" in offsets
                        }
                    )
                except Exception:  # monitoring only: the checkpoint is the truth
                    logger.debug("archiver offset commit failed", exc_info=True)
        finally:
            consumer.close(autocommit=False)
            self._consumer = None
