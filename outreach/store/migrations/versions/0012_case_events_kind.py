"""Timeline reads by case and kind: one index on case_events (case_id, kind).

Most reads of a timeline want some kinds of one case (`events_of`, the `sending` events of
a send, a family's `attempt`s in `phone_contacts`, a line case's `incident_update`s): with
the kind in the index they read those rows only, not every event of the case. It replaces
the index on case_id alone (its prefix), so a new event still updates one index.

Revision ID: 0012_case_events_kind
Revises: 0011_queue_notify
"""

from __future__ import annotations

from alembic import op

revision = "0012_case_events_kind"
down_revision = "0011_queue_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Index case_events on (case_id, kind) instead of case_id."""
    op.create_index("ix_case_events_case_kind", "case_events", ["case_id", "kind"])
    op.drop_index("ix_case_events_case_id", table_name="case_events")


def downgrade() -> None:
    """Back to the index on case_id."""
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.drop_index("ix_case_events_case_kind", table_name="case_events")
