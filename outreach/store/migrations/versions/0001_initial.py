"""Cases, their timeline, the chat outbox and the family directory.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("incident_id", sa.String(128), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(128)),
        sa.Column("student_id", sa.String(128)),
        sa.Column("classroom_id", sa.String(128)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128)),
        sa.Column("outcome", sa.String(32)),
        sa.Column("lesson_minutes_lost", sa.Float()),
        sa.Column("policy", JSONType, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("incident_started_at", sa.BigInteger(), nullable=False),
        sa.Column("incident_ended_at", sa.BigInteger()),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.BigInteger()),
    )
    op.create_index("ix_cases_student_id", "cases", ["student_id"])
    op.create_table(
        "case_events",
        sa.Column("event_id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "case_id",
            sa.String(64),
            sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("data", JSONType, nullable=False),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "chat_outbox",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(64), nullable=False, unique=True),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("case_id", sa.String(64)),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("acked_at", sa.BigInteger()),
        sa.Column("deliveries", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_chat_outbox_pending", "chat_outbox", ["student_id", "acked_at"])
    op.create_table(
        "students",
        sa.Column("student_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "guardians",
        sa.Column("guardian_id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "student_id",
            sa.String(128),
            sa.ForeignKey("students.student_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(16)),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("preferred_channel", sa.String(8), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("quiet_start", sa.String(5)),
        sa.Column("quiet_end", sa.String(5)),
        sa.Column("do_not_call", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_guardians_student_id", "guardians", ["student_id"])


def downgrade() -> None:
    """Drop the tables."""
    for table in ("guardians", "students", "chat_outbox", "case_events", "cases"):
        op.drop_table(table)
