"""Attachment store: files kept on the filesystem under their SHA-256, never under the uploaded name."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AttachmentStore", "StoredFile"]


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int


class AttachmentStore:
    """Content-addressed: ``<root>/ab/cd/abcd…`` — the same file sent twice is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: bytes) -> StoredFile:
        digest = hashlib.sha256(content).hexdigest()
        target = self.path_for(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write aside and rename: a reader never sees half a file, a crash leaves no torn one.
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        return StoredFile(sha256=digest, size=len(content))

    def read(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()
