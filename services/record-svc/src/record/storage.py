"""Where signed certificates are kept, by certificate id."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Protocol

from mai_chassis.uploads import write_atomically

__all__ = ["CertificateStore", "FilesystemCertificateStore"]


class CertificateStore(Protocol):
    def put(self, certificate_id: uuid.UUID, pdf: bytes) -> None: ...

    def get(self, certificate_id: uuid.UUID) -> bytes | None: ...

    def discard(self, certificate_id: uuid.UUID) -> None: ...


class FilesystemCertificateStore:
    """Files under ``root/<first two hex digits>/<id>.pdf``, written atomically and synced to disk.

    Several web pods need one shared volume (ReadWriteMany) for this store.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, certificate_id: uuid.UUID) -> Path:
        name = certificate_id.hex
        return self.root / name[:2] / f"{name}.pdf"

    def put(self, certificate_id: uuid.UUID, pdf: bytes) -> None:
        path = self._path(certificate_id)
        path.parent.mkdir(exist_ok=True)
        write_atomically(path, pdf)

    def get(self, certificate_id: uuid.UUID) -> bytes | None:
        try:
            return self._path(certificate_id).read_bytes()
        except FileNotFoundError:
            return None

    def discard(self, certificate_id: uuid.UUID) -> None:
        self._path(certificate_id).unlink(missing_ok=True)
