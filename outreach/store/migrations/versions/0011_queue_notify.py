"""Every queue change is announced: a PostgreSQL NOTIFY from the same transaction (desk replicas).

A trigger on `queue_entries` (queued, answered, done) and on `cases` (owner or state
moved) sends `pg_notify('fcq_<schema>', case_id)` whoever writes: the outreach service,
either desk replica, or a script. The notice is delivered at commit, so a listener never
hears of a change it cannot read yet. SQLite (one process) has no triggers here: the
desk is told in process.

Revision ID: 0011_queue_notify
Revises: 0010_followups
"""

from __future__ import annotations

from alembic import op

revision = "0011_queue_notify"
down_revision = "0010_followups"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION firstcall_queue_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('fcq_' || TG_TABLE_SCHEMA, NEW.case_id);
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    """Create the notify function and its two triggers (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute("CREATE TRIGGER queue_entries_notify AFTER INSERT OR UPDATE ON queue_entries "
               "FOR EACH ROW EXECUTE FUNCTION firstcall_queue_notify()")
    op.execute("CREATE TRIGGER cases_queue_notify AFTER UPDATE ON cases FOR EACH ROW "
               "WHEN (OLD.owner IS DISTINCT FROM NEW.owner OR OLD.state IS DISTINCT FROM "
               "NEW.state) EXECUTE FUNCTION firstcall_queue_notify()")


def downgrade() -> None:
    """Drop the triggers and the function."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS cases_queue_notify ON cases")
    op.execute("DROP TRIGGER IF EXISTS queue_entries_notify ON queue_entries")
    op.execute("DROP FUNCTION IF EXISTS firstcall_queue_notify()")
