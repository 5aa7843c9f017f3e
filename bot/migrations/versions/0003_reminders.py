"""reminders, and the time each incident was mitigated

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

`reminder` holds one row per reminder decided (unique per incident, kind and quiet period, so that
replicas deciding at once send it once). `incident.mitigated_at` is filled from the status history
already recorded: the time of the last change that took the status from below Mitigated to Mitigated or
beyond, for incidents that are there now. Two indexes that hold what the Home tab's 30-day figures
read (priority, declared_at, mitigated_at), led by declared_at and by priority.
"""

import sqlalchemy as sa
from alembic import op

import bot.enums
import bot.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MITIGATED_OR_BEYOND = ("MITIGATED", "POST_MORTEM", "CLOSED")


def upgrade() -> None:
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", bot.models.EnumText(bot.enums.ReminderKind), nullable=False),
        sa.Column("period_start", bot.models.UTCDateTime(), nullable=False),
        sa.Column("decided_at", bot.models.UTCDateTime(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=True),
        sa.Column("message_ts", sa.String(), nullable=True),
        sa.Column("sent_at", bot.models.UTCDateTime(), nullable=True),
        sa.Column("snoozed_until", bot.models.UTCDateTime(), nullable=True),
        sa.Column("snoozed_by", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "kind", "period_start", name="uq_reminder_incident_kind_period"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mitigated_at", bot.models.UTCDateTime(), nullable=True))
        batch_op.create_index(
            "ix_incident_declared_at", ["declared_at", "priority", "mitigated_at"], unique=False
        )
        batch_op.create_index(
            "ix_incident_priority_declared_at", ["priority", "declared_at", "mitigated_at"], unique=False
        )
    _backfill_mitigated_at()


def _backfill_mitigated_at() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        old, new = "u.changes -> 'status' ->> 0", "u.changes -> 'status' ->> 1"
    else:
        old, new = "json_extract(u.changes, '$.status[0]')", "json_extract(u.changes, '$.status[1]')"
    beyond = ", ".join(f"'{status}'" for status in MITIGATED_OR_BEYOND)
    op.execute(
        f"""
        UPDATE incident SET mitigated_at = (
            SELECT max(u.created_at) FROM incident_update u
            WHERE u.incident_id = incident.id
              AND {new} IN ({beyond})
              AND ({old} IS NULL OR {old} NOT IN ({beyond}))
        )
        WHERE status IN ({beyond})
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_priority_declared_at")
        batch_op.drop_index("ix_incident_declared_at")
        batch_op.drop_column("mitigated_at")
    op.drop_table("reminder")
