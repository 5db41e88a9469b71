"""How long `import_benchmark` takes for 100,000 prompts, on SQLite and on PostgreSQL.

    .venv/bin/python bench/import_speed.py [--prompts 100000] [--runs 3]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/import_speed.py

Each run imports into a fresh, migrated database (a new SQLite file; a new PostgreSQL database on
the DATABASE_URL server, dropped afterwards) and times the whole command as a user runs it, Python
start-up included; then imports the same file again (0 new) and times that too. Prints the median.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
CATEGORIES = {
    "Incomplete requests": ["false presuppositions", "incomprehensible", "underspecified"],
    "Unsupported requests": ["input modality limitations", "temporal limitations"],
    "Indeterminate requests": ["universal unknowns", "subjective questions"],
    "Requests with safety concerns": ["privacy violations", "misinformation"],
    "Humanizing requests": ["personal inquiry"],
}
WORDS = [
    "the",
    "a",
    "model",
    "answer",
    "should",
    "refuse",
    "when",
    "asked",
    "about",
    "private",
    "data",
    "or",
    "unknowable",
    "facts",
]


def write_benchmark(path: Path, count: int) -> None:
    rng = random.Random(0)
    pairs = [(c, s) for c, subs in CATEGORIES.items() for s in subs]
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            category, subcategory = pairs[number % len(pairs)]
            # CoCoNot's prompts average about 90 characters; these are 60 to 200.
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40))) + "?"
            row = {
                "id": f"b{number:07d}",
                "category": category,
                "subcategory": subcategory,
                "prompt": text,
                "response": "",
            }
            out.write(json.dumps(row) + "\n")


def manage(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def one_run(env: dict[str, str], source: Path) -> tuple[float, float]:
    manage(env, "migrate", "-v", "0")
    command = ("import_benchmark", str(source), "--slug", "bench", "--kind", "noncompliance")
    return manage(env, *command), manage(env, *command)


def sqlite_run(base_env: dict[str, str], source: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in base_env.items() if k != "DATABASE_URL"}
        return one_run(env | {"DEMUR_DATA_DIR": data_dir}, source)


def postgres_run(base_env: dict[str, str], source: Path, server_url: str) -> tuple[float, float]:
    import psycopg

    name = f"demur_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
        return one_run(base_env | {"DATABASE_URL": url}, source)
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(label: str, runs: list[tuple[float, float]], count: int) -> None:
    first = statistics.median(run[0] for run in runs)
    again = statistics.median(run[1] for run in runs)
    print(
        f"{label:<11} {count:>7} prompts: import {first:6.2f} s median "
        f"({', '.join(f'{r[0]:.2f}' for r in runs)}); re-import {again:5.2f} s; "
        f"{count / first:,.0f} prompts/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    env = dict(os.environ)
    server_url = env.get("DATABASE_URL", "")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "bench.jsonl"
        write_benchmark(source, options.prompts)
        print(f"{source.stat().st_size / 1e6:.1f} MB file; {os.cpu_count()} CPUs")
        report("SQLite", [sqlite_run(env, source) for _ in range(options.runs)], options.prompts)
        if server_url.startswith("postgres"):
            runs = [postgres_run(env, source, server_url) for _ in range(options.runs)]
            report("PostgreSQL", runs, options.prompts)
        else:
            print("PostgreSQL  skipped: set DATABASE_URL=postgres://... to measure it")


if __name__ == "__main__":
    main()
