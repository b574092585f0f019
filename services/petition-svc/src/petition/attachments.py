"""Attachment store: files kept on the filesystem under their SHA-256, never under the uploaded name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mai_chassis.uploads import FilesystemContentStore, content_digest

__all__ = ["AttachmentStore", "StoredFile"]


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int


class AttachmentStore:
    """Content-addressed (the chassis' store): the same file sent twice is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files = FilesystemContentStore(root)

    def path_for(self, sha256: str) -> Path:
        return self._files.path_of(sha256)

    def put(self, content: bytes) -> StoredFile:
        digest = content_digest(content)
        self._files.put(digest, content)
        return StoredFile(sha256=digest, size=len(content))

    def read(self, sha256: str) -> bytes:
        return self._files.get(sha256)
