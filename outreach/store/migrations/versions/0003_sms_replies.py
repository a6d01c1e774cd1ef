"""SMS opt-outs: numbers that replied STOP (Twilio's standard opt-out keywords).

Revision ID: 0003_sms_replies
Revises: 0002_desk_tables
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sms_replies"
down_revision = "0002_desk_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the opt-out table."""
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(16), primary_key=True),
        sa.Column("opted_out_at", sa.BigInteger(), nullable=False),
        sa.Column("message_sid", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop the opt-out table."""
    op.drop_table("sms_opt_outs")
