"""SMS consent history: each STOP / START by MessageSid with its time (ordering, replays).

Revision ID: 0004_sms_consent
Revises: 0003_sms_replies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_sms_consent"
down_revision = "0003_sms_replies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the consent history."""
    op.create_table(
        "sms_consent",
        sa.Column("message_sid", sa.String(64), primary_key=True),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_sms_consent_phone", "sms_consent", ["phone"])


def downgrade() -> None:
    """Drop the consent history."""
    op.drop_index("ix_sms_consent_phone", table_name="sms_consent")
    op.drop_table("sms_consent")
