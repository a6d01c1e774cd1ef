"""`firstcall outreach`: the live outreach service (cases, calls, SMS, chat, pages, outcomes).

Reads `support.incidents` and the workers' outreach decisions from Kafka,
carries the decisions out (Twilio for calls and SMS, the chat gateway for the
class app), pages infrastructure for line incidents, and publishes every
case's outcome to `support.outcomes`. Settings as for every job (docs/configuration.md):
defaults < --config file < FIRSTCALL_* variables < flags. Twilio comes from the
[twilio] section (FIRSTCALL_TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM_NUMBER, and
_API_BASE_URL for a proxy or the local stand-in; plain TWILIO_* names work too);
the chat secret from [chat] secret (FIRSTCALL_CHAT_SECRET).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from monitor.platform.job_config import add_config_arguments, pick, print_problems, settings_of
from monitor.platform.kafka_settings import KafkaSettings, Topics
from monitor.platform.logging import configure
from monitor.platform.settings import ConfigError, load_settings
from monitor.streaming.outreach_service import ServiceOptions, serve, twilio_from_env
from outreach.channels.twilio_client import TwilioSettings
from outreach.contact.chain import Waits
from outreach.contact.runtime import LiveConfig
from outreach.store.db import DEFAULT_DSN


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `firstcall outreach`; each defaults to its setting (file < FIRSTCALL_* env)."""
    add_config_arguments(
        p, "override one outreach setting (with --decide), e.g. --set hold_off_ms=20000"
    )
    p.add_argument(
        "--db", help=f"case database DSN or SQLite path ([database] dsn, default {DEFAULT_DSN})"
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


def options_from(args: argparse.Namespace) -> tuple[KafkaSettings, ServiceOptions]:
    """Kafka settings and service options: flags over settings (ConfigError lists problems)."""
    st = settings_of(args)
    kafka, service, chat, probe, tw = (
        st[name].model_dump() for name in ("kafka", "service", "chat", "probe", "twilio")
    )
    topics = Topics(**st["topics"].model_dump())
    settings = KafkaSettings(
        bootstrap=pick(args.bootstrap, kafka["bootstrap"]),
        topics=topics.prefixed(pick(args.topic_prefix, kafka["topic_prefix"])),
        clock=pick(args.clock, kafka["clock"]),
    )
    host = pick(args.callback_host, service["callback_host"])
    port = pick(args.callback_port, service["callback_port"])
    public_url = pick(args.public_url, service["public_base_url"] or None)
    base = public_url or f"http://{host}:{port}"
    secret = chat["secret"].get_secret_value()
    waits = Waits(args.chat_wait_s, args.call_wait_s, args.sms_wait_s)
    twilio = twilio_from_env(base.rstrip("/"))  # also the plain TWILIO_* names
    if tw["account_sid"] and tw["from_number"]:
        twilio = TwilioSettings(
            tw["account_sid"], tw["auth_token"].get_secret_value(), tw["from_number"],
            api_base_url=tw["api_base_url"],
            status_callback_url=f"{base.rstrip('/')}/twilio/status",
            gather_action_url=f"{base.rstrip('/')}/twilio/gather",
        )  # fmt: skip
    opts = ServiceOptions(
        db=pick(args.db, st["database"].model_dump()["dsn"]),
        group=pick(args.group, service["group"]), decide=args.decide,
        policy=st.policy_config(), live=LiveConfig(waits),
        callback_host=host, callback_port=port, public_url=public_url,
        sms_reply_path=pick(args.sms_reply_path, service["sms_reply_path"]),
        twilio=twilio,
        chat_host=pick(args.chat_host, chat["host"]),
        chat_port=pick(args.chat_port, chat["port"]),
        chat_secret=secret.encode() if secret else None,
        page_url=pick(args.page_url, service["page_url"] or None),
        probe_host=pick(args.probe_host, probe["host"]),
        probe_port=pick(args.probe_port, probe["port"]),
        close_after_s=args.close_after_s,
    )  # fmt: skip
    return settings, opts


async def _main(args: argparse.Namespace, settings: KafkaSettings, opts: ServiceOptions) -> int:
    configure(args.log_level or load_settings(args.config)["logging"].model_dump()["level"])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, opts, stop)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run `firstcall outreach` until SIGTERM/SIGINT."""
    try:
        settings, opts = options_from(args)
    except ConfigError as exc:
        return print_problems(exc)
    return asyncio.run(_main(args, settings, opts))
