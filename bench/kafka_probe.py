"""Measuring the processes of a Kafka benchmark run: CPU, memory, metrics, readiness and commits."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def committed_total(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    """Sum of the offsets a consumer group has committed on a topic (0 where none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        got = await admin.list_consumer_group_offsets(group, partitions=tps)
        return sum(max(0, om.offset) for om in got.values())
    finally:
        await admin.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0.0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> int | None:
    """Resident memory of a process in MiB (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_jiffies() -> tuple[int, int, int]:
    """(busy, steal, total) CPU ticks of the whole machine so far (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return (0, 0, 0)
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    steal = fields[7] if len(fields) > 7 else 0
    total = sum(fields[:8])
    return (total - idle - steal, steal, total)


async def read_metrics(port: int) -> str:
    """The text of a process's /metrics page on loopback."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    body = await reader.read()
    writer.close()
    return body.split(b"\r\n\r\n", 1)[-1].decode()


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU counters at one moment of a live run."""

    at: float  # perf_counter seconds
    sent: int
    worker: float  # CPU seconds of the worker process
    generator: float  # CPU seconds of this process (the load generator)
    broker: float  # CPU seconds of the broker (0.0 when its pid is unknown)
    machine: tuple[int, int, int]  # (busy, steal, total) jiffies of the whole machine


def sample(at: float, sent: int, worker_pid: int, broker_pid: int | None) -> CpuSample:
    """The CPU counters of the worker, this process, the broker and the machine now."""
    broker = cpu_seconds(broker_pid) if broker_pid else 0.0
    return CpuSample(at, sent, cpu_seconds(worker_pid), time.process_time(), broker,
                     machine_jiffies())


async def wait_ready(port: int, timeout_s: float) -> None:
    """Wait until a process's /readyz answers 200 (RuntimeError after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            line = await reader.readline()
            writer.close()
            if b" 200 " in line:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("worker not ready")


def histogram_quantiles(text: str, since: str) -> dict[str, str]:
    """p50/p99 upper bucket bounds of the worker's own latency histogram."""
    buckets: list[tuple[float, float]] = []
    for line in text.splitlines():
        name = "firstcall_decision_latency_seconds_bucket"
        if line.startswith(name) and f'since="{since}"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(le), float(line.rsplit(" ", 1)[1])))
    if not buckets or buckets[-1][1] == 0:
        return {}
    total = buckets[-1][1]
    out = {}
    for name, q in (("p50_le_s", 0.5), ("p99_le_s", 0.99)):
        out[name] = next(str(le) for le, c in buckets if c >= q * total)
    out["count"] = str(int(total))
    return out


def worker_cmd(
    bootstrap: str, prefix: str, group: str, clock: str, probe: int, record_path: str = "lean"
) -> list[str]:
    """The command line of one `firstcall worker` process under measurement."""
    return [
        sys.executable, "-m", "monitor.apps.kafka_jobs", "worker", "--bootstrap", bootstrap,
        "--topic-prefix", prefix, "--group", group, "--clock", clock,
        "--probe-port", str(probe), "--probe-host", "127.0.0.1", "--log-level", "WARNING",
        "--no-create-topics", "--record-path", record_path,
    ]  # fmt: skip


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: this one without speed-up switches, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FIRSTCALL_TOPIC_") and k not in ("FIRSTCALL_PURE_PYTHON",
                                                                  "FIRSTCALL_KAFKA_GC_THRESHOLD",
                                                                  "FIRSTCALL_KAFKA_FETCH_HANDOFF")}
    return {**env, **(extra or {})}

