"""Tables of the support desk: the call queue, session context of cases, console users.

Same database as the case store, own MetaData; created by the Alembic migrations
(revision `0002_desk_tables`, `firstcall db upgrade`), like every other table.
"""

from __future__ import annotations

import sqlalchemy as sa

desk_metadata = sa.MetaData()

queue_entries = sa.Table(
    "queue_entries",
    desk_metadata,
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

session_context = sa.Table(
    "session_context",
    desk_metadata,
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

web_users = sa.Table(
    "web_users",
    desk_metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_id", sa.String(32), nullable=False, unique=True),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("token_hash", sa.String(128), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
)

