"""Only a step towards a call or an SMS depends on the family's phone limits: the chain reads
the directory, the STOPs and the calls made for those steps alone."""

from __future__ import annotations

from outreach.decide.stages.retry_fallback import Reach, limits_matter, next_step

BLOCKED = Reach(do_not_call=True, has_phone=False, quiet_hours=True, calls_left=0,
                sms_opted_out=True)


def test_a_chat_unanswered_may_become_a_call_so_the_limits_matter() -> None:
    assert limits_matter("chat", "timeout", Reach())
    assert limits_matter("call", "no_answer", Reach())  # an SMS may be next
    assert next_step("chat", "timeout", BLOCKED).action == "done"


def test_an_answer_a_delivery_or_a_notice_does_not_read_the_limits() -> None:
    assert not limits_matter("call", "answered", Reach())
    assert not limits_matter("chat", "delivered", Reach())
    assert not limits_matter("chat", "fine", Reach())
    assert not limits_matter("chat", "help", Reach())
    assert not limits_matter("sms", "timeout", Reach())  # the agent queue, whatever the family
    assert not limits_matter("chat", "timeout", Reach(notice_only=True))
    assert not limits_matter("chat", "timeout", Reach(incident_closed=True))
