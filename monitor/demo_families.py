"""The demo's made-up school office: teachers, a family directory, who picks up the phone.

Every simulated student gets one guardian with a Norwegian mobile number in the
directory the case runtime reads (as `firstcall directory import` would put it there);
about half of them do not pick up, which the local Twilio stand-in reports as Twilio
would (`no-answer`). The runtime's waits are production's, shortened by the demo's speed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from monitor.simulate import SimConfig
from monitor.simulate.school import build_school
from outreach.contact.chain import Waits
from outreach.contact.runtime import RuntimeConfig
from outreach.decide.family import Guardian, Student
from outreach.store.directory import DirectoryStore

TEACHERS = ("Ms. Berg", "Mr. Lund", "Ms. Dahl", "Mr. Haugen", "Ms. Strand", "Mr. Moe")
GUARDIANS = (("Grandma", "grandmother"), ("Grandpa", "grandfather"), ("Mum", "mother"),
             ("Dad", "father"))
TIME_ZONE = "Europe/Oslo"
RING_S = 20.0  # simulated seconds a call rings before Twilio reports how it ended


def _index(key: str, n: int) -> int:
    return int(hashlib.blake2b(key.encode(), digest_size=2).hexdigest(), 16) % n


def demo_teacher(classroom_id: str) -> str:
    """A made-up teacher per simulated classroom."""
    return TEACHERS[_index(classroom_id, len(TEACHERS))]


def demo_guardian(student_id: str) -> Guardian:
    """A made-up guardian (Norwegian mobile number, English) per simulated family."""
    digits = int(hashlib.blake2b(student_id.encode(), digest_size=4).hexdigest(), 16) % 10**7
    name, relation = GUARDIANS[_index(student_id, len(GUARDIANS))]
    return Guardian(f"{name} of {student_id}", f"+479{digits:07d}", relation, "call", "en",
                    TIME_ZONE, None, False)


def demo_picks_up(phone: str) -> bool:
    """Whether the family at this number answers our calls (about half do not)."""
    return _index("answers " + phone, 2) == 0


def demo_status(kind: str, to: str) -> str:
    """How the Twilio stand-in ends a demo call (answered or not) or SMS (delivered)."""
    if kind == "Calls":
        return "completed" if demo_picks_up(to) else "no-answer"
    return "delivered"


def demo_students(config: SimConfig) -> list[str]:
    """Every student of the simulated day."""
    return sorted({s.student_id for s in build_school(config).sessions})


async def seed_families(directory: DirectoryStore, student_ids: Iterable[str]) -> int:
    """Put a made-up family for each student into the directory."""
    families = [Student(sid, sid, "en", TIME_ZONE, (demo_guardian(sid),)) for sid in student_ids]
    return await directory.save(families)


def demo_live_config(speed: float) -> RuntimeConfig:
    """Production's waits of the contact chain, `speed` times shorter (simulated time)."""
    w, live = Waits(), RuntimeConfig()
    return RuntimeConfig(Waits(w.chat_s / speed, w.call_s / speed, w.sms_s / speed,
                               w.remedy_s / speed),
                      close_wait_s=live.close_wait_s / speed)
