"""The registered petition handed back to the callers is read like any Petition, whatever ran before."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_fresh_process_reads_every_value_of_the_unsaved_petition_and_tracks_nothing() -> None:
    # A new interpreter: no mapper has been configured by an earlier query or test.
    script = textwrap.dedent(
        """
        from datetime import UTC, date, datetime
        from sqlalchemy import inspect
        from petition.handlers.submission import _unsaved_petition

        values = {"id": "p-1", "kind": "petition", "institution": "IGPR", "status": "registered",
                  "registered_at": datetime(2026, 12, 7, tzinfo=UTC), "answer_due_on": date(2027, 1, 6)}
        petition = _unsaved_petition(values, [], None)
        assert (petition.id, petition.kind, petition.institution) == ("p-1", "petition", "IGPR")
        assert petition.answer_due_on == date(2027, 1, 6) and petition.attachments == [] and petition.repeat_of is None
        petition.registration_number = "IGPR-2026-000001"
        assert petition.registration_number == "IGPR-2026-000001"
        state = inspect(petition)
        assert state.transient and state.session is None
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
