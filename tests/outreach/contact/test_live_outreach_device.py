"""The contact chain's words name the family's own device (iPad, phone...) when the desk saw it.

The desk keeps the device of the session's join with the case (`session_context`); the
chain looks it up before each send. A case with no known device gets today's generic
words (the computer's hints). The words are rendered here by the same pure script
functions the channels use: chat `message_text`, SMS `sms_text`, call `call_twiml`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from detectors.records import case_id_for
from outreach.channels.base import OutboundMessage, SendResult
from outreach.channels.twilio_twiml import call_twiml
from outreach.contact.chain import Waits
from outreach.decide.decision import ChannelName
from outreach.scripts.wording import message_text, sms_text
from outreach.store.queue import QueueStore
from tests.support.casedb import sqlite_engine
from tests.support.live_support import T0, Harness, decision, harness, incident, until

IPAD_HINT = "请在平板上再点一下它的图标"  # after a drop: tap the class app's icon on the tablet
COMPUTER_HINT = "请在电脑上重新打开上课软件"  # after a drop: reopen the class app on the computer
PHONE_HINT_EN = "move the phone closer to the Wi-Fi router"  # a lag on a phone
COMPUTER_HINT_EN = "close other windows on the computer"  # a lag on a computer

WORDS: dict[ChannelName, Callable[[OutboundMessage], str]] = {
    "chat": lambda m: message_text(m.fault, m.device, m.language),
    "sms": lambda m: sms_text(m.fault, m.device, m.language),
    "call": lambda m: call_twiml(m.fault, m.device, m.language),
}
CHANNELS: list[ChannelName] = ["chat", "call", "sms"]


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """The live runner with fake channels, beside the desk's tables (the queue store)."""
    engine = await sqlite_engine(tmp_path)
    made = await harness(engine, tmp_path)
    made.runner.queue = QueueStore(engine, made.cases)
    yield made
    await made.runner.aclose()
    await engine.dispose()


def queue_of(h: Harness) -> QueueStore:
    assert isinstance(h.runner.queue, QueueStore)
    return h.runner.queue


async def first_words(h: Harness, channel: ChannelName) -> str:
    """What the family got on `channel`, in the words that channel renders."""
    await until(lambda: len(h.fakes[channel].sent) >= 1)
    return WORDS[channel](h.fakes[channel].sent[0])


@pytest.mark.parametrize("channel", CHANNELS)
async def test_an_ipad_family_is_given_the_ipad_hint(h: Harness, channel: ChannelName) -> None:
    inc = incident(1, kind="disconnect")
    await h.runner.handle(inc)
    await queue_of(h).save_context(case_id_for(inc.incident_id), {"device": "ipad"})
    await h.runner.handle(decision(inc, channel))
    words = await first_words(h, channel)
    assert IPAD_HINT in words and COMPUTER_HINT not in words


async def test_a_phone_familys_english_sms_names_the_phone_hint(h: Harness) -> None:
    inc = incident(1, kind="lag", student="stu-sms")  # Joe reads English, prefers SMS
    await h.runner.handle(inc)
    await queue_of(h).save_context(case_id_for(inc.incident_id), {"device": "phone"})
    await h.runner.handle(decision(inc, "sms"))
    words = await first_words(h, "sms")
    assert PHONE_HINT_EN in words and COMPUTER_HINT_EN not in words


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_case_whose_join_the_desk_did_not_see_gets_the_generic_words(
    h: Harness, channel: ChannelName
) -> None:
    inc = incident(1, kind="disconnect")
    await h.runner.handle(inc)
    # The desk kept the line but saw no join: the device column stays `unknown`.
    await queue_of(h).save_context(case_id_for(inc.incident_id), {"line": "e1/isp-a/north"})
    await h.runner.handle(decision(inc, channel))
    words = await first_words(h, channel)
    assert COMPUTER_HINT in words and IPAD_HINT not in words


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_case_with_no_desk_context_or_no_desk_gets_the_generic_words(
    h: Harness, channel: ChannelName
) -> None:
    h.runner.queue = None  # and with a queue but no session_context row, the same words:
    inc = incident(1, kind="disconnect")
    await h.runner.handle(inc)
    await h.runner.handle(decision(inc, channel))
    assert COMPUTER_HINT in await first_words(h, channel)
    await h.runner.handle(incident(1, "closed", kind="disconnect"))
    await h.runner.close_quiet(T0 + 60_000 + h.runner.policy.case_reopen_ms)  # the case is over
    other = incident(2, kind="disconnect", start=T0 + 3_600_000)
    h.runner.queue = QueueStore(h.engine, h.cases)
    await h.runner.handle(other)
    await h.runner.handle(decision(other, channel))
    await until(lambda: len(h.fakes[channel].sent) >= 2)
    assert COMPUTER_HINT in WORDS[channel](h.fakes[channel].sent[1])


async def test_the_device_is_looked_up_again_before_each_contact(tmp_path: Path) -> None:
    engine = await sqlite_engine(tmp_path)
    h = await harness(engine, tmp_path, Waits(chat_s=0.5, call_s=0.05, sms_s=0.05))
    queue = h.runner.queue = QueueStore(engine, h.cases)
    try:
        inc = incident(1, kind="disconnect")
        h.fakes["chat"].script(SendResult("queued", provider_id="p"))
        await h.runner.handle(inc)
        await h.runner.handle(decision(inc, "chat"))
        assert COMPUTER_HINT in await first_words(h, "chat")  # sent before the desk saw the join
        await queue.save_context(case_id_for(inc.incident_id), {"device": "ipad"})
        assert IPAD_HINT in await first_words(h, "call")  # the chat went unanswered: a call
    finally:
        await h.runner.aclose()
        await engine.dispose()
