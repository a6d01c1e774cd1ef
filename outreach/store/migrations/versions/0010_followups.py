"""The satisfaction follow-up: one per case that reached the family, its score and comment.

Revision ID: 0010_followups
Revises: 0009_line_records
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_followups"
down_revision = "0009_line_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `followups` (one per case; one sent per family and local day)."""
    op.create_table(
        "followups",
        sa.Column(
            "case_id",
            sa.String(64),
            sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("agent", sa.String(128)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(8)),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("sent_at", sa.BigInteger()),
        sa.Column("sent_day", sa.String(10)),
        sa.Column("score", sa.Integer()),
        sa.Column("comment", sa.Text()),
        sa.Column("answered_at", sa.BigInteger()),
        sa.Column("reply_sid", sa.String(64), unique=True),
        sa.Column("followup_case_id", sa.String(64)),
    )
    op.create_index("ix_followups_student_id", "followups", ["student_id"])
    op.create_index("ux_followups_family_day", "followups", ["student_id", "sent_day"],
                    unique=True)
    op.create_index("ix_followups_state_due", "followups", ["state", "due_at"])


def downgrade() -> None:
    """Drop `followups`."""
    op.drop_table("followups")
