"""The certificate document: an A4 page in Romanian with English under it, then a PAdES signature.

Text is set in DejaVu Sans (Debian's ``fonts-dejavu-core``; free licence, see the Dockerfile),
which carries the Romanian letters ă, â, î, ș and ț; the fonts are embedded (subset) in the PDF.
"""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol, cast

import zxingcpp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .domain import ROMANIAN_TIME, CivilStatus, Purpose
from .signing import SigningFiles

__all__ = [
    "SIGNATURE_FIELD",
    "CertificateContent",
    "CertificateMaker",
    "CertificateRenderer",
    "MakesCertificates",
    "PadesSigner",
]

SIGNATURE_FIELD = "SemnaturaMAI"
#: Room for the CMS signature: the certificate chain plus the signature, with margin for RSA-4096.
_SIGNATURE_BYTES = 16384
_REGULAR, _BOLD = "DejaVuSans", "DejaVuSans-Bold"
_GREY = Color(0.35, 0.35, 0.35)
_font_lock = threading.Lock()


@dataclass(frozen=True)
class CertificateContent:
    registration_number: str
    holder: CivilStatus
    purpose: Purpose
    purpose_text: str | None
    issued_at: datetime
    valid_until: datetime
    #: The public verification page for this number, printed (no code in it).
    verification_url: str
    #: The verification code as printed, in groups (``7K2Q-MXPA-9D4T``).
    verification_code: str
    #: What the QR code carries: the page with the code in its fragment.
    qr_url: str


def _ro_date(moment: datetime | date) -> str:
    day = moment.astimezone(ROMANIAN_TIME).date() if isinstance(moment, datetime) else moment
    return day.strftime("%d.%m.%Y")


def _register_fonts(regular: str, bold: str) -> None:
    with _font_lock:
        registered = set(pdfmetrics.getRegisteredFontNames())
        if _REGULAR not in registered:
            pdfmetrics.registerFont(TTFont(_REGULAR, regular))
        if _BOLD not in registered:
            pdfmetrics.registerFont(TTFont(_BOLD, bold))


class CertificateRenderer:
    """Draws the certificate page with reportlab."""

    def __init__(self, font_file: str | Path, bold_font_file: str | Path) -> None:
        for path in (font_file, bold_font_file):
            if not Path(path).is_file():
                raise FileNotFoundError(f"certificate font not found: {path} (install fonts-dejavu-core)")
        _register_fonts(str(font_file), str(bold_font_file))
        # reportlab keeps per-font subsetting state; one page at a time per process is the safe way.
        self._lock = threading.Lock()

    def render(self, content: CertificateContent) -> bytes:
        with self._lock:
            return self._render(content)

    def _render(self, c: CertificateContent) -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
        canvas.setTitle(f"Certificat de cazier judiciar {c.registration_number}")
        canvas.setAuthor("Ministerul Afacerilor Interne")
        canvas.setSubject("Certificat de cazier judiciar / Criminal record certificate")
        canvas.setCreator("MAI e-services record-svc")
        width, height = A4
        left, right = 22 * mm, width - 22 * mm
        y = height - 25 * mm

        def line(
            text: str,
            *,
            size: float = 10,
            bold: bool = False,
            centred: bool = False,
            grey: bool = False,
            gap: float = 1.5,
        ) -> None:
            nonlocal y
            canvas.setFont(_BOLD if bold else _REGULAR, size)
            canvas.setFillColor(_GREY if grey else black)
            if centred:
                canvas.drawCentredString(width / 2, y, text)
            else:
                canvas.drawString(left, y, text)
            y -= size + gap

        line("ROMÂNIA", size=11, bold=True, centred=True)
        line("MINISTERUL AFACERILOR INTERNE", size=11, bold=True, centred=True)
        line("Inspectoratul General al Poliției Române — Cazier judiciar", size=9.5, centred=True)
        line(
            "Romania — Ministry of Internal Affairs — General Inspectorate of Romanian Police",
            size=8,
            centred=True,
            grey=True,
            gap=14,
        )
        line("CERTIFICAT DE CAZIER JUDICIAR", size=17, bold=True, centred=True, gap=3)
        line("CRIMINAL RECORD CERTIFICATE", size=11, centred=True, grey=True, gap=8)
        issued = _ro_date(c.issued_at)
        line(f"Nr. {c.registration_number} din {issued}", size=11, bold=True, centred=True, gap=2)
        line(f"No. {c.registration_number} of {issued}", size=8.5, centred=True, grey=True, gap=16)

        # Only what identity verification established: names, CNP, and the birth date it contains.
        holder = c.holder
        rows = [
            ("Nume", "Surname", holder.last_name.upper()),
            ("Prenume", "Given name(s)", holder.first_name),
            ("CNP", "Personal numeric code", holder.cnp),
            ("Data nașterii", "Date of birth", _ro_date(holder.birth_date)),
        ]
        value_x = left + 52 * mm
        for label_ro, label_en, value in rows:
            canvas.setFillColor(black)
            canvas.setFont(_BOLD, 9.5)
            canvas.drawString(left, y, label_ro)
            canvas.setFont(_REGULAR, 10)
            value_lines = simpleSplit(value, _REGULAR, 10, right - value_x) or [""]
            canvas.drawString(value_x, y, value_lines[0])
            canvas.setFont(_REGULAR, 7.5)
            canvas.setFillColor(_GREY)
            canvas.drawString(left, y - 9, label_en)
            canvas.setFillColor(black)
            canvas.setFont(_REGULAR, 10)
            for extra in value_lines[1:]:
                y -= 11.5
                canvas.drawString(value_x, y, extra)
            y -= 22
        y -= 6

        line("NU ESTE ÎNSCRIS(Ă) ÎN CAZIERUL JUDICIAR.", size=13, bold=True, centred=True, gap=3)
        line("HAS NO ENTRY IN THE CRIMINAL RECORD.", size=9.5, centred=True, grey=True, gap=16)

        for text in simpleSplit(f"Se eliberează pentru: {c.purpose.label_ro}", _REGULAR, 10.5, right - left):
            line(text, size=10.5)
        for text in simpleSplit(f"Issued for: {c.purpose.label_en}", _REGULAR, 8.5, right - left):
            line(text, size=8.5, grey=True)
        if c.purpose_text:
            # The applicant's own words: quoted and marked as such, never read as the ministry's.
            declared_ro = f"Declarat de solicitant, neverificat: „{c.purpose_text}”"
            for text in simpleSplit(declared_ro, _REGULAR, 9, right - left):
                line(text, size=9)
            line("Declared by the applicant, not verified (quoted above).", size=8, grey=True)
        y -= 8
        until = _ro_date(c.valid_until)
        line(f"Data eliberării: {issued}.   Valabil până la: {until} (6 luni de la eliberare).", size=10.5)
        line(f"Date of issue: {issued}.   Valid until: {until} (six months from issue).", size=8.5, grey=True)

        qr_size = 34 * mm
        qr_y = 30 * mm
        _draw_qr(canvas, c.qr_url, x=left - 3 * mm, y=qr_y, size=qr_size)
        text_x = left + qr_size + 2 * mm
        canvas.setFillColor(black)
        notes = [
            (
                _REGULAR,
                8.5,
                black,
                "Verificați autenticitatea (scanați codul QR sau deschideți adresa) cu numărul de înregistrare și "
                "codul de verificare de mai jos, sau cu numărul și CNP-ul titularului:",
            ),
            (
                _REGULAR,
                7.5,
                _GREY,
                "Check authenticity (scan the QR code or open the address) with the registration number and the "
                "verification code below, or with the number and the holder's CNP:",
            ),
            (_BOLD, 8.5, black, c.verification_url),
            (_BOLD, 9.5, black, f"Cod de verificare / Verification code: {c.verification_code}"),
            (_REGULAR, 8.5, black, "Document semnat electronic (PAdES); nu necesită semnătură olografă și ștampilă."),
            (_REGULAR, 7.5, _GREY, "Electronically signed document (PAdES); no handwritten signature or stamp needed."),
        ]
        note_y = qr_y + qr_size - 3 * mm
        for font, size, colour, text in notes:
            canvas.setFont(font, size)
            canvas.setFillColor(colour)
            for part in simpleSplit(text, font, size, right - text_x):
                canvas.drawString(text_x, note_y, part)
                note_y -= size + 3
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()


def _draw_qr(canvas: Canvas, value: str, *, x: float, y: float, size: float, border: int = 4) -> None:
    """The QR code (error correction level M) as one filled path of its dark runs.

    zxing-cpp encodes it, choosing the mask by the standard's penalty rules in C++: 0.2 ms, where
    segno's pure-Python mask evaluation took 3.7 ms (a fifth of a certificate's rendering and
    signing) and reportlab's own encoder more. Its widget would also draw every module separately.
    """
    symbol = zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = memoryview(symbol.to_image(size_hint=0, with_quiet_zones=False))  # one byte per module, 0 = dark
    shape = image.shape or ()
    count = shape[0] if shape else 0
    if image.ndim != 2 or shape[1] != count or count < 21 or (count - 17) % 4:
        raise ValueError(f"unexpected QR symbol shape {shape}")
    modules = image.tobytes()
    box = size / (count + 2 * border)
    path = canvas.beginPath()
    for row_index in range(count):
        row = modules[row_index * count : (row_index + 1) * count]
        column = 0
        for dark, run in itertools.groupby(cell == 0 for cell in row):
            length = sum(1 for _ in run)
            if dark:
                path.rect(x + (column + border) * box, y + size - (row_index + border + 1) * box, length * box, box)
            column += length
    canvas.setFillColor(black)
    canvas.drawPath(path, stroke=0, fill=1)


class PadesSigner:
    """Signs a PDF with an invisible PAdES baseline (B-B) signature covering the whole document."""

    def __init__(self, files: SigningFiles) -> None:
        # pyHanko leaves load() unannotated; it answers a signer, or None when the files cannot be read.
        load = cast(Callable[..., signers.SimpleSigner | None], signers.SimpleSigner.load)
        signer = load(
            str(files.key_file),
            str(files.cert_file),
            ca_chain_files=(str(files.chain_file),) if files.chain_file else None,
            key_passphrase=files.key_password,
        )
        if signer is None:
            raise ValueError("the signing key or certificate could not be read")
        self._signer: signers.SimpleSigner = signer

    def sign(self, pdf: bytes, *, reason: str) -> bytes:
        metadata = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location="România",
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        # A fixed reservation spares pyHanko a trial signature to estimate the size.
        output = signers.sign_pdf(writer, metadata, signer=self._signer, bytes_reserved=_SIGNATURE_BYTES)
        return output.getvalue()  # type: ignore[no-any-return]


class MakesCertificates(Protocol):
    def make(self, content: CertificateContent) -> bytes:
        """The certificate's bytes as stored and downloaded: rendered and signed."""
        ...


class CertificateMaker:
    """Renders and signs a certificate: the bytes that are stored and downloaded."""

    def __init__(self, renderer: CertificateRenderer, signer: PadesSigner) -> None:
        self.renderer = renderer
        self.signer = signer

    def make(self, content: CertificateContent) -> bytes:
        page = self.renderer.render(content)
        return self.signer.sign(page, reason=f"Certificat de cazier judiciar nr. {content.registration_number}")
