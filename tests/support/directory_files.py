"""Directory import files for tests: a header, three good rows, and a file writer."""

from __future__ import annotations

from pathlib import Path

HEADER = (
    "student_id,student_name,guardian_name,phone,relation,preferred_channel,"
    "language,time_zone,quiet_hours,do_not_call\n"
)
GOOD = (
    "stu-1,小明,王奶奶,+8613812345678,grandmother,call,zh-CN,Asia/Shanghai,21:00-08:00,no\n"
    "stu-1,小明,王先生,+8613912345678,father,sms,zh-CN,Asia/Shanghai,,\n"
    "stu-2,Amy,Grandpa Joe,+14155550100,grandfather,call,en,America/Los_Angeles,,false\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write `text` to `tmp_path / name` (UTF-8)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
