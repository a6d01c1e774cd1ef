"""The one assembly of detection and decision: decoder, detectors, line correlator, policy.

Used by `firstcall replay` (as fast as the CPU allows, clock = watermark of
event time) and by the demo's in-process bus. The Kafka worker runs the same
objects split across consumer groups.
"""

from __future__ import annotations

from bisect import insort
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from detectors.clock_guard import ReadingClock, arrival_violations, mark_out_of_range
from detectors.config import DetectionConfig
from detectors.engine import SessionEngine
from detectors.findings import Finding
from detectors.line import LineCorrelator
from detectors.line_pressure import LinePressure
from detectors.records import Incident, Outreach, Record
from detectors.telemetry import BadRecord, Event, TelemetryDecoder, iter_lines
from outreach.decide.decision import PolicyConfig
from outreach.decide.policy import FamilyLookup, OutreachPolicy

RecordSink = Callable[[Record], None]
DeadLetterSink = Callable[[BadRecord], None]


def decisions(
    config: PolicyConfig,
    on_outreach: Callable[[Outreach], None],
    pressure: LinePressure,
    family: FamilyLookup | None = None,
) -> OutreachPolicy:
    """The outreach policy as replay, the demo and the Kafka workers all run it.

    The line pressure is required: without it `line_wait_ms` never applies and a
    line outage rings phones (issue 19).
    """
    policy = OutreachPolicy(config, on_outreach)
    policy.line_strains = pressure.strains
    if family is not None:
        policy.family = family
    return policy


@dataclass
class PipelineStats:
    """Counts kept while a pipeline runs."""

    records: int = 0  # telemetry records read, good and bad
    events: int = 0  # records that decoded into events
    events_by_type: Counter[str] = field(default_factory=Counter)
    bad_by_reason: Counter[str] = field(default_factory=Counter)
    incidents_by_kind: Counter[str] = field(default_factory=Counter)
    outreach_by_action: Counter[str] = field(default_factory=Counter)
    suppressed_by_reason: Counter[str] = field(default_factory=Counter)


class Pipeline:
    """Telemetry in, incident and outreach records out, in the order decided."""

    def __init__(
        self,
        on_record: RecordSink,
        detection: DetectionConfig | None = None,
        policy: PolicyConfig | None = None,
        on_bad: DeadLetterSink | None = None,
        family: FamilyLookup | None = None,
        count_types: bool = False,
        policy_lag_ms: int = 0,
    ) -> None:
        self.detection = detection or DetectionConfig()
        self.stats = PipelineStats()
        self._on_record = on_record
        self._on_bad = on_bad
        self._count_types = count_types
        self.decoder = TelemetryDecoder()
        self.pressure = LinePressure(self.detection)
        self.policy = decisions(policy or PolicyConfig(), self._outreach, self.pressure, family)
        self.correlator = LineCorrelator(self.detection, self._incident)
        self.engine = SessionEngine(self.detection, self._incident, self._finding)
        self.clock = ReadingClock(self.detection)  # bounds event time when no arrival is given
        self._held: list[bytes] = []  # a jump that ended a batch, judged with the next one
        self._finishing = False
        self._next_due = 1 << 62
        # Replay runs the policy `lateness_ms` behind the engine, as the workers' runs
        # behind the verdict watermark: an episode detected by a decision's time may be
        # reported later (a silence timer waits out the session's lateness), and the
        # line pressure must count it as the workers' does. Live (demo, desk): 0.
        self.lag_ms = policy_lag_ms
        self._own: deque[tuple[int, Incident]] = deque()

    # sinks -------------------------------------------------------------
    def _incident(self, inc: Incident) -> None:
        if inc.state == "open":
            self.stats.incidents_by_kind[inc.kind] += 1
        self._on_record(inc)
        t = self.engine.now
        flushed = self.correlator.flush_at  # a coalesced update: at its own time, in order
        if flushed is not None and flushed < t:
            t = flushed
            insort(self._own, (t, inc), key=lambda v: v[0])
        else:
            self._own.append((t, inc))
        if t + self.lag_ms < self._next_due:
            self._next_due = t + self.lag_ms

    def _finding(self, f: Finding) -> None:
        self.correlator.feed(f)
        if f.kind == "episode_start":
            for key in f.line_keys:
                size = self.correlator.active_sessions(key)
                self.pressure.add(key, f.ts, f.session_id, f.detected_at, size)

    def _outreach(self, o: Outreach) -> None:
        self.stats.outreach_by_action[o.action] += 1
        if o.action == "none" or o.reason == "covered_by_line_incident":
            self.stats.suppressed_by_reason[o.reason] += 1
        self._on_record(o)

    # input -------------------------------------------------------------
    def feed_raw(self, raws: list[bytes], arrival_ms: int | None = None) -> None:
        """Decode and process a batch of raw telemetry records."""
        engine = self.engine
        stats = self.stats
        by_type = stats.events_by_type if self._count_types else None
        bad = 0
        if self._held:
            raws = [*self._held, *raws]
            self._held = []
        items = self.decoder.decode_batch(raws)
        if arrival_ms is None and self._finishing:
            # The end of input: the jumps still held found nobody to agree with them.
            far = [i for i, ev in enumerate(items) if type(ev) is not BadRecord]
        elif arrival_ms is None:
            before = self.clock.last_session
            far = self.clock.admit(items)
            if far and self.clock.undecided:
                far, raws, items = self._hold(far, raws, items, before)
        else:
            far = arrival_violations(items, [arrival_ms] * len(items), self.detection)
        if far:
            mark_out_of_range(items, far, raws)
        for ev in items:
            if type(ev) is BadRecord:
                bad += 1
                stats.bad_by_reason[ev.reason] += 1
                if self._on_bad is not None:
                    self._on_bad(ev)
                continue
            if by_type is not None:
                by_type[ev.__class__.__name__.lower()] += 1
            engine.feed(ev, arrival_ms)  # type: ignore[arg-type]
            if engine.now >= self._next_due:
                self.tick(engine.now)
        stats.records += len(raws)
        stats.events += len(raws) - bad

    def _hold(self, far: list[int], raws: list[bytes], items: list[Event | BadRecord],
              before: str) -> tuple[list[int], list[bytes], list[Event | BadRecord]]:
        """Keep a jump that ended the batch for the next batch, whose sessions judge it."""
        held = set(self.clock.undecided)
        self._held = [raws[i] for i in sorted(held)]
        keep = [i for i in range(len(raws)) if i not in held]
        index = {old: new for new, old in enumerate(keep)}
        items = [items[i] for i in keep]
        last = next((e for e in reversed(items) if type(e) is not BadRecord), None)
        # What the held records follow is the batch without them.
        self.clock.last_session = before if last is None else last.session_id  # type: ignore[union-attr]
        return [index[i] for i in far if i not in held], [raws[i] for i in keep], items

    def tick(self, now_ms: int) -> None:
        """Advance every clock to `now_ms` (event-time watermark or wall clock)."""
        self.engine.advance(now_ms)
        self.correlator.advance(now_ms)
        self._run_policy(now_ms - self.lag_ms)
        self.clock.observe(now_ms)

    def _run_policy(self, until: int) -> None:
        """Give the policy the incidents up to `until` in event-time order, deciding between."""
        own = self._own
        policy = self.policy
        while own and own[0][0] <= until:
            t, inc = own.popleft()
            policy.advance(t - 1)  # decide what was due before this record
            policy.on_incident(inc)
        policy.advance(until)
        due = min(policy.next_due() + self.lag_ms, self.correlator.next_due())
        if own:
            due = min(due, own[0][0] + self.lag_ms)
        self._next_due = due

    def finish(self) -> None:
        """End of input (a jump still held, nobody left to agree, is out of range); the
        policy catches up with the engine."""
        if self._held:
            self._finishing = True
            self.feed_raw([])
        self.engine.finish()
        self._run_policy(self.engine.now)


def replay_records(lines: Iterable[bytes], detection: DetectionConfig | None = None,
                   policy: PolicyConfig | None = None) -> list[dict[str, object]]:
    """Replay JSON Lines telemetry; returns the contract records in decision order."""
    out: list[dict[str, object]] = []
    detection = detection or DetectionConfig()
    p = Pipeline(lambda r: out.append(r.to_dict()), detection, policy,
                 policy_lag_ms=detection.lateness_ms)
    for batch in iter_lines(lines):
        p.feed_raw(batch)
    p.finish()
    return out
