"""`firstcall outreach`: the live outreach service (cases, calls, SMS, chat, pages, outcomes).

Reads `support.incidents` and the workers' outreach decisions from Kafka,
carries the decisions out (Twilio for calls and SMS, the chat gateway for the
class app), pages infrastructure for line incidents, and publishes every
case's outcome to `support.outcomes`. Settings as for every job (docs/configuration.md):
defaults < --config file < FIRSTCALL_* variables < flags. Twilio comes from the
[twilio] section (FIRSTCALL_TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM_NUMBER, and
_API_BASE_URL for a proxy or the local stand-in; Twilio's own TWILIO_* names are
read too, below those: docs/configuration.md);
the chat secret from [chat] secret (FIRSTCALL_CHAT_SECRET).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from monitor.platform.callback_url import callback_problems
from monitor.platform.job_config import add_config_arguments, pick, print_problems, settings_of
from monitor.platform.kafka_settings import KafkaSettings
from monitor.platform.logging import configure
from monitor.platform.settings import (
    ConfigError,
    DatabaseSection,
    Problem,
    Settings,
    twilio_settings,
)
from monitor.streaming.outreach_service import ServiceOptions, serve
from outreach.channels.goodwill_hook import HookSettings
from outreach.contact.chain import Waits
from outreach.contact.runtime import RuntimeConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `firstcall outreach`; each defaults to its setting (file < FIRSTCALL_* env)."""
    add_config_arguments(
        p, "override one outreach setting (with --decide), e.g. --set hold_off_ms=20000"
    )
    p.add_argument(
        "--db", help="case database DSN or SQLite path ([database] dsn, default "
        f"{DatabaseSection.defaults().dsn})"
    )
    p.add_argument("--bootstrap", help="Kafka bootstrap servers ([kafka] bootstrap)")
    p.add_argument("--topic-prefix", help="prefix for every topic name ([kafka] topic_prefix)")
    p.add_argument("--group", help="consumer group ([service] group)")
    p.add_argument(
        "--decide",
        action="store_true",
        help="run the outreach policy ([outreach] settings) here instead of reading the "
        "workers' decisions",
    )
    p.add_argument(
        "--clock",
        choices=("wall", "event"),
        help="with --decide: hold-off on the wall clock (live) or on event time ([kafka] clock)",
    )
    p.add_argument("--callback-host", help="listen address of the Twilio callback app")
    p.add_argument(
        "--callback-port",
        type=int,
        help="port of the Twilio callback app (/twilio/status, /twilio/gather, SMS replies)",
    )
    p.add_argument(
        "--public-url",
        help="the URL Twilio reaches the callback app at, behind a proxy "
        "([service] public_base_url)",
    )
    p.add_argument(
        "--sms-reply-path",
        help="path of the incoming-SMS webhook on the callback app (Twilio number's "
        "'A message comes in' URL: public URL + this path) ([service] sms_reply_path)",
    )
    p.add_argument("--chat-host", help="listen address of the chat gateway ([chat] host)")
    p.add_argument("--chat-port", type=int, help="port of the chat gateway ([chat] port)")
    p.add_argument(
        "--page-url", help="webhook that pages infrastructure for line incidents"
    )
    p.add_argument("--chat-wait-s", type=float, default=120.0, help="chat unanswered -> call")
    p.add_argument("--call-wait-s", type=float, default=120.0, help="no call status -> SMS")
    p.add_argument("--sms-wait-s", type=float, default=600.0, help="SMS unanswered -> agent")
    p.add_argument("--remedy-wait-s", type=float, default=60.0,
                   help="after the one-tap fix: not recovered by then -> call")
    p.add_argument(
        "--close-after-s",
        type=float,
        default=4 * 3600,
        help="close cases whose incident never ended after this long (0: never)",
    )
    p.add_argument("--probe-host", help="bind address of the probes ([probe] host)")
    p.add_argument(
        "--probe-port",
        type=int,
        help="port of /metrics, /healthz, /readyz (0: pick a free one; -1: none)",
    )
    p.add_argument("--log-level", help="debug, info, warning or error ([logging] level)")


def options_from(
    args: argparse.Namespace, st: Settings | None = None
) -> tuple[KafkaSettings, ServiceOptions]:
    """Kafka settings and service options: flags over settings (ConfigError lists problems)."""
    st = st or settings_of(args)
    service, chat, probe = st.service, st.chat, st.probe
    settings = KafkaSettings.from_sections(
        st.kafka, st.topics, bootstrap=args.bootstrap, topic_prefix=args.topic_prefix,
        clock=args.clock,
    )  # fmt: skip
    host = pick(args.callback_host, service.callback_host)
    port = pick(args.callback_port, service.callback_port)
    public_url = pick(args.public_url, service.public_base_url or None)
    if problems := callback_problems(st.twilio, public_url):
        raise ConfigError(problems)  # live Twilio could not call back: refuse to start
    base = public_url or f"http://{host}:{port}"
    secret = chat.secret.get_secret_value()
    waits = Waits(args.chat_wait_s, args.call_wait_s, args.sms_wait_s, args.remedy_wait_s)
    opts = ServiceOptions(
        db=pick(args.db, st.database.dsn), db_pool=st.database.pool(),
        group=pick(args.group, service.group), decide=args.decide,
        policy=st.policy_config(), followup=st.followup_config(), live=RuntimeConfig(
            waits, covered_notice_concurrency=service.covered_notice_concurrency,
            covered_notice_max_hold_s=service.covered_notice_max_hold_s),
        callback_host=host, callback_port=port, public_url=public_url,
        sms_reply_path=pick(args.sms_reply_path, service.sms_reply_path),
        twilio=twilio_settings(st.twilio, base),
        chat_host=pick(args.chat_host, chat.host),
        chat_port=pick(args.chat_port, chat.port),
        chat_relay_s=chat.relay_s,
        chat_secret=secret.encode() if secret else None,
        page_url=pick(args.page_url, service.page_url or None),
        probe_host=pick(args.probe_host, probe.host),
        probe_port=pick(args.probe_port, probe.port),
        close_after_s=args.close_after_s,
        goodwill=st.goodwill_rules(), goodwill_hook=goodwill_hook(st),
        surge_sessions=service.surge_sessions, surge_window_ms=service.surge_window_ms,
    )  # fmt: skip
    return settings, opts


def goodwill_hook(st: Settings) -> HookSettings | None:
    """The scheduling webhook of the settings (None: none); ConfigError without its key."""
    g = st.goodwill
    if not g.webhook_url:
        return None
    key = g.webhook_key.get_secret_value()
    if not key:
        raise ConfigError([Problem("goodwill.webhook_key", "required with webhook_url")])
    return HookSettings(g.webhook_url, key.encode(), g.timeout_s, g.max_attempts, g.every_s)


async def _main(settings: KafkaSettings, opts: ServiceOptions, log_level: str) -> int:
    configure(log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, opts, stop)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run `firstcall outreach` until SIGTERM/SIGINT."""
    try:
        st = settings_of(args)
        settings, opts = options_from(args, st)
    except ConfigError as exc:
        return print_problems(exc)
    return asyncio.run(_main(settings, opts, pick(args.log_level, st.logging.level)))
