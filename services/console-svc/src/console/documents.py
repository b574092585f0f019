"""Scanned documents turned into plain images before an officer sees them.

An uploaded PDF is never sent to the officer's browser: its pages are rasterised here with
poppler's ``pdftoppm`` (a separate process with a time limit, reading a private temporary file),
so no script, form, link or embedded file of the original can reach the browser. A JPEG or PNG
scan is decoded and written again as a plain PNG (Pillow), which drops everything but the pixels.
The page then shows the images inline as ``data:`` URIs; nothing of the original is served.
"""

from __future__ import annotations

import base64
import io
import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

__all__ = ["PageRenderer", "RenderFailed", "RenderedPage"]

logger = logging.getLogger(__name__)

#: The longest side of a rendered page, in pixels (keeps a page readable and the HTML small).
MAX_SIDE_PIXELS = 1400
#: Pillow refuses images larger than this (decompression bombs).
MAX_IMAGE_PIXELS = 40_000_000


class RenderFailed(Exception):
    """The document could not be turned into images (damaged, too slow, not a document)."""


@dataclass(frozen=True)
class RenderedPage:
    number: int
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class PageRenderer:
    pdftoppm: str = "pdftoppm"
    dpi: int = 110
    max_pages: int = 10
    timeout: float = 20.0

    def render(self, content: bytes, media_type: str) -> list[RenderedPage]:
        """The document's pages as PNG images; :class:`RenderFailed` when that is not possible."""
        if media_type == "application/pdf":
            return self._render_pdf(content)
        if media_type in ("image/jpeg", "image/png"):
            return [RenderedPage(1, _reencoded(content))]
        raise RenderFailed(f"no renderer for {media_type}")

    def _render_pdf(self, content: bytes) -> list[RenderedPage]:
        with tempfile.TemporaryDirectory(prefix="console-render-") as work:
            source = Path(work) / "document.pdf"
            source.write_bytes(content)
            command = [
                self.pdftoppm,
                "-png",
                "-r",
                str(self.dpi),
                "-scale-to",
                str(MAX_SIDE_PIXELS),
                "-f",
                "1",
                "-l",
                str(self.max_pages),
                str(source),
                str(Path(work) / "page"),
            ]
            try:
                finished = subprocess.run(  # noqa: S603 (a fixed program, our own arguments)
                    command, capture_output=True, timeout=self.timeout, check=False, stdin=subprocess.DEVNULL
                )
            except subprocess.TimeoutExpired:
                raise RenderFailed("rendering took too long") from None
            except OSError as exc:
                logger.error("pdftoppm cannot run: %s", exc.__class__.__name__)
                raise RenderFailed("the renderer is missing") from None
            pages = sorted(Path(work).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
            if finished.returncode != 0 or not pages:
                raise RenderFailed(f"pdftoppm exited with {finished.returncode}")
            return [RenderedPage(index, path.read_bytes()) for index, path in enumerate(pages, start=1)]


def _reencoded(content: bytes) -> bytes:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            pixels = image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise RenderFailed("not a readable image") from None
    pixels.thumbnail((MAX_SIDE_PIXELS, MAX_SIDE_PIXELS))
    out = io.BytesIO()
    pixels.save(out, format="PNG")
    return out.getvalue()
