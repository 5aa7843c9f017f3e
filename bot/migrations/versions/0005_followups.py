"""follow-ups: an incident's action items as Jira issues

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from bot.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("assignee_id", sa.String(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("key", sa.String(), nullable=True),
        sa.Column("jira_id", sa.String(), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_told", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_followup_incident_id", "followup", ["incident_id"])
    op.create_index("ix_followup_assignee_id", "followup", ["assignee_id"])


def downgrade() -> None:
    op.drop_index("ix_followup_assignee_id", table_name="followup")
    op.drop_index("ix_followup_incident_id", table_name="followup")
    op.drop_table("followup")
