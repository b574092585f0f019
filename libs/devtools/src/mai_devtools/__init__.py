"""Development and test tools of the MAI e-services platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mai_devtools.smtp_sink import SmtpSink

__all__ = ["SmtpSink"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `python -m mai_devtools.smtp_sink` runs the module only once.
    if name == "SmtpSink":
        from mai_devtools.smtp_sink import SmtpSink

        return SmtpSink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
