"""The printed receipt of a registration: one A4 page, Romanian with English under each label.

Text is set in DejaVu Sans (Debian's ``fonts-dejavu-core``), which carries ă, â, î, ș and ț; the
font is embedded (subset) in the PDF. A petitioner who gave no e-mail address takes this page
home (or is sent it by post): it is their proof of the number, the date and the answer deadline.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from .domain import ANSWER_DAYS, ROMANIA

__all__ = ["Receipt", "ReceiptPrinter"]

_REGULAR, _BOLD = "PetitionReceiptSans", "PetitionReceiptSans-Bold"
_CHANNELS = {
    "post": ("prin poștă", "by post"),
    "email": ("prin e-mail", "by e-mail"),
    "counter": ("la ghișeu", "at a counter"),
    "web": ("prin formularul online", "through the online form"),
}
_KINDS = {"petition": ("Petiție", "Petition"), "opinion": ("Opinie / sugestie", "Opinion / suggestion")}
_font_lock = threading.Lock()


@dataclass(frozen=True)
class Receipt:
    registration_number: str
    institution_name: dict[str, str]
    kind: str
    channel: str
    registered_at: datetime
    received_on: date
    answer_due_on: date
    petitioner_name: str
    subject: str
    #: Whether the number was also e-mailed to the petitioner.
    mailed_to_petitioner: bool


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


class ReceiptPrinter:
    """Draws receipts with reportlab, in the fonts named (registered once per process)."""

    def __init__(self, font_file: str, bold_font_file: str) -> None:
        self._font_file, self._bold_font_file = font_file, bold_font_file

    def _fonts(self) -> None:
        with _font_lock:
            registered = set(pdfmetrics.getRegisteredFontNames())
            if _REGULAR not in registered:
                pdfmetrics.registerFont(TTFont(_REGULAR, self._font_file))
            if _BOLD not in registered:
                pdfmetrics.registerFont(TTFont(_BOLD, self._bold_font_file))

    def render(self, receipt: Receipt) -> bytes:
        self._fonts()
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
        canvas.setTitle(f"Confirmare de înregistrare {receipt.registration_number}")
        canvas.setAuthor("Ministerul Afacerilor Interne")
        width, height = A4
        left, y = 20 * mm, height - 25 * mm

        def line(text: str, *, size: float = 10.5, bold: bool = False, gap: float = 5.5) -> None:
            nonlocal y
            font = _BOLD if bold else _REGULAR
            for part in simpleSplit(text, font, size, width - 2 * left):
                canvas.setFont(font, size)
                canvas.drawString(left, y, part)
                y -= gap * mm

        institution = receipt.institution_name
        line(institution.get("ro") or next(iter(institution.values())), size=12, bold=True, gap=6)
        if institution.get("en"):
            line(institution["en"], size=10, gap=10)
        line("CONFIRMARE DE ÎNREGISTRARE", size=15, bold=True, gap=6.5)
        line("Registration receipt", size=11, gap=10)

        kind_ro, kind_en = _KINDS.get(receipt.kind, (receipt.kind, receipt.kind))
        channel_ro, channel_en = _CHANNELS.get(receipt.channel, (receipt.channel, receipt.channel))
        registered = receipt.registered_at.astimezone(ROMANIA)
        rows = [
            ("Număr de înregistrare / Registration number", receipt.registration_number),
            ("Tip / Kind", f"{kind_ro} / {kind_en}"),
            ("Primită / Received", f"{_day(receipt.received_on)}, {channel_ro} / {channel_en}"),
            ("Înregistrată / Registered", f"{_day(registered.date())} {registered.strftime('%H:%M')}"),
            ("Petent / Petitioner", receipt.petitioner_name),
            ("Obiect / Subject", receipt.subject),
            ("Termen de răspuns / Answer due by", _day(receipt.answer_due_on)),
        ]
        for label, value in rows:
            line(label, size=9, gap=4.5)
            line(value, size=12, bold=True, gap=8)

        y -= 2 * mm
        line(
            f"Răspunsul se comunică în cel mult {ANSWER_DAYS} de zile de la data înregistrării (OG 27/2002, art. 8); "
            "termenul poate fi prelungit o singură dată, cu cel mult 15 zile, iar petentul este anunțat.",
            size=9.5,
            gap=4.8,
        )
        line(
            f"The answer is due within {ANSWER_DAYS} days of registration (OG 27/2002, art. 8); the term can be "
            "extended once, by at most 15 days, and the petitioner is told.",
            size=9,
            gap=7,
        )
        if receipt.mailed_to_petitioner:
            line("Numărul a fost trimis și prin e-mail. / The number was also sent by e-mail.", size=9.5, gap=7)
        else:
            line(
                "Răspunsul va fi trimis prin poștă. Stadiul petiției se poate afla la linia TELVERDE, pe baza "
                "numărului de înregistrare. / The answer will be sent by post. Its status can be asked on the "
                "TELVERDE line with the registration number.",
                size=9.5,
                gap=4.8,
            )
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()
