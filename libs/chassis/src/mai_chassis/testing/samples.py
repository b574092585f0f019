"""Small, structurally valid sample files (and a disguised program) for upload tests."""

from __future__ import annotations

import io
import struct
import zlib

__all__ = ["renamed_executable", "sample_jpeg", "sample_pdf", "sample_png"]


def sample_pdf(padding: int = 0) -> bytes:
    """A one-page PDF as a scanner writes it (an image on an A4 page); ``padding`` adds bytes inside it."""
    import pikepdf

    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    image = pikepdf.Stream(pdf, b"\x80")
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = 1, 1, 8
    image.ColorSpace = pikepdf.Name.DeviceGray
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    drawing = b"q 595 0 0 842 0 0 cm /Im0 Do Q\n"
    if padding:
        drawing += b"%" + b"0" * padding + b"\n"  # a comment in the content stream
    page.Contents = pikepdf.Stream(pdf, drawing)
    buffer = io.BytesIO()
    pdf.save(buffer, compress_streams=False, deterministic_id=True)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def sample_png() -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def sample_jpeg() -> bytes:
    """A small photograph-like JPEG, encoded by Pillow (decodable in full)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 180, 160)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def renamed_executable() -> bytes:
    """A Windows program's first bytes (MZ header), as if renamed to passport.pdf."""
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 48
        + b"This program cannot be run in DOS mode."
    )
