"""Office schedules edited by office managers: opening hours, counters per slot type, closures.

Seeded from ``offices.yaml`` (its opening hours, slot length and closed days; every counter of an
office serves the ``visit`` slot type). Slots get a type; an appointment keeps its times when the
slot of a closed day is deleted (``slot_id`` set to NULL).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from importlib import resources
from typing import Any

import sqlalchemy as sa
import yaml
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_moment = sa.DateTime(timezone=True)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SEED_REASON = "Closed day listed in the office's reference data"


def _office_fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(
        "office_schedules.office", ondelete="CASCADE", name=f"fk_{table}_office_office_schedules"
    )


def upgrade() -> None:
    schedules = op.create_table(
        "office_schedules",
        sa.Column("office", sa.String(16), primary_key=True),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", _moment, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )
    hours = op.create_table(
        "office_opening_hours",
        sa.Column("office", sa.String(16), _office_fk("office_opening_hours"), primary_key=True),
        sa.Column("weekday", sa.SmallInteger(), primary_key=True),
        sa.Column("opens", sa.Time(), primary_key=True),
        sa.Column("closes", sa.Time(), nullable=False),
    )
    capacities = op.create_table(
        "office_slot_capacities",
        sa.Column("office", sa.String(16), _office_fk("office_slot_capacities"), primary_key=True),
        sa.Column("slot_type", sa.String(16), primary_key=True),
        sa.Column("counters", sa.Integer(), nullable=False),
    )
    closures = op.create_table(
        "office_closures",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("office", sa.String(16), _office_fk("office_closures"), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", _moment, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
    )
    op.create_index("ix_office_closures_office_last_day", "office_closures", ["office", "last_day"])
    with op.batch_alter_table("slots") as slots:
        slots.add_column(sa.Column("slot_type", sa.String(16), nullable=False, server_default=sa.text("'visit'")))
    with op.batch_alter_table("appointments") as appointments:
        appointments.drop_constraint("fk_appointments_slot_id_slots", type_="foreignkey")
        appointments.alter_column("slot_id", existing_type=sa.BigInteger(), nullable=True)
        appointments.create_foreign_key(
            "fk_appointments_slot_id_slots", "slots", ["slot_id"], ["id"], ondelete="SET NULL"
        )
    if op.get_bind().dialect.name == "sqlite":
        _restore_partial_indexes()  # SQLite rebuilt the table: make sure the indexes keep their WHERE
    _seed(schedules, hours, capacities, closures)


def _restore_partial_indexes() -> None:
    for name, column in (("uq_appointments_active_slot", "slot_id"), ("uq_appointments_active_application", "application_id")):
        op.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
        op.create_index(name, "appointments", [column], unique=True, sqlite_where=sa.text("status = 'booked'"))


def _seed(schedules: sa.Table, hours: sa.Table, capacities: sa.Table, closures: sa.Table) -> None:
    """The schedules as offices.yaml described them when this revision was written."""
    data: Any = yaml.safe_load(resources.files("booking.data").joinpath("offices.yaml").read_text(encoding="utf-8"))
    now = datetime.now(UTC)
    schedule_rows, hour_rows, capacity_rows, closure_rows = [], [], [], []
    for office in data["offices"]:
        code = office["code"]
        schedule_rows.append({"office": code, "slot_minutes": int(data["slot_minutes"]), "updated_at": now})
        for weekday, intervals in office.get("opening_hours", data["default_opening_hours"]).items():
            for interval in intervals:
                opens, closes = (time.fromisoformat(part) for part in interval.split("-"))
                hour_rows.append({"office": code, "weekday": _WEEKDAYS.index(weekday), "opens": opens, "closes": closes})
        capacity_rows.append({"office": code, "slot_type": "visit", "counters": len(office["counters"])})
        for day in office.get("closed_days") or []:
            closed = date.fromisoformat(str(day))
            closure_rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "office": code,
                    "first_day": closed,
                    "last_day": closed,
                    "reason": _SEED_REASON,
                    "created_at": now,
                    "created_by": "offices.yaml",
                    "moved": 0,
                    "cancelled": 0,
                }
            )
    op.bulk_insert(schedules, schedule_rows)
    op.bulk_insert(hours, hour_rows)
    op.bulk_insert(capacities, capacity_rows)
    if closure_rows:
        op.bulk_insert(closures, closure_rows)


def downgrade() -> None:
    with op.batch_alter_table("appointments") as appointments:
        appointments.drop_constraint("fk_appointments_slot_id_slots", type_="foreignkey")
        appointments.create_foreign_key("fk_appointments_slot_id_slots", "slots", ["slot_id"], ["id"])
    if op.get_bind().dialect.name == "sqlite":
        _restore_partial_indexes()
    with op.batch_alter_table("slots") as slots:
        slots.drop_column("slot_type")
    for table in ("office_closures", "office_slot_capacities", "office_opening_hours", "office_schedules"):
        op.drop_table(table)
