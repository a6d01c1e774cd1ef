"""`firstcall outreach`: the live outreach service (cases, calls, SMS, chat, pages, outcomes).

Reads `support.incidents` and the workers' outreach decisions from Kafka,
carries the decisions out (Twilio for calls and SMS, the chat gateway for the
class app), pages infrastructure for line incidents, and publishes every
case's outcome to `support.outcomes`. Twilio comes from FIRSTCALL_TWILIO_ACCOUNT_SID,
_AUTH_TOKEN, _FROM_NUMBER (and _API_BASE_URL for a proxy or the local stand-in;
plain TWILIO_* names work too); the chat secret from FIRSTCALL_CHAT_SECRET.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from monitor.kafka.settings import KafkaSettings, Topics
from monitor.logging import configure
from outreach.cases.db import DEFAULT_DSN
from outreach.channels.twilio_inbound import DEFAULT_SMS_PATH
from outreach.live import LiveConfig
from outreach.live_chain import Waits
from outreach.live_kafka import DEFAULT_GROUP
from outreach.live_service import ServiceOptions, serve, twilio_from_env


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `firstcall outreach`."""
    env = os.environ.get
    p.add_argument(
        "--db",
        default=env("FIRSTCALL_DB", DEFAULT_DSN),
        help=f"case database DSN or SQLite path (default: $FIRSTCALL_DB or {DEFAULT_DSN})",
    )
    p.add_argument(
        "--bootstrap",
        default=env("FIRSTCALL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        help="Kafka bootstrap servers (env FIRSTCALL_KAFKA_BOOTSTRAP)",
    )
    p.add_argument(
        "--topic-prefix",
        default=env("FIRSTCALL_TOPIC_PREFIX", ""),
        help="prefix for every topic name (env FIRSTCALL_TOPIC_PREFIX)",
    )
    p.add_argument("--group", default=env("FIRSTCALL_OUTREACH_GROUP", DEFAULT_GROUP))
    p.add_argument(
        "--decide",
        action="store_true",
        help="run the outreach policy here instead of reading the workers' decisions",
    )
    p.add_argument(
        "--clock",
        choices=("wall", "event"),
        default=env("FIRSTCALL_CLOCK", "wall"),
        help="with --decide: hold-off on the wall clock (live) or on event time",
    )
    p.add_argument("--callback-host", default=env("FIRSTCALL_CALLBACK_HOST", "0.0.0.0"))
    p.add_argument(
        "--callback-port",
        type=int,
        default=int(env("FIRSTCALL_CALLBACK_PORT", "8090")),
        help="port of the Twilio status-callback app (/twilio/status, /twilio/gather)",
    )
    p.add_argument(
        "--public-url",
        default=env("FIRSTCALL_PUBLIC_BASE_URL"),
        help="the URL Twilio reaches the callback app at (behind a proxy)",
    )
    p.add_argument(
        "--sms-reply-path",
        default=env("FIRSTCALL_SMS_REPLY_PATH", DEFAULT_SMS_PATH),
        help="path of the incoming-SMS webhook on the callback app (Twilio number's "
        "'A message comes in' URL: public URL + this path)",
    )
    p.add_argument("--chat-host", default=env("FIRSTCALL_CHAT_HOST", "0.0.0.0"))
    p.add_argument("--chat-port", type=int, default=int(env("FIRSTCALL_CHAT_PORT", "8765")))
    p.add_argument(
        "--page-url",
        default=env("FIRSTCALL_PAGE_URL"),
        help="webhook that pages infrastructure for line incidents",
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
    p.add_argument("--probe-host", default=env("FIRSTCALL_PROBE_HOST", "0.0.0.0"))
    p.add_argument(
        "--probe-port",
        type=int,
        default=int(env("FIRSTCALL_PROBE_PORT", "0")),
        help="port of /metrics, /healthz, /readyz (0: pick a free one; -1: none)",
    )
    p.add_argument("--log-level", default=env("FIRSTCALL_LOG_LEVEL", "INFO"))


def options_from(args: argparse.Namespace) -> tuple[KafkaSettings, ServiceOptions]:
    """Kafka settings and service options from parsed flags and the environment."""
    settings = KafkaSettings(
        bootstrap=args.bootstrap, topics=Topics.from_env(args.topic_prefix), clock=args.clock
    )
    base = args.public_url or f"http://{args.callback_host}:{args.callback_port}"
    secret = os.environ.get("FIRSTCALL_CHAT_SECRET")
    waits = Waits(args.chat_wait_s, args.call_wait_s, args.sms_wait_s)
    opts = ServiceOptions(
        db=args.db, group=args.group, decide=args.decide, live=LiveConfig(waits),
        callback_host=args.callback_host, callback_port=args.callback_port,
        public_url=args.public_url, sms_reply_path=args.sms_reply_path,
        twilio=twilio_from_env(base.rstrip("/")),
        chat_host=args.chat_host, chat_port=args.chat_port,
        chat_secret=secret.encode() if secret else None, page_url=args.page_url,
        probe_host=args.probe_host, probe_port=args.probe_port,
        close_after_s=args.close_after_s,
    )  # fmt: skip
    return settings, opts


async def _main(args: argparse.Namespace) -> int:
    configure(args.log_level)
    settings, opts = options_from(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, opts, stop)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run `firstcall outreach` until SIGTERM/SIGINT."""
    return asyncio.run(_main(args))
