"""Every table of the case database, in one MetaData (what `upgrade head` must build).

Cases and their timeline, the chat outbox, the family directory and SMS opt-outs
(revision `0001_initial`, `0003_sms_replies`), the incidents of each case and
"one open case per student" (`0006_family_cases`), the incident records applied and
the decisions waiting for their incident (`0009_line_records`); the desk's call queue,
session context of cases and console users (revision `0002_desk_tables`); the family
cases under each line case (`0008_line_children`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN_FAMILY_CASE = "state <> 'closed' AND kind <> 'line'"

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("incident_id", sa.String(128), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("session_id", sa.String(128)),
    sa.Column("student_id", sa.String(128), index=True),
    sa.Column("classroom_id", sa.String(128)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(128)),
    sa.Column("outcome", sa.String(32)),
    sa.Column("lesson_minutes_lost", sa.Float()),
    sa.Column("policy", JSONType, nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("incident_started_at", sa.BigInteger(), nullable=False),
    sa.Column("incident_ended_at", sa.BigInteger()),
    sa.Column("opened_at", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.BigInteger(), nullable=False),
    sa.Column("closed_at", sa.BigInteger()),
    # One family, one case (contract 1.1): at most one case of a student is not closed,
    # held by the database itself (revision `0006_family_cases`); line cases have no student.
    sa.Index(
        "ux_cases_open_student",
        "student_id",
        unique=True,
        postgresql_where=sa.text(OPEN_FAMILY_CASE),
        sqlite_where=sa.text(OPEN_FAMILY_CASE),
    ),
)

# Every incident of a case, the first one included (a family's case gathers its incidents).
case_incidents = sa.Table(
    "case_incidents",
    metadata,
    sa.Column("incident_id", sa.String(128), primary_key=True),
    sa.Column(
        "case_id",
        sa.String(64),
        sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("started_at", sa.BigInteger(), nullable=False),
    sa.Column("ended_at", sa.BigInteger()),
    sa.Column("joined_at", sa.BigInteger(), nullable=False),
)

case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("event_id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "case_id",
        sa.String(64),
        sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("at", sa.BigInteger(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("data", JSONType, nullable=False),
    sa.Index("ix_case_events_case_kind", "case_id", "kind"),  # 0012: reads by case and kind
)

chat_outbox = sa.Table(
    "chat_outbox",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(64), nullable=False, unique=True),
    sa.Column("student_id", sa.String(128), nullable=False),
    sa.Column("case_id", sa.String(64)),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("acked_at", sa.BigInteger()),
    sa.Column("deliveries", sa.Integer(), nullable=False, server_default="0"),
    sa.Index("ix_chat_outbox_pending", "student_id", "acked_at"),
)

students = sa.Table(
    "students",
    metadata,
    sa.Column("student_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.BigInteger(), nullable=False),
)

guardians = sa.Table(
    "guardians",
    metadata,
    sa.Column("guardian_id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "student_id",
        sa.String(128),
        sa.ForeignKey("students.student_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(16)),
    sa.Column("relation", sa.String(32), nullable=False),
    sa.Column("preferred_channel", sa.String(8), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("quiet_start", sa.String(5)),
    sa.Column("quiet_end", sa.String(5)),
    sa.Column("do_not_call", sa.Boolean(), nullable=False),
)

# Numbers that answered STOP (Twilio's opt-out): no SMS to them until they send START.
# Kept by number, apart from the directory, so a directory re-import does not undo it.
sms_opt_outs = sa.Table(
    "sms_opt_outs",
    metadata,
    sa.Column("phone", sa.String(16), primary_key=True),
    sa.Column("opted_out_at", sa.BigInteger(), nullable=False),
    sa.Column("message_sid", sa.String(64), nullable=False),
)
# Every STOP / START (by MessageSid, with the message's own time): a replayed or late
# message is recognised and never undoes a newer one.
sms_consent = sa.Table(
    "sms_consent",
    metadata,
    sa.Column("message_sid", sa.String(64), primary_key=True),
    sa.Column("phone", sa.String(16), nullable=False, index=True),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("sent_at", sa.BigInteger(), nullable=False),
)

# -- the support desk ------------------------------------------------------------

queue_entries = sa.Table(
    "queue_entries",
    metadata,
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

# A line incident's case is a problem; the family cases it covers are its children
# (revision `0008_line_children`): they never wait in the queue on their own.
line_children = sa.Table(
    "line_children",
    metadata,
    sa.Column("line_case_id", sa.String(64), sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("case_id", sa.String(64), sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("attached_at", sa.BigInteger(), nullable=False),
    sa.Column("told_at", sa.BigInteger()),  # the family was told the class works again
    sa.Index("ix_line_children_case", "case_id"),
)

session_context = sa.Table(
    "session_context",
    metadata,
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
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_id", sa.String(32), nullable=False, unique=True),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("token_hash", sa.String(128), nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("expires_at", sa.BigInteger(), nullable=False),
    sa.Column("last_used_at", sa.BigInteger()),
)

# -- goodwill for lost lessons (revision `0007_goodwill`) -----------------------------

# One offer per case (the family's case, or a line incident's bulk offer for its families).
goodwill_offers = sa.Table(
    "goodwill_offers",
    metadata,
    sa.Column(
        "case_id",
        sa.String(64),
        sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("bulk", sa.Boolean(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("minutes_lost", sa.Float(), nullable=False),
    sa.Column("members", JSONType, nullable=False),
    sa.Column("why", sa.String(200), nullable=False),
    sa.Column("proposed_at", sa.BigInteger(), nullable=False),
    sa.Column("decided_at", sa.BigInteger()),
    sa.Column("decided_by", sa.String(128)),
    sa.Column("decision_reason", sa.String(500)),
    sa.Index("ix_goodwill_offers_state", "state", "proposed_at"),
)

# The scheduling webhook's outbox: one row per confirmed family (message id = the family's
# case id, the idempotency key) until the school's system accepted it (the chat outbox's
# columns, so `outreach.store.outbox.Outbox` serves both).
goodwill_hooks = sa.Table(
    "goodwill_hooks",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(64), nullable=False, unique=True),
    sa.Column("student_id", sa.String(128), nullable=False),
    sa.Column("case_id", sa.String(64)),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("acked_at", sa.BigInteger()),
    sa.Column("deliveries", sa.Integer(), nullable=False, server_default="0"),
    sa.Index("ix_goodwill_hooks_pending", "acked_at", "seq"),
)

# Each incident record applied once (a keyed look-up instead of reading the timeline).
incident_records = sa.Table(
    "incident_records",
    metadata,
    sa.Column("incident_id", sa.String(128), primary_key=True),
    sa.Column("digest", sa.String(32), primary_key=True),
    sa.Column("at", sa.BigInteger(), nullable=False),
)

# Decisions that came before their incident record.
waiting_decisions = sa.Table(
    "waiting_decisions",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(128), nullable=False, index=True),
    sa.Column("data", JSONType, nullable=False),
    sa.Column("since", sa.BigInteger(), nullable=False),
)


# -- the satisfaction follow-up (#18.1, revision `0010_followups`) -----------------

# One follow-up per case that reached the family: when it is due, how it went out, and
# the family's score and comment (the first answer; `reply_sid` makes a retry a no-op).
# At most one per family per local day: `sent_day` is set when it goes, unique per student.
followups = sa.Table(
    "followups",
    metadata,
    sa.Column(
        "case_id",
        sa.String(64),
        sa.ForeignKey("cases.case_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("student_id", sa.String(128), nullable=False, index=True),
    sa.Column("agent", sa.String(128)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("due_at", sa.BigInteger(), nullable=False),
    sa.Column("channel", sa.String(8)),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("sent_at", sa.BigInteger()),
    sa.Column("sent_day", sa.String(10)),
    sa.Column("score", sa.Integer()),
    sa.Column("comment", sa.Text()),
    sa.Column("answered_at", sa.BigInteger()),
    sa.Column("reply_sid", sa.String(64), unique=True),
    sa.Column("followup_case_id", sa.String(64)),
    sa.Index("ux_followups_family_day", "student_id", "sent_day", unique=True),
    sa.Index("ix_followups_state_due", "state", "due_at"),
)
