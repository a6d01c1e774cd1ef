"""The support desk's tables: the call queue, session context of cases, console users.

Revision ID: 0002_desk_tables
Revises: 0001

Databases that ran the desk before this revision already hold these tables (the
desk used to create them itself, with the same columns): those are left as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_desk_tables"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("queue_entries", "session_context", "web_users")


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    """Create the desk tables that are not there yet."""
    if _missing("queue_entries"):
        op.create_table(
            "queue_entries",
            sa.Column("case_id", sa.String(64), primary_key=True),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("student_id", sa.String(128)),
            sa.Column("reason", sa.String(64), nullable=False),
            sa.Column("queued_at", sa.BigInteger(), nullable=False),
            sa.Column("problem_started_at", sa.BigInteger(), nullable=False),
            sa.Column("first_contact_at", sa.BigInteger()),
            sa.Column("answered_at", sa.BigInteger()),
            sa.Column("done_at", sa.BigInteger()),
        )
    if _missing("session_context"):
        op.create_table(
            "session_context",
            sa.Column("case_id", sa.String(64), primary_key=True),
            sa.Column("session_id", sa.String(128)),
            sa.Column("classroom_id", sa.String(128)),
            sa.Column("teacher", sa.String(128), nullable=False, server_default="unknown"),
            sa.Column("device", sa.String(32), nullable=False, server_default="unknown"),
            sa.Column("os", sa.String(64), nullable=False, server_default="unknown"),
            sa.Column("app_version", sa.String(64), nullable=False, server_default="unknown"),
            sa.Column("conn", sa.String(16), nullable=False, server_default="unknown"),
            sa.Column("line", sa.String(200), nullable=False, server_default="unknown"),
            sa.Column("cause", sa.String(64), nullable=False, server_default="unknown"),
            sa.Column("lesson_end", sa.BigInteger()),
        )
    if _missing("web_users"):
        op.create_table(
            "web_users",
            sa.Column("name", sa.String(128), primary_key=True),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("token_id", sa.String(32), nullable=False, unique=True),
            sa.Column("salt", sa.String(64), nullable=False),
            sa.Column("token_hash", sa.String(128), nullable=False),
            sa.Column("created_at", sa.BigInteger(), nullable=False),
        )


def downgrade() -> None:
    """Drop the desk tables."""
    for table in reversed(TABLES):
        op.drop_table(table)
