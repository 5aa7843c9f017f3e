"""the conversation: Jira comment versions seen, Slack messages sent to Jira, timeline notes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from bot.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jira_comment_version",
        sa.Column("comment_id", sa.String(), nullable=False),
        sa.Column("updated", sa.String(), nullable=False),
        sa.Column("issue_key", sa.String(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("comment_id", "updated"),
    )
    op.create_index("ix_jira_comment_version_incident_id", "jira_comment_version", ["incident_id"])
    op.create_table(
        "sent_to_jira",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("message_ts", sa.String(), nullable=False),
        sa.Column("author_id", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("jira_comment_id", sa.String(), nullable=True),
        sa.Column("jira_comment_url", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "message_ts", name="uq_sent_to_jira_message"),
    )
    op.create_index("ix_sent_to_jira_incident_id", "sent_to_jira", ["incident_id"])
    op.create_table(
        "timeline_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("message_ts", sa.String(), nullable=False),
        sa.Column("thread_ts", sa.String(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("author_id", sa.String(), nullable=False),
        sa.Column("author_name", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("permalink", sa.String(), nullable=True),
        sa.Column("added_by", sa.String(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "message_ts", name="uq_timeline_note_message"),
    )
    op.create_index("ix_timeline_note_incident_id", "timeline_note", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_timeline_note_incident_id", table_name="timeline_note")
    op.drop_table("timeline_note")
    op.drop_index("ix_sent_to_jira_incident_id", table_name="sent_to_jira")
    op.drop_table("sent_to_jira")
    op.drop_index("ix_jira_comment_version_incident_id", table_name="jira_comment_version")
    op.drop_table("jira_comment_version")
