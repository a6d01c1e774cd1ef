"""In-app chat: signed tokens, a websockets gateway with an outbox, replies routed to cases."""

from outreach.chat.gateway import ChatGateway, ChatReply, ReplyHandler
from outreach.chat.intents import Intent, intent_of
from outreach.chat.outbox import Outbox, OutboxMessage
from outreach.chat.routing import case_router, route_reply
from outreach.chat.tokens import TokenError, make_token, verify_token

__all__ = [
    "ChatGateway",
    "ChatReply",
    "Intent",
    "Outbox",
    "OutboxMessage",
    "ReplyHandler",
    "TokenError",
    "case_router",
    "intent_of",
    "make_token",
    "route_reply",
    "verify_token",
]
