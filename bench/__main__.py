"""`python -m bench`: the benchmark harness (a source checkout's, not shipped in the package)."""

from __future__ import annotations

import argparse
import sys

from bench import cli


def main() -> int:
    """Parse the options and run the chosen phases."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=cli.__doc__)
    cli.add_arguments(parser)
    return cli.run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
