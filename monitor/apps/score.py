"""`firstcall score`: score a replay's records against the simulator's ground truth."""

from __future__ import annotations

import argparse
import gzip
import sys
from collections.abc import Iterator
from typing import Any

import orjson

from monitor.simulate.family_score import family_score
from monitor.simulate.score import score

EPILOG = """\
examples:
  firstcall simulate --out day.jsonl --truth truth.jsonl
  firstcall replay day.jsonl --out records.jsonl
  firstcall score records.jsonl --truth truth.jsonl
  firstcall score records.jsonl --truth truth.jsonl --format json > score.json

Detection: an `open` incident matches a true episode of the same kind and
subject (session or line) starting within --tolerance-ms; recall, precision
and median detection delay per kind. Families (contract 1.1): long problems
answered, drops after chat escalated, chronic families at a technician, and
problem start -> first contact.
"""

MAX_LINE_BYTES = 1 << 20  # a record or truth row is small; a longer line is not one


class ScoreInputError(ValueError):
    """A file that is not JSON Lines of records: names the file and line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `firstcall score`."""
    parser.description = __doc__
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("records", help="incident and outreach records (replay's output; .gz ok)")
    parser.add_argument("--truth", required=True,
                        help="ground-truth episodes (firstcall simulate --truth; .gz ok)")
    parser.add_argument("--tolerance-ms", type=int, default=5000,
                        help="how far a detected start may be from the true one (default 5000)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text report (default) or one JSON object")
    parser.add_argument("--examples", type=int, default=5,
                        help="missed and extra episodes listed in the text report (default 5)")


def read_rows(path: str) -> Iterator[dict[str, Any]]:
    """JSON objects, one a line, from a plain or gzip file; a bad line raises ScoreInputError."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.strip()
            if not line:
                continue
            if len(line) > MAX_LINE_BYTES:
                raise ScoreInputError(
                    f"{path}: line {number} is longer than {MAX_LINE_BYTES} bytes")
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ScoreInputError(f"{path}: line {number} is not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise ScoreInputError(f"{path}: line {number} is not a JSON object")
            yield row


def _check_truth(rows: list[dict[str, Any]], path: str) -> None:
    for number, row in enumerate(rows, start=1):
        if not isinstance(row.get("kind"), str) or not isinstance(row.get("started_at"), int):
            raise ScoreInputError(f"{path}: row {number} is not a truth episode "
                                  "(kind and started_at expected)")


def run(args: argparse.Namespace) -> int:
    """Score; print the report; exit 0, 1 if a file is unreadable, 2 on bad input."""
    try:
        records = list(read_rows(args.records))
        truth = list(read_rows(args.truth))
        _check_truth(truth, args.truth)
        result = score(records, truth, args.tolerance_ms)
        family = family_score(records, truth)
    except OSError as exc:
        print(f"firstcall score: cannot read {exc.filename}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    except ScoreInputError as exc:
        print(f"firstcall score: {exc}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, ValueError) as exc:
        print(f"firstcall score: a record lacks what scoring needs ({exc!r}); "
              "give replay's output and simulate's --truth", file=sys.stderr)
        return 2
    if args.format == "json":
        doc = {**result.as_dict(), "families": family.as_dict()}
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print(result.report(args.examples))
        print("families (contract 1.1):")
        for key, value in family.as_dict().items():
            print(f"  {key}: {value}")
    return 0
