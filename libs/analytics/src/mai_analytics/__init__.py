"""The analysts' data path of the MAI e-services platform.

RedactionStream   copies every declared topic to `analytics.<topic>`: x-pii values become keyed
                  pseudonyms (stable, so distinct citizens can be counted), x-sealed fields go
Archiver          writes the analytics topics to Parquet, partitioned by event type and day,
                  with the Kafka offsets checkpointed beside the files (resumes, writes once)
mai-analytics redact | archive    the two worker commands
"""

from .archive import Archiver
from .redaction import RedactionStream

__all__ = ["Archiver", "RedactionStream"]
