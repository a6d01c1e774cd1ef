"""Quix Streams on the Kafka benchmark's topic: the peer a team would pick instead.

Two jobs, each in its own process (same python), each in a fresh consumer group
reading the whole topic from the start:

- ``pass``: an empty StreamingDataFrame (consume + JSON deserialize): Quix's ceiling.
- ``stateful``: the same lag rule as FirstCall (3 of a session's last 5 stats
  intervals degraded) as a stateful ``apply`` keyed by session_id, in Quix's
  default RocksDB state (with its changelog topic), emitting one detection
  (session_id, started_at) to an output topic when a lag opens.

Rate = processed messages per second from the first processed message until
``app.run()`` returned after the last one (the final checkpoint: RocksDB write
and changelog flush, included). The group join (about 20 s on tansu with
confluent-kafka) is not counted. Run ``python -m bench.quix_bench --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from typing import Any

from detectors.config import DetectionConfig

CFG = DetectionConfig()
IDLE_S = 60.0  # the child stops if no message arrives for this long after its join
WINDOW = CFG.lag_window
NEED = CFG.lag_min_degraded


def available() -> bool:
    """True if quixstreams can be imported (it is in the `bench` extra only)."""
    return importlib.util.find_spec("quixstreams") is not None


def degraded(v: dict[str, Any]) -> bool:
    """The contract's degraded-interval rule (same thresholds as detectors/lag.py)."""
    iv = v["interval_ms"]
    return bool(
        v["freeze_ms"] >= CFG.freeze_share * iv
        or v["audio_stall_ms"] >= CFG.audio_stall_share * iv
        or (v["fps"] < CFG.min_fps and v["recv_kbps"] > 0)
        or v["loss_pct"] > CFG.max_loss_pct
        or v["rtt_ms"] > CFG.max_rtt_ms
    )


def detect(value: dict[str, Any], state: Any) -> dict[str, Any] | None:
    """Stateful lag rule for one session's event; a detection when a lag opens, else None."""
    kind = value.get("type")
    if kind == "leave":
        state.delete("lag")  # a leave closes any lag and resets the window
        return None
    if kind != "stats":
        return None
    ts = value["ts"]
    # [open, last_ts, [start, flag], ...]: the session's last WINDOW intervals
    st = state.get("lag") or [False, 0]
    if ts <= st[1]:
        return None  # duplicate or late (the bench and test data are in order)
    iv = value["interval_ms"]
    st[1] = ts
    st.append([ts - iv, 1 if degraded(value) else 0])
    if len(st) > WINDOW + 2:
        del st[2]
    n_bad = sum(e[1] for e in st[2:])
    out = None
    if st[0]:
        if n_bad == 0 and len(st) == WINDOW + 2:
            st[0] = False
    elif n_bad >= NEED:
        st[0] = True
        started = next(e[0] for e in st[2:] if e[1])
        out = {"session_id": value["session_id"], "started_at": started, "detected_at": ts}
    state.set("lag", st)
    return out


def _job(args: argparse.Namespace) -> dict[str, Any]:
    """Run one Quix job in this process until `args.total` messages are processed."""
    from quixstreams import Application  # type: ignore[import-untyped]

    state_dir = tempfile.mkdtemp(prefix="quix-state-")
    done = {"n": 0, "first": 0.0, "last": 0.0, "detections": 0}
    total = args.total

    def processed(topic: str, partition: int, offset: int) -> None:
        done["n"] += 1
        if done["n"] == 1:
            done["first"] = time.perf_counter()
        if done["n"] >= total:
            done["last"] = time.perf_counter()
            app.stop()

    def count(v: dict[str, Any]) -> None:
        done["detections"] += 1

    started = time.perf_counter()
    try:
        app = Application(
            broker_address=args.bootstrap,
            consumer_group=args.group,
            auto_offset_reset="earliest",
            state_dir=state_dir,
            loglevel="WARNING",
            on_message_processed=processed,
        )
        src = app.topic(args.topic, key_deserializer="str", value_deserializer="json")
        sdf = app.dataframe(src)
        if args.mode == "stateful":
            out = app.topic(args.output, key_serializer="str", value_serializer="json")
            sdf = sdf.apply(detect, stateful=True).filter(lambda v: v is not None)
            sdf = sdf.update(count)
            sdf.to_topic(out)
        app.run(timeout=IDLE_S)
        end = time.perf_counter()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    n = int(done["n"])
    if n < total:
        raise RuntimeError(f"quix {args.mode}: {n} of {total} messages (idle {IDLE_S} s)")
    seconds = end - done["first"]
    return {
        "mode": args.mode, "records": n, "seconds": round(seconds, 2),
        "per_s": int((n - 1) / seconds),
        "last_message_s": round(done["last"] - done["first"], 2),
        "join_s": round(done["first"] - started, 1), "detections": int(done["detections"]),
    }  # fmt: skip


async def quix_rate(
    bootstrap: str, topic: str, total: int, mode: str, output: str = "", time_limit: float = 600
) -> dict[str, Any]:
    """Run one Quix job in a fresh process and consumer group; its figures."""
    group = f"quix-{mode}-{uuid.uuid4().hex[:6]}"
    cmd = [
        sys.executable, "-m", "bench.quix_bench", "--bootstrap", bootstrap,
        "--topic", topic, "--total", str(total), "--mode", mode, "--group", group,
        "--output", output,
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), time_limit)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"quix {mode} did not finish in {time_limit} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"quix {mode} failed ({proc.returncode}): {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def firstcall_lag_opens(values: Iterable[bytes]) -> list[tuple[str, int]]:
    """(session_id, started_at) of every lag FirstCall's engine opens on these messages."""
    from monitor.streaming.assembly import replay_records

    recs = replay_records(values)
    return sorted(
        (str(r["session_id"]), int(r["started_at"]))  # type: ignore[call-overload]
        for r in recs
        if r.get("record") == "incident" and r.get("kind") == "lag" and r.get("state") == "open"
    )


async def run_quix(
    bootstrap: str, topic: str, total: int, retention_ms: int,
    values: Iterable[bytes] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Quix pass-through and stateful apply on `topic`; with `values`, FirstCall's lag count."""
    from monitor.streaming.topics import TopicSpec, ensure_topics

    output = f"{topic}.quix-lag-{uuid.uuid4().hex[:6]}"
    keep = {"retention.ms": str(retention_ms), "cleanup.policy": "delete"}
    await ensure_topics(bootstrap, [TopicSpec(output, 4, keep)])
    passthrough = await quix_rate(bootstrap, topic, total, "pass")
    print(f"quix pass-through: {passthrough}", file=sys.stderr)
    stateful = await quix_rate(bootstrap, topic, total, "stateful", output)
    print(f"quix stateful: {stateful}", file=sys.stderr)
    result: dict[str, Any] = {"pass": passthrough, "stateful": stateful, "output": output}
    if values is not None:
        result["firstcall_lag_opens"] = len(firstcall_lag_opens(values))
    return result


def report_rows(quix: dict[str, Any] | None) -> list[str]:
    """The Quix rows of the Kafka benchmark's table (none if Quix was not run)."""
    if not quix:
        return []
    p, s = quix["pass"], quix["stateful"]
    return [
        f"| Quix Streams pass-through (JSON deserialize, no state; its ceiling) "
        f"| {p['per_s']:,} | one run, {p['seconds']} s | | |",
        f"| Quix Streams stateful `apply` (lag rule, RocksDB state + changelog) "
        f"| {s['per_s']:,} | one run, {s['seconds']} s | | |",
    ]


def report_ratio(quix: dict[str, Any] | None, worker_per_s: int) -> list[str]:
    """The FirstCall / Quix line (and the detections cross-check) of the report."""
    if not quix:
        return []
    s = quix["stateful"]
    ratio = worker_per_s / s["per_s"] if s["per_s"] else float("nan")
    line = f"FirstCall worker (1 process) / Quix stateful apply: **{ratio:.1f}x** (target >= 4x)."
    if "firstcall_lag_opens" in quix:
        line += (f" Lag detections on this topic: Quix {s['detections']:,}, "
                 f"FirstCall's engine {quix['firstcall_lag_opens']:,}.")  # fmt: skip
    return ["", line]


def main() -> int:
    """`python -m bench.quix_bench`: one Quix job; prints its figures as JSON."""
    p = argparse.ArgumentParser(prog="python -m bench.quix_bench")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True, help="input topic (created with retention.ms)")
    p.add_argument("--total", type=int, required=True, help="messages in the topic")
    p.add_argument("--mode", choices=("pass", "stateful"), default="stateful")
    p.add_argument("--group", default=f"quix-{uuid.uuid4().hex[:6]}")
    p.add_argument("--output", default="", help="detections topic (stateful mode)")
    args = p.parse_args()
    if args.mode == "stateful" and not args.output:
        p.error("--output is required in stateful mode")
    print(json.dumps(_job(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
