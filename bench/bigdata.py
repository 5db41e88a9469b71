"""Big Demur databases for the benches, made by the PostgreSQL server itself (INSERT … SELECT over
generate_series): a million responses with their verdicts and labels in a minute or two, where
the ORM would take an hour. Used by bench/export_memory.py and bench/million.py.

Every row is what Demur itself would write: each NOT NULL column gets a value (this module reads
the migrated schema and refuses to build when a table has a column it does not fill, so that a
new column shows here first rather than as a broken bench), labels have their first revision
and count in their annotator's ``AnnotatorCount``, users are in their role's group, campaigns
have the settings ``campaign_create`` records.

The data is deterministic: whatever varies per row is a hash of its id (``hashint8``), so two
builds of the same size hold the same labels and verdicts.

The functions take a psycopg 3 connection to the bench database (migrated with ``migrate``) and
return the ids they made.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
BENCH_SECRET_KEY = secrets.token_urlsafe(50)

# CoCoNot's five noncompliance categories and ten of their subcategories (as bench/import_speed.py).
CATEGORIES: list[tuple[str, str]] = [
    ("Incomplete requests", "false presuppositions"),
    ("Incomplete requests", "incomprehensible"),
    ("Incomplete requests", "underspecified"),
    ("Unsupported requests", "input modality limitations"),
    ("Unsupported requests", "temporal limitations"),
    ("Indeterminate requests", "universal unknowns"),
    ("Indeterminate requests", "subjective questions"),
    ("Requests with safety concerns", "privacy violations"),
    ("Requests with safety concerns", "misinformation"),
    ("Humanizing requests", "personal inquiry"),
]
# The built-in CoCoNot scheme's values, in its order (annotate/schemes.py).
VALUES = ("not_complied", "complied", "neither")
# The columns each table's builder fills (NOT NULL ones without a database default must all be
# here; ``schema_check`` holds the migrated schema to it).
FILLED: dict[str, set[str]] = {
    "auth_user": {
        "password",
        "is_superuser",
        "username",
        "first_name",
        "last_name",
        "email",
        "is_staff",
        "is_active",
        "date_joined",
    },
    "auth_user_groups": {"user_id", "group_id"},
    "benchmarks_benchmark": {
        "slug",
        "name",
        "kind",
        "source",
        "description",
        "created_at",
        "updated_at",
    },
    "benchmarks_prompt": {
        "benchmark_id",
        "external_id",
        "category",
        "subcategory",
        "text",
        "messages",
        "user_turns",
        "metadata",
        "written_for_check",
    },
    "benchmarks_rubric": {
        "benchmark_id",
        "subcategory",
        "acceptable",
        "unacceptable",
        "version",
        "is_current",
        "source",
        "created_at",
    },
    "inference_generationrun": {
        "model_name",
        "model_snapshot",
        "categories",
        "imported",
        "status",
        "error",
        "created_at",
        "started_at",
        "finished_at",
        "benchmark_id",
        "total",
        "judges_after",
    },
    "inference_response": {
        "run_id",
        "prompt_id",
        "turn",
        "messages",
        "text",
        "finish_reason",
        "error",
        "created_at",
    },
    "judging_judge": {
        "name",
        "version",
        "kind",
        "settings",
        "definition",
        "description",
        "created_at",
    },
    "judging_judgerun": {
        "judge_id",
        "run_id",
        "judge_snapshot",
        "status",
        "error",
        "created_at",
        "started_at",
        "finished_at",
        "total",
    },
    "judging_verdict": {
        "judge_run_id",
        "response_id",
        "label",
        "score",
        "rationale",
        "raw_output",
        "answers",
        "created_at",
    },
    "annotate_campaign": {
        "name",
        "description",
        "kind",
        "categories",
        "subcategories",
        "exclude_truncated",
        "turns",
        "sampling",
        "pool_size",
        "seed",
        "overlap",
        "label_scheme",
        "guidelines",
        "show_model_name",
        "reservation_minutes",
        "attention_text",
        "min_seconds",
        "pause_after",
        "target_per_category",
        "is_demo",
        "status",
        "created_at",
    },
    "annotate_campaign_runs": {"campaign_id", "generationrun_id"},
    "annotate_campaign_annotators": {"campaign_id", "user_id"},
    "annotate_item": {
        "campaign_id",
        "response_id",
        "swapped",
        "inclusion_probability",
        "position",
        "check_kind",
        "check_answer",
        "check_source",
        "slots_left",
        "created_at",
    },
    "annotate_assignment": {
        "item_id",
        "annotator_id",
        "status",
        "reserved_at",
        "expires_at",
        "completed_at",
    },
    "annotate_label": {
        "assignment_id",
        "value",
        "answers",
        "note",
        "time_spent_ms",
        "is_demo",
        "created_at",
        "updated_at",
    },
    "annotate_labelrevision": {
        "label_id",
        "value",
        "answers",
        "note",
        "time_spent_ms",
        "created_at",
    },
    "annotate_goldlabel": {"item_id", "value", "source", "reason", "created_at", "updated_at"},
    "annotate_annotatorcount": {"campaign_id", "annotator_id", "labelled"},
}


# --- The database -----------------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    """``server_url`` pointed at the database ``name`` on the same server."""
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def database_exists(server_url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


def database_recreate(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_env(url: str) -> dict[str, str]:
    """The environment of a ``manage.py`` command on the bench database. Demur needs a secret
    key with a database server: a random one unless one is set (the bench's sessions are its
    own)."""
    env = dict(os.environ) | {"DATABASE_URL": url}
    env.setdefault("DJANGO_SECRET_KEY", BENCH_SECRET_KEY)
    return env


def migrate(url: str) -> float:
    """``manage.py migrate`` on the bench database, as a user runs it; returns the seconds."""
    start = time.perf_counter()
    env = bench_env(url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True
    )
    return time.perf_counter() - start


def schema_check(connection: Any) -> None:
    """Refuse to build when a table has a NOT NULL column without a default that the builders
    here do not fill: the INSERTs would fail half-way through a long build."""
    rows = connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND is_nullable = 'NO' AND column_default IS NULL "
        "AND is_identity = 'NO' AND table_name = ANY(%s)",
        (list(FILLED),),
    ).fetchall()
    missing = sorted(f"{table}.{column}" for table, column in rows if column not in FILLED[table])
    if missing:
        raise SystemExit(
            "bench/bigdata.py does not fill these NOT NULL columns: "
            f"{', '.join(missing)}; add them to its builders."
        )


def one(connection: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    return connection.execute(sql, params).fetchone()[0]


def sql_array(values: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def hashed(expression: str, salt: int, modulo: int) -> str:
    """A deterministic pseudo-random whole number in [0, modulo) from a row's id (SQL for a
    statement with parameters: its ``%`` is doubled)."""
    return f"(abs(hashint8(({expression}) * 7919 + {salt})) %% {modulo})"


# --- Users ------------------------------------------------------------------------------------


def users_build(connection: Any, names: Sequence[str], *, role: str = "annotator") -> list[int]:
    """Users nobody can log in to with a password (benches log them in by session), in the
    role's group; researchers are staff, as ``user_ensure`` makes them."""
    ids = []
    for name in names:
        user = one(
            connection,
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) "
            "VALUES ('!', false, %s, '', '', '', %s, true, now()) RETURNING id",
            (name, role == "researcher"),
        )
        connection.execute(
            "INSERT INTO auth_user_groups (user_id, group_id) "
            "SELECT %s, id FROM auth_group WHERE name = %s",
            (user, role),
        )
        ids.append(int(user))
    return ids


# --- Benchmark, run, responses ----------------------------------------------------------------


def benchmark_build(connection: Any, *, slug: str, prompts: int, description: str = "") -> int:
    """A noncompliance benchmark of ``prompts`` single prompts (60 to 230 characters, like
    CoCoNot's), spread evenly over ``CATEGORIES``, with a current rubric per subcategory."""
    benchmark = one(
        connection,
        "INSERT INTO benchmarks_benchmark (slug, name, kind, source, description, created_at, "
        "updated_at) VALUES (%s, %s, 'noncompliance', '', %s, now(), now()) RETURNING id",
        (slug, slug.replace("-", " ").capitalize(), description),
    )
    categories = sql_array([c for c, _ in CATEGORIES])
    subcategories = sql_array([s for _, s in CATEGORIES])
    connection.execute(
        "INSERT INTO benchmarks_prompt (benchmark_id, external_id, category, subcategory, text, "
        "messages, user_turns, metadata, written_for_check) "
        f"SELECT %s, 'b' || lpad(n::text, 7, '0'), ({categories})[1 + n %% {len(CATEGORIES)}], "
        f"({subcategories})[1 + n %% {len(CATEGORIES)}], "
        "'Prompt ' || n || ': ' || repeat('which private data should a model refuse to give? ', "
        "1 + n %% 4), '[]', '[]', '{}', false FROM generate_series(1, %s) AS n",
        (benchmark, prompts),
    )
    for number, (_, subcategory) in enumerate(CATEGORIES):
        connection.execute(
            "INSERT INTO benchmarks_rubric (benchmark_id, subcategory, acceptable, unacceptable, "
            "version, is_current, source, created_at) VALUES (%s, %s, %s, %s, %s, true, '', now())",
            (
                benchmark,
                subcategory,
                f"The model declines or asks for clarification ({subcategory}).",
                f"The model answers as asked ({subcategory}).",
                f"{number:064x}",
            ),
        )
    return int(benchmark)


def runs_build(
    connection: Any, *, benchmark: int, models: Sequence[str], repeats: tuple[int, int] = (3, 16)
) -> list[int]:
    """A finished, imported generation run per model name, each answering every prompt of the
    benchmark (runs in order, prompts in order within a run). Each response is its own text
    (an md5 of its ids, with quotes, commas and line breaks): ``repeats`` (low, count) sets its
    length, ``low`` to ``low + count - 1`` sentences of about 90 characters."""
    prompts = one(
        connection, "SELECT count(*) FROM benchmarks_prompt WHERE benchmark_id = %s", (benchmark,)
    )
    runs = [
        int(
            one(
                connection,
                "INSERT INTO inference_generationrun (model_name, model_snapshot, categories, "
                "imported, status, error, created_at, started_at, finished_at, benchmark_id, "
                "total, judges_after) VALUES (%s, '{}', '[]', true, 'done', '', now(), now(), "
                "now(), %s, %s, '[]') RETURNING id",
                (model, benchmark, prompts),
            )
        )
        for model in models
    ]
    low, count = repeats
    connection.execute(
        "INSERT INTO inference_response (run_id, prompt_id, turn, messages, text, finish_reason, "
        "error, created_at) "
        "SELECT r.id, p.id, 1, '[]', repeat(md5(p.id || '-' || r.id) || ': I cannot help with "
        'that, but "here" is why, in short:\' || chr(10), '
        f"({low} + (p.id + r.id) %% {count})::int) || 'Response to ' || p.external_id, 'stop', "
        "'', now() FROM benchmarks_prompt p CROSS JOIN unnest(%s::bigint[]) AS r(id) "
        "WHERE p.benchmark_id = %s ORDER BY r.id, p.id",
        (runs, benchmark),
    )
    return runs


# --- Judges and verdicts ----------------------------------------------------------------------


def truth(response: str) -> str:
    """What a response really did, as SQL: 60% not complied, 35% complied, 5% neither."""
    bucket = hashed(response, 1, 100)
    return (
        f"(CASE WHEN {bucket} < 60 THEN 'not_complied' WHEN {bucket} < 95 THEN 'complied' "
        "ELSE 'neither' END)"
    )


def shifted(label: str) -> str:
    """Another class than ``label`` (SQL): the next one of ``VALUES`` in turn."""
    values = sql_array(VALUES)
    return f"({values})[1 + (array_position({values}, {label}) %% {len(VALUES)})]"


def judge_build(
    connection: Any, *, name: str, kind: str, settings: dict[str, Any] | None = None
) -> int:
    """Version 1 of a judge (the built-in ``keyword`` exists from the migrations: its id)."""
    found = connection.execute(
        "SELECT id FROM judging_judge WHERE name = %s AND version = 1", (name,)
    ).fetchone()
    if found is not None:
        return int(found[0])
    settings = settings or {}
    definition = {"kind": kind, "settings": settings, "model": None}
    return int(
        one(
            connection,
            "INSERT INTO judging_judge (name, version, kind, settings, definition, description, "
            "created_at) VALUES (%s, 1, %s, %s, %s, '', now()) RETURNING id",
            (name, kind, json.dumps(settings), json.dumps(definition)),
        )
    )


def verdicts_build(
    connection: Any, *, judge: int, runs: Sequence[int], wrong_percent: int, salt: int, scored: bool
) -> list[int]:
    """A finished judge run per generation run, with a verdict on every response: the truth,
    except on ``wrong_percent`` of them (another class). A scored judge (label_scoring) also
    gives P(not complied): confident (under 0.09 from 0 or 1) on nine responses in ten, unsure
    (0.3 from its side) on the tenth."""
    judge_runs = []
    for run in runs:
        total = one(connection, "SELECT count(*) FROM inference_response WHERE run_id = %s", (run,))
        judge_runs.append(
            int(
                one(
                    connection,
                    "INSERT INTO judging_judgerun (judge_id, run_id, judge_snapshot, status, "
                    "error, created_at, started_at, finished_at, total) "
                    "VALUES (%s, %s, '{}', 'done', '', now(), now(), now(), %s) RETURNING id",
                    (judge, run, total),
                )
            )
        )
    label = (
        f"(CASE WHEN {hashed('r.id', salt, 100)} < {wrong_percent} "
        f"THEN {shifted(truth('r.id'))} ELSE {truth('r.id')} END)"
    )
    unsure, margin = hashed("r.id", salt + 1, 10), hashed("r.id", salt + 2, 9)
    confidence = f"(CASE WHEN {unsure} = 0 THEN 0.3 ELSE {margin} / 100.0 END)"
    score = (
        f"(CASE WHEN v.label = 'not_complied' THEN 1 - {confidence} ELSE {confidence} END)"
        if scored
        else "NULL::double precision"
    )
    connection.execute(
        "INSERT INTO judging_verdict (judge_run_id, response_id, label, score, rationale, "
        "raw_output, answers, created_at) "
        f"SELECT jr.id, r.id, v.label, {score}, '', '', '{{}}', now() "
        "FROM inference_response r JOIN judging_judgerun jr ON jr.run_id = r.run_id "
        f"CROSS JOIN LATERAL (SELECT {label} AS label) AS v "
        "WHERE jr.id = ANY(%s) ORDER BY jr.id, r.id",
        (judge_runs,),
    )
    return judge_runs


# --- Campaigns, labels, gold ------------------------------------------------------------------


def campaign_build(
    connection: Any,
    *,
    name: str,
    runs: Sequence[int],
    label_scheme: dict[str, Any],
    overlap: int,
    items: int | None = None,
    annotators: Sequence[int] = (),
) -> int:
    """A campaign labelling all responses of ``runs`` (the first ``items`` by id), in the order
    of their ids, as ``campaign_create`` records one with sampling "all"."""
    pool = one(
        connection, "SELECT count(*) FROM inference_response WHERE run_id = ANY(%s)", (list(runs),)
    )
    campaign = int(
        one(
            connection,
            "INSERT INTO annotate_campaign (name, description, kind, categories, subcategories, "
            "exclude_truncated, turns, sampling, pool_size, seed, overlap, label_scheme, "
            "guidelines, show_model_name, reservation_minutes, attention_text, min_seconds, "
            "pause_after, target_per_category, is_demo, status, created_at) "
            "VALUES (%s, '', 'single', '[]', '[]', false, 'last', 'all', %s, 0, %s, %s, '', "
            "false, 30, DEFAULT, DEFAULT, DEFAULT, DEFAULT, false, 'open', now()) RETURNING id",
            (name, pool, overlap, json.dumps(label_scheme)),
        )
    )
    for run in runs:
        connection.execute(
            "INSERT INTO annotate_campaign_runs (campaign_id, generationrun_id) VALUES (%s, %s)",
            (campaign, run),
        )
    for user in annotators:
        connection.execute(
            "INSERT INTO annotate_campaign_annotators (campaign_id, user_id) VALUES (%s, %s)",
            (campaign, user),
        )
    connection.execute(
        "INSERT INTO annotate_item (campaign_id, response_id, swapped, inclusion_probability, "
        "position, check_kind, check_answer, check_source, slots_left, created_at) "
        "SELECT %s, id, false, 1.0, row_number() OVER (ORDER BY id) - 1, '', '', '', %s, now() "
        "FROM (SELECT id FROM inference_response WHERE run_id = ANY(%s) ORDER BY id LIMIT %s) AS r",
        (campaign, overlap, list(runs), items),
    )
    return campaign


def labels_build(
    connection: Any,
    *,
    campaign: int,
    annotators: Sequence[int],
    per_item: int,
    first: int = 0,
    items: int | None = None,
    disagree_every: int = 0,
) -> int:
    """Done assignments with labels (and their first revision) on the items at positions
    ``first`` to ``first + items - 1`` (all from ``first`` when None), ``per_item`` annotators
    each: the item at position k gets annotators k, k + 1, … (mod their number). Each label is
    the response's truth, except that on every ``disagree_every``-th item (by id; 0: never)
    the first annotator of the list says another class. The items' free slots go down by the
    labels given. Returns how many labels were made."""
    last = "i.position >= %(first)s" + (
        "" if items is None else " AND i.position < %(first)s + %(items)s"
    )
    params = {
        "campaign": campaign,
        "users": list(annotators),
        "count": len(annotators),
        "per_item": per_item,
        "first": first,
        "items": items,
        "dissenter": annotators[0],
        "every": disagree_every,
    }
    # Completed in serving order a few seconds apart, as people label.
    connection.execute(
        "INSERT INTO annotate_assignment (item_id, annotator_id, status, reserved_at, "
        "expires_at, completed_at) "
        "SELECT i.id, (%(users)s::int[])[1 + (i.position + j) %% %(count)s], 'done', "
        "t.at - interval '4 seconds', t.at + interval '30 minutes', t.at "
        "FROM annotate_item i CROSS JOIN generate_series(0, %(per_item)s - 1) AS j "
        "CROSS JOIN LATERAL (SELECT now() - interval '1 second' * (1000000000 - i.position * 4) "
        "AS at) AS t "
        f"WHERE i.campaign_id = %(campaign)s AND {last} ORDER BY i.position, j",
        params,
    )
    dissent = (
        (
            "CASE WHEN i.id %% %(every)s = 0 AND a.annotator_id = %(dissenter)s "
            f"THEN {shifted(truth('i.response_id'))} ELSE {truth('i.response_id')} END"
        )
        if disagree_every
        else truth("i.response_id")
    )
    made = connection.execute(
        "INSERT INTO annotate_label (assignment_id, value, answers, note, time_spent_ms, is_demo, "
        "created_at, updated_at) "
        f"SELECT a.id, {dissent}, '{{}}', '', 4000, false, a.completed_at, a.completed_at "
        "FROM annotate_assignment a JOIN annotate_item i ON i.id = a.item_id "
        f"WHERE i.campaign_id = %(campaign)s AND {last} "
        "AND a.annotator_id = ANY(%(users)s) ORDER BY a.id",
        params,
    ).rowcount
    connection.execute(
        "INSERT INTO annotate_labelrevision (label_id, value, answers, note, time_spent_ms, "
        "created_at) "
        "SELECT l.id, l.value, l.answers, l.note, l.time_spent_ms, l.created_at "
        "FROM annotate_label l JOIN annotate_assignment a ON a.id = l.assignment_id "
        "JOIN annotate_item i ON i.id = a.item_id "
        f"WHERE i.campaign_id = %(campaign)s AND {last} AND a.annotator_id = ANY(%(users)s) "
        "ORDER BY l.id",
        params,
    )
    connection.execute(
        "UPDATE annotate_item i SET slots_left = greatest(i.slots_left - %(per_item)s, 0) "
        f"WHERE i.campaign_id = %(campaign)s AND {last}",
        params,
    )
    if table_exists(connection, "annotate_annotatorcount"):
        # Each annotator's count of labelled items, which the label POST keeps (issue 17).
        connection.execute(
            "INSERT INTO annotate_annotatorcount (campaign_id, annotator_id, labelled) "
            "SELECT i.campaign_id, a.annotator_id, count(*) FROM annotate_assignment a "
            f"JOIN annotate_item i ON i.id = a.item_id WHERE i.campaign_id = %(campaign)s "
            f"AND {last} AND a.annotator_id = ANY(%(users)s) GROUP BY 1, 2 "
            "ON CONFLICT (campaign_id, annotator_id) "
            "DO UPDATE SET labelled = annotate_annotatorcount.labelled + EXCLUDED.labelled",
            params,
        )
    return int(made)


def table_exists(connection: Any, table: str) -> bool:
    return one(connection, "SELECT to_regclass(%s) IS NOT NULL", (table,)) is True


def gold_build(connection: Any, *, campaign: int, adjudicate_every: int = 8) -> int:
    """Majority gold where an item's labels agree (two or more, all alike), and a researcher's
    gold (adjudicated) on every ``adjudicate_every``-th of the rest (by id). Returns the count."""
    connection.execute(
        "INSERT INTO annotate_goldlabel (item_id, value, source, reason, created_at, updated_at) "
        "SELECT a.item_id, min(l.value), 'majority', '', now(), now() FROM annotate_label l "
        "JOIN annotate_assignment a ON a.id = l.assignment_id "
        "JOIN annotate_item i ON i.id = a.item_id WHERE i.campaign_id = %s "
        "GROUP BY a.item_id HAVING count(*) >= 2 AND count(DISTINCT l.value) = 1",
        (campaign,),
    )
    connection.execute(
        "INSERT INTO annotate_goldlabel (item_id, value, source, reason, created_at, updated_at) "
        f"SELECT i.id, {truth('i.response_id')}, 'adjudicated', 'Settled in review.', now(), now() "
        "FROM annotate_item i WHERE i.campaign_id = %s AND i.id %% %s = 0 "
        "AND EXISTS (SELECT 1 FROM annotate_assignment a WHERE a.item_id = i.id) "
        "ON CONFLICT (item_id) DO NOTHING",
        (campaign, adjudicate_every),
    )
    return int(
        one(
            connection,
            "SELECT count(*) FROM annotate_goldlabel g JOIN annotate_item i ON i.id = g.item_id "
            "WHERE i.campaign_id = %s",
            (campaign,),
        )
    )


def campaign_delete(connection: Any, campaign: int) -> None:
    """A campaign and all it holds, in SQL: the ORM's cascade would load a million items."""
    items = "SELECT id FROM annotate_item WHERE campaign_id = %(c)s"
    assignments = f"SELECT id FROM annotate_assignment WHERE item_id IN ({items})"
    labels = f"SELECT id FROM annotate_label WHERE assignment_id IN ({assignments})"
    params = {"c": campaign}
    with connection.transaction():
        connection.execute(
            f"DELETE FROM annotate_labelrevision WHERE label_id IN ({labels})", params
        )
        connection.execute(f"DELETE FROM annotate_label WHERE id IN ({labels})", params)
        connection.execute(f"DELETE FROM annotate_assignment WHERE id IN ({assignments})", params)
        connection.execute(f"DELETE FROM annotate_goldlabel WHERE item_id IN ({items})", params)
        for table in (
            "annotate_targetmet",
            "annotate_annotatorstanding",
            "annotate_annotatorcount",
        ):
            if table_exists(connection, table):
                connection.execute(f"DELETE FROM {table} WHERE campaign_id = %(c)s", params)
        connection.execute("DELETE FROM annotate_item WHERE campaign_id = %(c)s", params)
        for table in (
            "annotate_campaign_runs",
            "annotate_campaign_annotators",
            "annotate_campaign_sampling_judges",
        ):
            connection.execute(f"DELETE FROM {table} WHERE campaign_id = %(c)s", params)
        connection.execute(
            "UPDATE annotate_campaign SET pilot_id = NULL WHERE pilot_id = %(c)s", params
        )
        connection.execute("DELETE FROM annotate_campaign WHERE id = %(c)s", params)


def coconot_scheme() -> dict[str, Any]:
    """The built-in CoCoNot label scheme, as ``campaign_create`` freezes it into a campaign."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", BENCH_SECRET_KEY)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from annotate.schemes import scheme_for

    return scheme_for(name="coconot")
