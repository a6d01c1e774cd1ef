"""Goodwill for lost lessons: offers on cases, and the scheduling webhook's outbox.

Revision ID: 0007_goodwill
Revises: 0006_family_cases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007_goodwill"
down_revision = "0006_family_cases"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create `goodwill_offers` and `goodwill_hooks`."""
    op.create_table(
        "goodwill_offers",
        sa.Column(
            "case_id",
            sa.String(64),
            sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("bulk", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("minutes_lost", sa.Float(), nullable=False),
        sa.Column("members", JSONType, nullable=False),
        sa.Column("why", sa.String(200), nullable=False),
        sa.Column("proposed_at", sa.BigInteger(), nullable=False),
        sa.Column("decided_at", sa.BigInteger()),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decision_reason", sa.String(500)),
    )
    op.create_index("ix_goodwill_offers_state", "goodwill_offers", ["state", "proposed_at"])
    op.create_table(
        "goodwill_hooks",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(64), nullable=False, unique=True),
        sa.Column("student_id", sa.String(128), nullable=False),
        sa.Column("case_id", sa.String(64)),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("acked_at", sa.BigInteger()),
        sa.Column("deliveries", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_goodwill_hooks_pending", "goodwill_hooks", ["acked_at", "seq"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("goodwill_hooks")
    op.drop_table("goodwill_offers")
