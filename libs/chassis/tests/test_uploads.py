"""What an upload really is: plain PDF, JPEG or PNG scans pass; active content and polyglots do not."""

from __future__ import annotations

import io
from collections.abc import Callable

import pikepdf
import pytest
from mai_chassis.testing.hostile_files import (
    HOSTILE_UPLOADS,
    incremental_update_adding_an_action,
    pdf_with_javascript_open_action_in_an_object_stream,
)
from mai_chassis.testing.samples import sample_jpeg, sample_pdf, sample_png
from mai_chassis.uploads import UploadRefused, check_upload, detect_media_type, pdf_has_active_content


def test_plain_scans_are_accepted_as_what_they_are() -> None:
    assert check_upload(sample_pdf()) == "application/pdf"
    assert check_upload(sample_jpeg()) == "image/jpeg"
    assert check_upload(sample_png()) == "image/png"


def test_a_scan_with_links_to_its_own_pages_and_an_opening_view_is_accepted() -> None:
    pdf = pikepdf.open(io.BytesIO(sample_pdf()))
    first = pdf.pages[0].obj
    pdf.Root.OpenAction = pikepdf.Array([first, pikepdf.Name.Fit])  # a destination, not an action
    link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[0, 0, 10, 10],
        A=pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=pikepdf.Array([first, pikepdf.Name.Fit])),
    )
    pdf.pages[0].Annots = pikepdf.Array([pdf.make_indirect(link)])
    buffer = io.BytesIO()
    pdf.save(buffer, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert check_upload(buffer.getvalue()) == "application/pdf"


@pytest.mark.parametrize("build", HOSTILE_UPLOADS.values(), ids=HOSTILE_UPLOADS.keys())
def test_crafted_files_are_refused(build: Callable[[], bytes]) -> None:
    content = build()
    with pytest.raises(UploadRefused):
        check_upload(content)
    # The two older questions agree: not a clean scan, whichever way it is asked.
    assert detect_media_type(content) is None or pdf_has_active_content(content)


def test_javascript_hidden_in_a_compressed_object_stream_is_found() -> None:
    content = pdf_with_javascript_open_action_in_an_object_stream()
    assert b"/JavaScript" not in content and b"/OpenAction" not in content  # invisible to a byte search
    with pytest.raises(UploadRefused, match=r"JavaScript action") as refused:
        check_upload(content)
    assert refused.value.active


def test_an_action_added_by_an_incremental_update_is_found() -> None:
    content = incremental_update_adding_an_action()
    assert pikepdf.open(io.BytesIO(content), attempt_recovery=False).Root.OpenAction.S == pikepdf.Name.URI
    with pytest.raises(UploadRefused, match="URI action") as refused:
        check_upload(content)
    assert refused.value.active


@pytest.mark.parametrize(
    "content",
    [
        sample_pdf()[: len(sample_pdf()) // 2] + b"\n%%EOF\n",  # cut in half
        b"%PDF-1.7\n<script>not really a pdf</script>\n%%EOF",
        sample_jpeg()[:-40] + b"\xff\xd9",  # scan data cut short
        sample_pdf() + b"MZ\x90\x00 a program after the end",
    ],
    ids=["truncated-pdf", "fake-pdf", "truncated-jpeg", "data-after-eof"],
)
def test_damaged_files_and_data_after_the_end_are_refused(content: bytes) -> None:
    with pytest.raises(UploadRefused):
        check_upload(content)


def test_a_pdf_with_a_password_to_open_it_is_refused() -> None:
    pdf = pikepdf.open(io.BytesIO(sample_pdf()))
    buffer = io.BytesIO()
    pdf.save(buffer, encryption=pikepdf.Encryption(owner="o", user="u", R=6))
    with pytest.raises(UploadRefused, match="encrypted"):
        check_upload(buffer.getvalue())


def test_bytes_that_only_look_like_a_zip_record_do_not_make_a_polyglot() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    comment = b"PK\x05\x06" + b"\x00" * 18  # an end-of-archive record shape, pointing at no archive
    Image.new("RGB", (16, 16), (10, 20, 30)).save(buffer, "JPEG", comment=comment)
    assert check_upload(buffer.getvalue()) == "image/jpeg"
