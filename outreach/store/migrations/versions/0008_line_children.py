"""Line incidents as problems with children: which family cases each line case covers.

Revision ID: 0008_line_children
Revises: 0007_goodwill
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_line_children"
down_revision = "0007_goodwill"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add line_children (line case, family case, why and when it was attached, when the
    family was told the class works again)."""
    op.create_table(
        "line_children",
        sa.Column("line_case_id", sa.String(64),
                  sa.ForeignKey("cases.case_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("case_id", sa.String(64),
                  sa.ForeignKey("cases.case_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("attached_at", sa.BigInteger(), nullable=False),
        sa.Column("told_at", sa.BigInteger()),
    )
    op.create_index("ix_line_children_case", "line_children", ["case_id"])


def downgrade() -> None:
    """Drop line_children."""
    op.drop_index("ix_line_children_case", table_name="line_children")
    op.drop_table("line_children")
