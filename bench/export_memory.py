"""Peak memory and time of `manage.py export_gold` for a 1,000,000-item campaign, per format.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/export_memory.py
        [--items 1000000] [--small 10000] [--runs 3] [--keep]

Builds its own PostgreSQL database (``demur_export_bench`` on the DATABASE_URL server, migrated
with ``manage.py migrate`` and dropped at the end unless ``--keep``) holding one campaign of
``--items`` items and one of ``--small`` items over the same responses: 4 runs (models) of a
benchmark of items/4 prompts, 3 annotators with 2 labels per item, majority gold where the two
agree and adjudicated gold for some of the rest, one judge's verdict per response. The data is
made by the server (INSERT … SELECT over generate_series, ``bench/bigdata.py``): about 100 s for
a million items on the 2-core machine.

Each export runs as a subprocess, as a user runs it, Python and Django start-up included; its
peak resident memory is the child's ``ru_maxrss`` (``os.wait4`` in a small intermediate
interpreter, since a child inherits the peak of the process that forked it). The small campaign
shows the memory an export needs whatever its size: a flat export uses the same at both sizes.
Prints the median of ``--runs`` runs per format and size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bigdata  # the server-side builder bench/million.py uses too

REPO = bigdata.REPO
DATABASE = "demur_export_bench"
FORMATS = ("jsonl", "csv", "parquet")
RUN_COUNT = 4
ANNOTATORS = 3


def build(connection: Any, items: int, small: int) -> tuple[int, int]:
    """Fill the freshly migrated database; returns the ids of the large and small campaign."""
    bigdata.schema_check(connection)
    benchmark = bigdata.benchmark_build(connection, slug="bench", prompts=-(-items // RUN_COUNT))
    runs = bigdata.runs_build(
        connection,
        benchmark=benchmark,
        models=[f"model-{number}" for number in range(1, RUN_COUNT + 1)],
    )
    users = bigdata.users_build(connection, [f"annotator{n}" for n in range(1, ANNOTATORS + 1)])
    keyword = bigdata.judge_build(connection, name="keyword", kind="keyword")
    bigdata.verdicts_build(
        connection, judge=keyword, runs=runs, wrong_percent=20, salt=10, scored=False
    )
    scheme = bigdata.coconot_scheme()
    made = []
    for name, size in (("Export bench, large", items), ("Export bench, small", small)):
        campaign = bigdata.campaign_build(
            connection,
            name=name,
            runs=runs,
            label_scheme=scheme,
            overlap=2,
            items=size,
            annotators=users,
        )
        # Two labels an item from three annotators in turn; they disagree on every fourth
        # item, where every eighth item has a researcher's gold.
        bigdata.labels_build(
            connection, campaign=campaign, annotators=users, per_item=2, disagree_every=4
        )
        bigdata.gold_build(connection, campaign=campaign, adjudicate_every=8)
        made.append(campaign)
    return made[0], made[1]


# Runs a command and prints its peak RSS (KiB) and wall seconds. A child started by a big
# process inherits that process's peak: Linux carries the high-water mark of the memory it had
# before exec into ru_maxrss. Started by this small interpreter, the command's figure is its own.
MEASURE = """
import os, subprocess, sys, time
start = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, time.perf_counter() - start)
"""


def export(
    env: dict[str, str], campaign_id: int, fmt: str, folder: Path
) -> tuple[float, float, int]:
    """One export as a subprocess: (peak RSS in MB, wall seconds, file size in bytes).
    Deletes the file after."""
    target = folder / f"gold.{fmt}"
    command = [sys.executable, "manage.py", "export_gold", "--campaign", str(campaign_id)]
    command += ["--format", fmt, "-o", str(target)]
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    code, peak, seconds = measured.stdout.split()
    if code != "0":
        raise SystemExit(
            f"export_gold --format {fmt} failed with status {code}: {measured.stderr[-2000:]}"
        )
    size = target.stat().st_size
    target.unlink()
    return int(peak) / 1024, float(seconds), size  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    options = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL=postgres://... (the server to build the database on).")
    import psycopg

    url = bigdata.database_url(server_url, DATABASE)
    env = bigdata.bench_env(url)
    bigdata.database_recreate(server_url, DATABASE)
    try:
        start = time.perf_counter()
        bigdata.migrate(url)
        migrated = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as connection:
            with connection.transaction():
                large, small = build(connection, options.items, options.small)
            connection.execute("VACUUM ANALYZE")
        print(
            f"Setup: migrate {migrated - start:.1f} s, {options.items:,} + {options.small:,} "
            f"items loaded in {time.perf_counter() - migrated:.1f} s; {os.cpu_count()} CPUs"
        )
        results: dict[tuple[int, str], list[tuple[float, float, int]]] = {}
        with tempfile.TemporaryDirectory(prefix="demur-export-bench-") as name:
            folder = Path(name)
            for _ in range(options.runs):
                for count, campaign_id in ((options.small, small), (options.items, large)):
                    for fmt in FORMATS:
                        result = export(env, campaign_id, fmt, folder)
                        results.setdefault((count, fmt), []).append(result)
                        rss, seconds, size = result
                        print(
                            f"  {count:>9,} items {fmt:<8} {rss:6.0f} MB {seconds:7.1f} s "
                            f"{size / 1e6:9.1f} MB file",
                            flush=True,
                        )
        print()
        print("| items | format | peak RSS, median | time, median | rows/s | file | runs (MB, s) |")
        print("|---|---|---|---|---|---|---|")
        for (count, fmt), runs in sorted(results.items()):
            rss = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            listed = "; ".join(f"{r[0]:.0f}, {r[1]:.1f}" for r in runs)
            print(
                f"| {count:,} | {fmt} | {rss:.0f} MB | {wall:.1f} s | {count / wall:,.0f} | "
                f"{runs[0][2] / 1e6:,.0f} MB | {listed} |"
            )
    finally:
        if not options.keep:
            bigdata.database_drop(server_url, DATABASE)


if __name__ == "__main__":
    main()
