"""Peak memory and time of `manage.py export_gold` for a 1,000,000-item campaign, per format.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/export_memory.py
        [--items 1000000] [--small 10000] [--runs 3] [--keep]

Builds its own PostgreSQL database (``demur_export_bench`` on the DATABASE_URL server, migrated
with ``manage.py migrate`` and dropped at the end unless ``--keep``) holding one campaign of
``--items`` items and one of ``--small`` items over the same responses: 4 runs (models) of a
benchmark of items/4 prompts, 3 annotators with 2 labels per item, majority gold where the two
agree and adjudicated gold for some of the rest, one judge's verdict per response. The data is
made by the server (INSERT … SELECT over generate_series): about 100 s for a million items on
the 2-core machine.

Each export runs as a subprocess, as a user runs it, Python and Django start-up included; its
peak resident memory is the child's ``ru_maxrss`` (``os.wait4``). The small campaign shows the
memory an export needs whatever its size: a flat export uses the same at both sizes. Prints
the median of ``--runs`` runs per format and size.
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
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DATABASE = "demur_export_bench"
FORMATS = ("jsonl", "csv", "parquet")
RUN_COUNT = 4
ANNOTATORS = 3
CATEGORIES = [
    ("Incomplete requests", "false presuppositions"),
    ("Incomplete requests", "underspecified"),
    ("Unsupported requests", "temporal limitations"),
    ("Indeterminate requests", "subjective questions"),
    ("Requests with safety concerns", "privacy violations"),
    ("Requests with safety concerns", "dangerous or sensitive topics"),
    ("Humanizing requests", "personal inquiry"),
]


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def build(connection: Any, items: int, small: int) -> tuple[int, int]:
    """Fill the freshly migrated database; returns the ids of the large and small campaign."""
    prompts = -(-items // RUN_COUNT)
    execute = connection.execute

    def one(sql: str, params: tuple[Any, ...] = ()) -> Any:
        return execute(sql, params).fetchone()[0]

    benchmark = one(
        "INSERT INTO benchmarks_benchmark (slug, name, kind, source, description, created_at, "
        "updated_at) VALUES ('bench', 'Bench', 'noncompliance', '', '', now(), now()) RETURNING id"
    )
    categories = sql_array([c for c, _ in CATEGORIES])
    subcategories = sql_array([s for _, s in CATEGORIES])
    # 60 to 230 characters, like CoCoNot's prompts.
    execute(
        "INSERT INTO benchmarks_prompt (external_id, category, subcategory, text, metadata, "
        "benchmark_id) "
        f"SELECT 'b' || lpad(n::text, 7, '0'), ({categories})[1 + n %% {len(CATEGORIES)}], "
        f"({subcategories})[1 + n %% {len(CATEGORIES)}], "
        "'Prompt ' || n || ': ' || repeat('which private data should a model refuse to give? ', "
        "1 + n %% 4), '{}', %s FROM generate_series(1, %s) AS n",
        (benchmark, prompts),
    )
    runs = [
        one(
            "INSERT INTO inference_generationrun (model_name, model_snapshot, categories, "
            "imported, status, error, created_at, benchmark_id, total, judges_after) "
            "VALUES (%s, '{}', '[]', true, 'done', '', now(), %s, %s, '[]') RETURNING id",
            (f"model-{number}", benchmark, prompts),
        )
        for number in range(1, RUN_COUNT + 1)
    ]
    # 260 to 1,550 characters (900 on average), each text its own (a hash), with quotes,
    # commas and line breaks.
    execute(
        "INSERT INTO inference_response (text, finish_reason, error, created_at, prompt_id, "
        "run_id) "
        "SELECT repeat(md5(p.id || '-' || r.id) || ': I cannot help with that, but \"here\" is "
        "why, in short:' || chr(10), (3 + (p.id + r.id) %% 16)::int) || 'Response to ' || "
        "p.external_id, 'stop', '', now(), p.id, r.id "
        "FROM benchmarks_prompt p CROSS JOIN unnest(%s::bigint[]) AS r(id) "
        "WHERE p.benchmark_id = %s ORDER BY r.id, p.id",
        (runs, benchmark),
    )
    users = [
        one(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) "
            "VALUES ('!', false, %s, '', '', '', false, true, now()) RETURNING id",
            (f"annotator{number}",),
        )
        for number in range(1, ANNOTATORS + 1)
    ]
    judge = one("SELECT id FROM judging_judge WHERE name = 'keyword'")
    for run in runs:
        execute(
            "INSERT INTO judging_judgerun (judge_snapshot, status, error, created_at, judge_id, "
            "run_id, total) VALUES ('{}', 'done', '', now(), %s, %s, %s)",
            (judge, run, prompts),
        )
    execute(
        "INSERT INTO judging_verdict (label, rationale, raw_output, created_at, judge_run_id, "
        "response_id) "
        "SELECT (ARRAY['complied', 'not_complied', 'neither'])[1 + r.id % 3], '', '', now(), "
        "jr.id, r.id FROM inference_response r JOIN judging_judgerun jr ON jr.run_id = r.run_id"
    )
    large = campaign(connection, "Export bench, large", runs, users, items)
    small_campaign = campaign(connection, "Export bench, small", runs, users, small)
    return large, small_campaign


def campaign(connection: Any, name: str, runs: list[int], users: list[int], items: int) -> int:
    execute = connection.execute
    campaign_id = execute(
        "INSERT INTO annotate_campaign (name, description, categories, subcategories, sampling, "
        "seed, overlap, label_scheme, guidelines, show_model_name, reservation_minutes, "
        "is_demo, created_at) VALUES (%s, '', '[]', '[]', 'all', 0, 2, "
        '\'{"name": "CoCoNot", "choices": []}\', \'\', false, 30, false, now()) RETURNING id',
        (name,),
    ).fetchone()[0]
    for run in runs:
        execute(
            "INSERT INTO annotate_campaign_runs (campaign_id, generationrun_id) VALUES (%s, %s)",
            (campaign_id, run),
        )
    execute(
        "INSERT INTO annotate_item (inclusion_probability, position, created_at, campaign_id, "
        "response_id, slots_left) "
        "SELECT 1.0, row_number() OVER (ORDER BY id) - 1, now(), %s, id, 0 "
        "FROM (SELECT id FROM inference_response ORDER BY id LIMIT %s) AS r",
        (campaign_id, items),
    )
    # Item at position k: annotators k % 3 and (k + 1) % 3, each with a label.
    execute(
        "INSERT INTO annotate_assignment (status, reserved_at, expires_at, completed_at, "
        "annotator_id, item_id) "
        "SELECT 'done', now(), now(), now(), (%s::int[])[1 + (i.position + j) %% 3], i.id "
        "FROM annotate_item i CROSS JOIN (VALUES (0), (1)) AS v(j) WHERE i.campaign_id = %s",
        (users, campaign_id),
    )
    # The two labels agree except on every fourth item.
    execute(
        "INSERT INTO annotate_label (value, note, time_spent_ms, is_demo, created_at, "
        "updated_at, assignment_id) "
        "SELECT (ARRAY['complied', 'not_complied', 'neither'])[1 + (i.id + CASE WHEN "
        "i.id %% 4 = 0 AND a.annotator_id = %s THEN 1 ELSE 0 END) %% 3], '', 4000, false, "
        "now(), now(), a.id FROM annotate_assignment a JOIN annotate_item i ON i.id = a.item_id "
        "WHERE i.campaign_id = %s",
        (users[0], campaign_id),
    )
    execute(
        "INSERT INTO annotate_goldlabel (value, source, reason, created_at, updated_at, item_id) "
        "SELECT min(l.value), 'majority', '', now(), now(), a.item_id FROM annotate_label l "
        "JOIN annotate_assignment a ON a.id = l.assignment_id "
        "JOIN annotate_item i ON i.id = a.item_id WHERE i.campaign_id = %s "
        "GROUP BY a.item_id HAVING count(DISTINCT l.value) = 1",
        (campaign_id,),
    )
    execute(
        "INSERT INTO annotate_goldlabel (value, source, reason, created_at, updated_at, item_id) "
        "SELECT 'neither', 'adjudicated', 'Settled in review.', now(), now(), i.id "
        "FROM annotate_item i WHERE i.campaign_id = %s AND i.id %% 8 = 0 "
        "ON CONFLICT (item_id) DO NOTHING",
        (campaign_id,),
    )
    return int(campaign_id)


def export(
    env: dict[str, str], campaign_id: int, fmt: str, folder: Path
) -> tuple[float, float, int]:
    """One export as a subprocess: (peak RSS in MB, wall seconds, file size in bytes).
    Deletes the file after."""
    target = folder / f"gold.{fmt}"
    command = [sys.executable, "manage.py", "export_gold", "--campaign", str(campaign_id)]
    command += ["--format", fmt, "-o", str(target)]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"export_gold --format {fmt} failed with status {process.returncode}")
    size = target.stat().st_size
    target.unlink()
    return usage.ru_maxrss / 1024, seconds, size  # ru_maxrss is in KiB on Linux


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

    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{DATABASE}"))
    env = dict(os.environ) | {"DATABASE_URL": url}
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    try:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True
        )
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
            with psycopg.connect(server_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
