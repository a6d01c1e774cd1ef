"""`python -m bench.directory_bench`: `firstcall directory import` of a large file, timed.

Writes a CSV of `--rows` guardian rows (two per student, every field valid, plus
`--bad` rows with errors spread through the file), then runs the real command in a
child process per database (a new SQLite file; a new PostgreSQL database, dropped
afterwards) and prints the wall time and the child's peak RSS (`wait4`). Target
(#15.18): 1,000,000 rows in under 60 s and under 500 MB on each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HEADER = ("student_id,student_name,guardian_name,phone,relation,preferred_channel,"
          "language,time_zone,quiet_hours,do_not_call\n")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def write_file(path: Path, rows: int, bad: int) -> None:
    """`rows` valid rows (students of two guardians each) and `bad` invalid ones among them."""
    every = rows // bad if bad else 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(rows):
            sid, who = divmod(i, 2)
            phone = f"+86138{sid % 100_000_000:08d}" if who == 0 else f"+86139{sid:08d}"
            if every and i % every == every - 1:
                phone = "12345"  # not E.164: that student is skipped with --partial
            quiet = "21:00-08:00" if who == 0 else ""
            f.write(f"stu-{sid},Student {sid},Guardian {i},{phone},"
                    f"{'grandmother' if who == 0 else 'father'},call,zh-CN,Asia/Shanghai,"
                    f"{quiet},no\n")


def run_import(path: Path, db: str) -> tuple[float, float, float, int, str]:
    """Wall and CPU seconds, peak RSS (MB), exit code and the last output line of one import.

    CPU is the command's own (user + system), not the PostgreSQL server's.
    """
    cmd = [sys.executable, "-m", "monitor.cli", "directory", "import", str(path),
           "--db", db, "--partial"]
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    out = (child.stdout.read() if child.stdout else b"").decode()
    err = (child.stderr.read() if child.stderr else b"").decode()
    child.returncode = os.waitstatus_to_exitcode(status)
    last = (out.strip().splitlines() or [""])[-1]
    if child.returncode not in (0, 1):
        last = err.strip().splitlines()[-1] if err.strip() else last
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, child.returncode, last


async def _pg(sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """Generate the file, import it into each database, print a Markdown table."""
    p = argparse.ArgumentParser(prog="python -m bench.directory_bench", description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--bad", type=int, default=100, help="invalid rows spread through the file")
    p.add_argument("--backends", default="sqlite,postgres")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fc-dirbench-") as tmp:
        path = Path(tmp) / "directory.csv"
        start = time.perf_counter()
        write_file(path, args.rows, args.bad)
        print(f"file: {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB, "
              f"written in {time.perf_counter() - start:.1f} s", flush=True)
        print("| database | rows | wall s | CPU s | peak RSS MB | exit | output |")
        print("|---|---|---|---|---|---|---|")
        for backend in args.backends.split(","):
            if backend == "sqlite":
                db = str(Path(tmp) / "bench.db")
                result = run_import(path, db)
            else:
                name = f"fc_bench_{uuid.uuid4().hex[:10]}"
                asyncio.run(_pg(f"CREATE DATABASE {name}"))
                try:
                    result = run_import(path, PG_ADMIN.rsplit("/", 1)[0] + "/" + name)
                finally:
                    asyncio.run(_pg(f"DROP DATABASE {name}"))
            wall, cpu, rss, code, last = result
            print(f"| {backend} | {args.rows:,} | {wall:.1f} | {cpu:.1f} | {rss:.0f} | {code} "
                  f"| {last} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
