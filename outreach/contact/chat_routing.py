"""Replies into cases: `好了` resolves the case (by chat), `帮忙` queues it for an agent."""

from __future__ import annotations

from outreach.channels.chat_gateway import ChatReply, ReplyHandler
from outreach.decide.case import Case
from outreach.decide.case_states import Refusal
from outreach.store.cases import CaseStore


async def route_reply(store: CaseStore, reply: ChatReply) -> Case | Refusal | None:
    """Put the reply on its case's timeline and move the case as the reply asks."""
    if reply.case_id is None:
        return None
    actor = f"family:{reply.student_id}"
    data = {"reply_id": reply.reply_id, "text": reply.text, "intent": reply.intent}
    refused = await store.add_event(reply.case_id, "chat_reply", data, actor=actor)
    if refused is not None:
        return refused
    if reply.intent == "resolved":
        return await store.transition(
            reply.case_id,
            "resolved",
            actor=actor,
            outcome="resolved_by_chat",
            reason="family_says_fine",
        )
    if reply.intent == "needs_help":
        return await store.transition(
            reply.case_id, "waiting_agent", actor=actor, reason="family_asked_for_help"
        )
    return None


def case_router(store: CaseStore) -> ReplyHandler:
    """A gateway `on_reply` handler that routes every reply into the case store."""

    async def handle(reply: ChatReply) -> None:
        await route_reply(store, reply)

    return handle
