"""`firstcall outreach` assembled: database, channels, callback app, chat gateway, Kafka feed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field

import structlog
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from monitor.platform.heap_trim import HeapTrim
from monitor.platform.http_probe import ProbeServer
from monitor.platform.kafka_settings import KafkaSettings
from monitor.streaming.outcomes_kafka import KafkaOutcomeSink
from monitor.streaming.outreach_kafka import DEFAULT_GROUP, KafkaOutreach
from outreach.channels.base import Channel
from outreach.channels.chat import ChatChannel
from outreach.channels.chat_gateway import ChatGateway
from outreach.channels.goodwill_hook import HookSettings, SchedulingHook
from outreach.channels.twilio_callbacks import create_app, queue_timeline, timeline_sink
from outreach.channels.twilio_client import TwilioSettings
from outreach.channels.twilio_inbound import DEFAULT_SMS_PATH
from outreach.channels.twilio_queue import QueueWait
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.channels.twilio_voice import TwilioVoiceChannel
from outreach.channels.webhook import WebhookPager
from outreach.contact.followup import FollowupMetrics, FollowUps
from outreach.contact.followup_answers import FollowupAnswers, answers_first
from outreach.contact.goodwill import (
    GoodwillMetrics,
    GoodwillProposer,
    GoodwillSink,
    HookDispatcher,
)
from outreach.contact.goodwill_family import FamilySms
from outreach.contact.line_surge import SURGE_SESSIONS, SURGE_WINDOW_MS, LineSurge
from outreach.contact.metrics import OutreachMetrics
from outreach.contact.runtime import CaseRuntime, RuntimeConfig
from outreach.contact.sms_replies import SmsReplies
from outreach.decide.decision import ChannelName, PolicyConfig
from outreach.decide.followup import FollowupConfig
from outreach.decide.goodwill import GoodwillRules
from outreach.decide.policy import OutreachPolicy
from outreach.store.cases import CaseStore
from outreach.store.db import PoolSettings, open_database
from outreach.store.directory import DirectoryStore
from outreach.store.goodwill import GoodwillStore
from outreach.store.optouts import SmsOptOuts
from outreach.store.outbox import Outbox
from outreach.store.queue import QueueStore

log = structlog.get_logger(__name__)  # a lazy proxy: follows `configure()` made later


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """Everything the service needs besides Kafka settings (from flags and settings)."""

    db: str
    db_pool: PoolSettings = field(default_factory=PoolSettings)  # PostgreSQL connections
    group: str = DEFAULT_GROUP
    decide: bool = False
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    followup: FollowupConfig = field(default_factory=FollowupConfig)
    live: RuntimeConfig = field(default_factory=RuntimeConfig)
    callback_host: str = "127.0.0.1"
    callback_port: int = 8090
    public_url: str | None = None
    sms_reply_path: str = DEFAULT_SMS_PATH
    twilio: TwilioSettings | None = None
    chat_host: str = "127.0.0.1"
    chat_port: int = 8765
    chat_relay_s: float = 0.5
    chat_secret: bytes | None = None
    page_url: str | None = None
    probe_host: str = "127.0.0.1"
    probe_port: int = -1
    close_after_s: float = 0.0
    goodwill: GoodwillRules = field(default_factory=GoodwillRules)
    goodwill_hook: HookSettings | None = None
    surge_sessions: int = SURGE_SESSIONS
    surge_window_ms: int = SURGE_WINDOW_MS


@dataclass
class Service:
    """The running parts (for probes and tests)."""

    engine: AsyncEngine
    runner: CaseRuntime
    feed: KafkaOutreach
    metrics: OutreachMetrics
    gateway: ChatGateway | None
    callback_url: str
    goodwill: HookDispatcher | None = None
    followups: FollowUps | None = None


def callback_app(
    runner: CaseRuntime,
    auth_token: str,
    public_url: str | None = None,
    sms_path: str = DEFAULT_SMS_PATH,
    wait: QueueWait | None = None,
    webhook_key: str = "",
    answers: FollowupAnswers | None = None,
) -> Starlette:
    """The runtime's Twilio app: status callbacks and menu keys (with the technicians' queue's
    wait), families' SMS replies (and answers to follow-ups)."""
    replies = SmsReplies(runner.cases, runner, runner.metrics, policy=asdict(runner.policy),
                         followups=answers)
    return create_app(
        auth_token, timeline_sink(runner.cases, runner.on_callback), public_base_url=public_url,
        on_sms=replies,
        sms_path=sms_path, wait=wait, on_queue=queue_timeline(runner.cases),
        webhook_key=webhook_key,
    )  # fmt: skip


async def _serve_app(
    stack: AsyncExitStack, opts: ServiceOptions, runner: CaseRuntime, answers: FollowupAnswers
) -> str:
    token = opts.twilio.auth_token if opts.twilio is not None else ""
    wait = None if opts.twilio is None else QueueWait(opts.twilio.queue_max_wait_s,
                                                      opts.twilio.call_back_within_min)
    key = opts.twilio.webhook_key if opts.twilio is not None else ""
    app = callback_app(runner, token, opts.public_url, opts.sms_reply_path, wait, key, answers)
    server = uvicorn.Server(
        uvicorn.Config(app, host=opts.callback_host, port=opts.callback_port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())

    async def stop() -> None:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return f"http://{opts.callback_host}:{opts.callback_port}"


@asynccontextmanager
async def running(settings: KafkaSettings, opts: ServiceOptions) -> AsyncIterator[Service]:
    """Open everything, yield the service, and close it all again."""
    async with AsyncExitStack() as stack:
        engine = await open_database(opts.db, pool=opts.db_pool)
        stack.push_async_callback(engine.dispose)
        cases, metrics = CaseStore(engine), OutreachMetrics.create()
        sink = KafkaOutcomeSink.connect(settings.bootstrap, settings.topics.outcomes)
        await sink.start()
        stack.push_async_callback(sink.stop)
        channels: dict[ChannelName, Channel] = {}
        gw_store, gw_metrics = GoodwillStore(engine), GoodwillMetrics.create(metrics.registry)
        proposer = GoodwillProposer(cases, gw_store, opts.goodwill, gw_metrics)
        runner = CaseRuntime(
            cases,
            DirectoryStore(engine),
            channels,
            GoodwillSink(sink, proposer),
            policy=opts.policy,
            config=opts.live,
            metrics=metrics,
            pager=WebhookPager(opts.page_url) if opts.page_url else None,
            queue=QueueStore(engine, cases),
        )
        stack.push_async_callback(runner.aclose)
        fmetrics = FollowupMetrics.create(metrics.registry)
        answers = FollowupAnswers(cases, fmetrics, queue=runner.queue, config=opts.followup)
        gateway = None
        if opts.chat_secret:
            gateway = ChatGateway(
                Outbox(engine), opts.chat_secret, answers_first(answers, runner.on_reply),
                host=opts.chat_host, port=opts.chat_port, relay_s=opts.chat_relay_s,
            )  # fmt: skip
            await stack.enter_async_context(gateway)
            channels["chat"] = ChatChannel(gateway)
        if opts.twilio is not None:
            opt_outs = SmsOptOuts(engine)
            voice = TwilioVoiceChannel(opts.twilio)
            sms = TwilioSmsChannel(opts.twilio, on_unsubscribed=opt_outs.opt_out)
            stack.push_async_callback(voice.aclose)
            stack.push_async_callback(sms.aclose)
            channels["call"], channels["sms"] = voice, sms
        if opts.twilio is None:
            log.warning("phone_channels_off",
                        reason="FIRSTCALL_TWILIO_* not set: no calls or SMS, no Twilio routes")
        if not opts.page_url:
            log.warning("infra_pager_off", reason="no --page-url: line incidents are not paged")
        followups = FollowUps(
            cases, runner.directory, channels, fmetrics, queue=runner.queue,
            config=opts.followup, app_open=None if gateway is None else gateway.connected,
        )  # fmt: skip
        url = await _serve_app(stack, opts, runner, answers)
        await runner.resume()
        await runner.publish_pending()
        policy = OutreachPolicy(opts.policy, lambda _o: None) if opts.decide else None
        feed = KafkaOutreach(settings, runner, group=opts.group, policy=policy,
                             surge=LineSurge(opts.surge_sessions, opts.surge_window_ms))
        if opts.probe_port >= 0:
            probe = ProbeServer(
                metrics.registry, lambda: feed.ready, host=opts.probe_host, port=opts.probe_port
            )
            await probe.start()
            stack.push_async_callback(probe.stop)
        log.info(
            "outreach_started", channels=sorted(channels), callbacks=url, decide=opts.decide,
            pager=bool(opts.page_url),
        )  # fmt: skip
        hook, sms_channel = opts.goodwill_hook, channels.get("sms")
        family = None if sms_channel is None else FamilySms(
            runner.directory, SmsOptOuts(engine), sms_channel)
        dispatcher = None if hook is None else HookDispatcher(
            gw_store, SchedulingHook.from_settings(hook), gw_metrics, family)
        yield Service(engine, runner, feed, metrics, gateway, url, dispatcher, followups)


async def sweep_forever(
    runner: CaseRuntime,
    close_after_s: float,
    every_s: float = 60.0,
    followups: FollowUps | None = None,
    heap: HeapTrim | None = None,
) -> None:
    """Close family cases whose student has been fine for `case_reopen_ms` (also when no
    records come), cases left open `close_after_s` (if > 0); publish what agents closed;
    schedule and send the satisfaction follow-ups of closed cases; with no chain running,
    hand the heap a burst freed back to the system (glibc; `monitor.platform.heap_trim`)."""
    heap = heap or HeapTrim()
    while True:
        await asyncio.sleep(every_s)
        try:
            await runner.close_quiet()
            if close_after_s > 0:
                await runner.close_stale(int(close_after_s * 1000))
            await runner.publish_pending()
            if followups is not None:
                await followups.sweep()
            if not runner.tasks and (given := heap.maybe()) is not None:
                log.info("heap_trimmed", released_mb=round(given / 2**20, 1))
        except Exception:  # a failed sweep is tried again next time
            log.exception("sweep_failed")


async def serve(settings: KafkaSettings, opts: ServiceOptions, stop: asyncio.Event) -> None:
    """Run until `stop` is set."""
    async with running(settings, opts) as service:
        tasks = [asyncio.create_task(sweep_forever(service.runner, opts.close_after_s,
                                                   followups=service.followups))]
        if service.goodwill is not None and opts.goodwill_hook is not None:
            every = opts.goodwill_hook.every_s
            tasks.append(asyncio.create_task(service.goodwill.run(every, stop)))
        try:
            await service.feed.run(stop)
        finally:
            for task in tasks:
                task.cancel()
