"""`python -m bench --size S|L|TINY [--output DIR]`: build or reuse the dataset, measure, write the JSON.

Uses the project's settings and database (DATABASE_URL, else the embedded
PostgreSQL under .data/); the database must be migrated.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S", type=str.upper, choices=["TINY", "S", "L"])
    parser.add_argument("--output", type=Path, default=None, help="directory for the JSON (default bench/results)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tformance.settings")
    import django

    django.setup()
    from bench.runner import run
    from bench.sizes import SIZES

    run(SIZES[args.size], output_dir=args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
