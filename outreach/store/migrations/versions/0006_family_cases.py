"""One family, one case: the incidents of each case, and one open case per student.

Revision ID: 0006_family_cases
Revises: 0005_user_token_expiry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_family_cases"
down_revision = "0005_user_token_expiry"
branch_labels = None
depends_on = None

OPEN_FAMILY_CASE = "state <> 'closed' AND kind <> 'line'"


def upgrade() -> None:
    """Create `case_incidents` (filled from the cases) and the partial unique index."""
    op.create_table(
        "case_incidents",
        sa.Column("incident_id", sa.String(128), primary_key=True),
        sa.Column(
            "case_id",
            sa.String(64),
            sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger()),
        sa.Column("joined_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_case_incidents_case_id", "case_incidents", ["case_id"])
    op.execute(
        "INSERT INTO case_incidents (incident_id, case_id, kind, started_at, ended_at, joined_at) "
        "SELECT incident_id, case_id, kind, incident_started_at, incident_ended_at, opened_at "
        "FROM cases"
    )
    # A database of 1.0 may hold several open cases of one student: all but the newest
    # are closed (their outcome kept, else `escalated`: someone should look) so the index holds.
    op.execute(
        "UPDATE cases SET state = 'closed', outcome = COALESCE(outcome, 'escalated'), "
        "closed_at = updated_at, owner = NULL "
        f"WHERE {OPEN_FAMILY_CASE} AND student_id IS NOT NULL AND EXISTS ("
        "SELECT 1 FROM cases AS newer WHERE newer.student_id = cases.student_id "
        "AND newer.state <> 'closed' AND newer.kind <> 'line' "
        "AND (newer.opened_at > cases.opened_at OR (newer.opened_at = cases.opened_at "
        "AND newer.case_id > cases.case_id)))"
    )
    op.create_index(
        "ux_cases_open_student",
        "cases",
        ["student_id"],
        unique=True,
        postgresql_where=sa.text(OPEN_FAMILY_CASE),
        sqlite_where=sa.text(OPEN_FAMILY_CASE),
    )


def downgrade() -> None:
    """Drop the index and `case_incidents`."""
    op.drop_index("ux_cases_open_student", table_name="cases")
    op.drop_index("ix_case_incidents_case_id", table_name="case_incidents")
    op.drop_table("case_incidents")
