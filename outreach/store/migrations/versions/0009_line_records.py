"""Incident records applied once (by digest), and decisions waiting for their incident.

Revision ID: 0009_line_records
Revises: 0008_line_children
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009_line_records"
down_revision = "0008_line_children"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `incident_records` and `waiting_decisions`."""
    op.create_table(
        "incident_records",
        sa.Column("incident_id", sa.String(128), primary_key=True),
        sa.Column("digest", sa.String(32), primary_key=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "waiting_decisions",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("incident_id", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_waiting_decisions_incident_id", "waiting_decisions", ["incident_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_waiting_decisions_incident_id", table_name="waiting_decisions")
    op.drop_table("waiting_decisions")
    op.drop_table("incident_records")
