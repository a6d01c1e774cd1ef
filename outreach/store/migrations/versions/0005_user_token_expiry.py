"""Desk tokens expire and record their last use (existing tokens: 30 days from issue).

Revision ID: 0005_user_token_expiry
Revises: 0004_sms_consent
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_user_token_expiry"
down_revision = "0004_sms_consent"
branch_labels = None
depends_on = None

THIRTY_DAYS_MS = 30 * 86_400_000


def upgrade() -> None:
    """Add expiry and last use to web_users; tokens issued before expire 30 days after issue."""
    with op.batch_alter_table("web_users") as batch:
        batch.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.BigInteger(), nullable=True))
    op.execute(f"UPDATE web_users SET expires_at = created_at + {THIRTY_DAYS_MS}")
    with op.batch_alter_table("web_users") as batch:
        batch.alter_column("expires_at", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    """Drop expiry and last use."""
    with op.batch_alter_table("web_users") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
