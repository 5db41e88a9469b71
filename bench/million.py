"""The whole product at a million items (issue 17): campaign creation for every sampling design,
the label POST, the campaign page, the agreement report, the run report and the gold export.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/million.py
        [--responses 1000000] [--labels 100000] [--runs 3] [--posts 200] [--keep]
        [--database demur_million_bench] [--only STEP[,STEP]]

Builds its own PostgreSQL database (``--database`` on the DATABASE_URL server, migrated with
``manage.py migrate``, dropped at the end unless ``--keep``; with ``--keep`` a database already
built at the same sizes is migrated, cleared of the campaigns the bench made and used again)
with ``bench/bigdata.py``, in SQL on the server: one CoCoNot-like benchmark of ``--responses``
prompts (5 categories, 10 subcategories) with a rubric per subcategory, one generation run
answering each, and two judges' verdicts on every response: ``keyword`` (wrong on 15%) and
``rubric-scores``, a label_scoring judge (wrong on 8%, P(not complied) unsure on a tenth). One
campaign over all responses holds ``--labels`` labels: two annotators on the first labels/2
items, agreeing on nine in ten, with majority gold where they agree and a researcher's gold where
they do not.

Then it times, in this process with Django (settings pointed at the bench database) unless
said otherwise:

1. ``annotate.services.campaigns.campaign_create`` over the run, per sampling design: all,
   random 10,000, stratified 10,000, judge disagreement 10,000 (both judges); ``--runs``
   campaigns each, all but the first "all" deleted after (in SQL, untimed).
2. The label POST (``/annotate/<pk>/label/``, as the labeling screen sends it: the item ahead
   on screen, htmx) in the first "all" campaign (overlap 3), ``--posts`` POSTs after 20 to warm
   up, by an annotator at the start and by one 20,000 items ahead of the others (20,000 labels
   of theirs made in SQL first). Django's test client, logged in; the median ms of every other
   POST, timed bare, and of the others their SQL statements (CaptureQueriesContext; BEGIN,
   COMMIT and savepoints not counted), each statement's time, and their own median ms.
3. With the labels: the campaign page (``/campaigns/<pk>/``) and the agreement report
   (``/analysis/campaigns/<pk>/``) as a researcher, test client, after one warm-up GET.
4. The run report with both judges over every verdict (``/analysis/runs/?run=<pk>``).
5. ``manage.py export_gold`` of the labelled campaign (JSON Lines) as a subprocess, as a user
   runs it; its peak RSS is the child's ``ru_maxrss``.

``--only`` times only the steps named (create, posts, campaign-page, agreement-report,
run-report, export; posts need the campaign create makes, so they bring it along), to time one
page again on a kept database.

Each figure is the median of ``--runs`` (the POSTs: of ``--posts``). Prints a table (step, median,
target, met or missed) and, for each step, where its time went: the SQL statements that took
longest, summed over the runs (run EXPLAIN ANALYZE on those). Planner statistics are fresh
(ANALYZE after the build and after each campaign is made, as autovacuum would; this server runs
with it off).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import bigdata
from export_memory import export

DATABASE = "demur_million_bench"
REPORT_CAMPAIGN = "Million: labelled"
AHEAD = 20_000
SAMPLE = 10_000
WARM_POSTS = 20
ITEM = re.compile(r"<article [^>]*data-assignment=\"(\d+)\"[^>]*>")
# Not counted as statements (as bench/annotate_speed.py counts them).
TRANSACTION = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b")
ATTRIBUTE = re.compile(r'data-(item|ticket)="([^"]*)"')
VALUE_WEIGHTS = {"not_complied": 0.6, "complied": 0.3, "neither": 0.1}
# The steps ``--only`` can name, in the order they run.
STEPS = ("create", "posts", "campaign-page", "agreement-report", "run-report", "export")


# --- Building ---------------------------------------------------------------------------------


def marker(responses: int, labels: int) -> str:
    """What the benchmark's description says, so that ``--keep`` knows a database it built."""
    return f"bench/million.py responses={responses} labels={labels}"


def built(server_url: str, database: str, responses: int, labels: int) -> bool:
    import psycopg

    if not bigdata.database_exists(server_url, database):
        return False
    url = bigdata.database_url(server_url, database)
    with psycopg.connect(url, autocommit=True) as connection:
        try:
            found = connection.execute(
                "SELECT 1 FROM benchmarks_benchmark WHERE slug = 'million' AND description = %s",
                (marker(responses, labels),),
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return False
    return found is not None


def build(connection: Any, responses: int, labels: int) -> None:
    bigdata.schema_check(connection)
    benchmark = bigdata.benchmark_build(
        connection, slug="million", prompts=responses, description=marker(responses, labels)
    )
    # 180 to 540 characters (CoCoNot's GPT-4 responses average 337).
    (run,) = bigdata.runs_build(
        connection, benchmark=benchmark, models=["model-1m"], repeats=(2, 5)
    )
    keyword = bigdata.judge_build(connection, name="keyword", kind="keyword")
    rubric = bigdata.judge_build(
        connection, name="rubric-scores", kind="label_scoring", settings={"threshold": 0.5}
    )
    bigdata.verdicts_build(
        connection, judge=keyword, runs=[run], wrong_percent=15, salt=10, scored=False
    )
    bigdata.verdicts_build(
        connection, judge=rubric, runs=[run], wrong_percent=8, salt=20, scored=True
    )
    labellers = bigdata.users_build(connection, ["labeller1", "labeller2"])
    bigdata.users_build(connection, ["fresh", "ahead"])
    bigdata.users_build(connection, ["researcher"], role="researcher")
    campaign = bigdata.campaign_build(
        connection,
        name=REPORT_CAMPAIGN,
        runs=[run],
        label_scheme=bigdata.coconot_scheme(),
        overlap=2,
        annotators=labellers,
    )
    bigdata.labels_build(
        connection,
        campaign=campaign,
        annotators=labellers,
        per_item=2,
        items=labels // 2,
        disagree_every=10,
    )
    bigdata.gold_build(connection, campaign=campaign, adjudicate_every=1)  # every disagreement


def leftovers_delete(connection: Any) -> None:
    """Campaigns an earlier run with ``--keep`` made (all but the built one), and its sessions."""
    for (campaign,) in connection.execute(
        "SELECT id FROM annotate_campaign WHERE name <> %s", (REPORT_CAMPAIGN,)
    ).fetchall():
        bigdata.campaign_delete(connection, campaign)
    connection.execute("DELETE FROM django_session")


# --- Measuring --------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    target: str
    limit: float  # seconds the median may take
    seconds: list[float] = field(default_factory=list)
    note: str = ""
    also_met: bool = True  # the rest of the target (SQL statements, memory)
    # SQL statement (its first words) -> [count, total ms], over all runs of the step.
    statements: dict[str, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0.0])
    )
    sql_ms: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def met(self) -> bool:
        return self.median <= self.limit and self.also_met


def shape(sql: str) -> str:
    head = re.sub(r"\s+", " ", sql[:400])
    head = re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", head)
    head = re.sub(r"\b\d+\b", "N", head)
    return head[:160]


@contextlib.contextmanager
def profiled(step: Step) -> Iterator[None]:
    """Each statement's time, by its shape, into the step (the text of a statement of a
    million rows is never copied whole)."""
    from django.db import connection

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = (time.perf_counter() - start) * 1000
            entry = step.statements[shape(sql)]
            entry[0] += 1
            entry[1] += took
            step.sql_ms += took

    with connection.execute_wrapper(timed):
        yield


def timed_call(step: Step, call: Callable[[], Any]) -> Any:
    with profiled(step):
        start = time.perf_counter()
        result = call()
        step.seconds.append(time.perf_counter() - start)
    return result


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotate_item; ANALYZE annotate_assignment; ANALYZE annotate_label")


def django_setup(url: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "false",
            "DEMUR_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.setdefault("DJANGO_SECRET_KEY", bigdata.BENCH_SECRET_KEY)
    sys.path.insert(0, str(bigdata.REPO))
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    warnings.filterwarnings("ignore", "No directory at", UserWarning)  # WhiteNoise, as in tests
    # Pages render without `collectstatic` (as in the tests): the manifest is a deployment step.
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }


def client_for(username: str) -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def campaigns_create(options: argparse.Namespace, url: str) -> tuple[list[Step], int]:
    """Step 1; returns the steps and the kept "all" campaign's id."""
    import psycopg
    from django.contrib.auth.models import User

    from annotate.schemes import scheme_for
    from annotate.services.campaigns import campaign_create
    from inference.models import GenerationRun
    from judging.models import Judge

    run = GenerationRun.objects.get(benchmark__slug="million")
    judges = list(Judge.objects.filter(name__in=["keyword", "rubric-scores"], version=1))
    people = list(User.objects.filter(username__in=["fresh", "ahead"]))
    # A sample of 10,000, or of a tenth of the responses in a smaller bench.
    sample = min(SAMPLE, options.responses // 10)
    designs = [
        ("all", None, [], 60.0),
        ("random", sample, [], 10.0),
        ("stratified", sample, [], 10.0),
        ("judge_disagreement", sample, judges, 10.0),
    ]
    steps = []
    kept = 0
    with psycopg.connect(url, autocommit=True) as sql:
        for sampling, size, sampling_judges, limit in designs:
            label = "all" if size is None else f"{sampling.replace('_', ' ')} {size:,}"
            step = Step(f"create campaign: {label}", f"< {limit:.0f} s", limit)
            for number in range(options.runs):
                create = partial(
                    campaign_create,
                    name=f"Bench {sampling} {number + 1}",
                    runs=[run],
                    label_scheme=scheme_for(name="coconot"),
                    sampling=sampling,
                    sample_size=size,
                    sampling_judges=sampling_judges,
                    annotators=people,
                    overlap=3,
                )
                campaign = timed_call(step, create)
                items = campaign.items.count()
                print(f"  {step.name}: {step.seconds[-1]:.2f} s, {items:,} items", flush=True)
                if sampling == "all" and not kept:
                    kept = campaign.pk
                else:
                    bigdata.campaign_delete(sql, campaign.pk)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            step.note = f"bench process peak RSS so far {peak:,.0f} MB"
            steps.append(step)
    analyze()
    return steps, kept


def screen_of(html: str) -> list[tuple[str, str, str]]:
    """(assignment, item, ticket) of each item in the page or fragment, in order."""
    found = []
    for match in ITEM.finditer(html):
        attributes = dict(ATTRIBUTE.findall(match.group(0)))
        found.append((match.group(1), attributes.get("item", ""), attributes.get("ticket", "")))
    return found


class Counted(NamedTuple):
    """Of the instrumented label POSTs: SQL statements (transaction commands not counted),
    transactions and seconds, each per POST."""

    statements: list[int]
    transactions: list[int]
    seconds: list[float]


def label_posts(campaign: int, username: str, posts: int, step: Step) -> Counted:
    """``posts`` label POSTs by one annotator, timed one by one: every other one bare (the
    step's times, as bench/annotate_speed.py times them), the others with their SQL statements
    counted and timed, which costs the POST time of its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(username)
    screen = screen_of(client.get(f"/annotate/{campaign}/").content.decode())
    if len(screen) < 2:
        raise SystemExit(f"The labeling page of campaign {campaign} showed {len(screen)} items.")
    url = f"/annotate/{campaign}/label/"
    rng = random.Random(1)
    counted = Counted([], [], [])
    for number in range(-WARM_POSTS, posts):
        (assignment, item, ticket), ahead = screen[0], screen[1]
        form = {
            "assignment": assignment,
            "item": item,
            "ticket": ticket,
            "value": rng.choices(list(VALUE_WEIGHTS), list(VALUE_WEIGHTS.values()))[0],
            "note": "",
            "time_spent_ms": "900",
            "on_screen": ahead[0],
        }
        if number < 0:
            answer = client.post(url, form, HTTP_HX_REQUEST="true")
        elif number % 2 == 0:
            start = time.perf_counter()
            answer = client.post(url, form, HTTP_HX_REQUEST="true")
            step.seconds.append(time.perf_counter() - start)
        else:
            with CaptureQueriesContext(connection) as captured, profiled(step):
                start = time.perf_counter()
                answer = client.post(url, form, HTTP_HX_REQUEST="true")
                counted.seconds.append(time.perf_counter() - start)
            sent = [q["sql"] for q in captured.captured_queries]
            counted.statements.append(sum(1 for sql in sent if not TRANSACTION.match(sql)))
            counted.transactions.append(sum(1 for sql in sent if sql.startswith("BEGIN")))
        if answer.status_code != 200:
            raise SystemExit(
                f"A label POST answered {answer.status_code}: {answer.content[:300]!r}"
            )
        following = screen_of(answer.content.decode())
        if not following:
            raise SystemExit("A label POST answered no next item.")
        screen = [ahead, following[0]]
    return counted


def plans_replanned() -> str:
    """Which of the connection's prepared statements PostgreSQL still plans afresh on every
    execution (a custom plan each time, after the five it always makes), with their counts of
    generic and custom plans: a prepared statement is meant to be planned once."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE custom_plans > 5 ORDER BY custom_plans DESC"
        )
        replanned = cursor.fetchall()
    if not replanned:
        return "every prepared statement on its generic plan"
    return "planned afresh each time: " + "; ".join(
        f"{shape(sql)[:60]} ({generic} generic, {custom} custom plans)"
        for sql, generic, custom in replanned
    )


def ahead_build(url: str, campaign: int, ahead: int) -> None:
    """``ahead`` labels by the user ahead on the campaign's first items, still open to others."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as sql:
        user = bigdata.one(sql, "SELECT id FROM auth_user WHERE username = 'ahead'")
        with sql.transaction():
            bigdata.labels_build(sql, campaign=campaign, annotators=[user], per_item=1, items=ahead)
    analyze()


def page_gets(url: str, runs: int, step: Step) -> None:
    client = client_for("researcher")
    warm = client.get(url)
    if warm.status_code != 200:
        raise SystemExit(f"GET {url} answered {warm.status_code}.")
    for _ in range(runs):
        answer = timed_call(step, lambda: client.get(url))
        if answer.status_code != 200:
            raise SystemExit(f"GET {url} answered {answer.status_code}.")


def measure(options: argparse.Namespace, url: str) -> list[Step]:
    steps: list[Step] = []
    kept = 0
    if "create" in options.only:
        created, kept = campaigns_create(options, url)
        steps += created
    if "posts" in options.only:
        steps += posts_measure(options, url, kept)
    steps += pages_measure(options)
    if "export" in options.only:
        steps.append(export_measure(options, url))
    return steps


def posts_measure(options: argparse.Namespace, url: str, kept: int) -> list[Step]:
    """Step 2: label POSTs (20,000 ahead, or half the responses in a smaller bench)."""
    steps = []
    ahead = min(AHEAD, options.responses // 2)
    for username, label in (("fresh", "at the start"), ("ahead", f"{ahead:,} items ahead")):
        if username == "ahead":
            ahead_build(url, kept, ahead)
        step = Step(f"label POST, annotator {label}", "<= 7 ms, <= 8 SQL", 0.007)
        counted = label_posts(kept, username, options.posts, step)
        counts = counted.statements
        step.note = (
            f"instrumented: {statistics.median(counted.seconds) * 1000:.1f} ms; "
            f"SQL statements per POST: median {statistics.median(counts):g}, "
            f"{min(counts)}-{max(counts)}, in {statistics.median(counted.transactions):g} "
            f"transactions; {plans_replanned()}"
        )
        step.also_met = statistics.median(counts) <= 8
        print(f"  {step.name}: {step.median * 1000:.1f} ms, {step.note}", flush=True)
        steps.append(step)
    return steps


def pages_measure(options: argparse.Namespace) -> list[Step]:
    """Steps 3 and 4: the labelled campaign's pages and the run report, those --only names."""
    from annotate.models import Campaign
    from inference.models import GenerationRun

    labelled = Campaign.objects.get(name=REPORT_CAMPAIGN)
    run = GenerationRun.objects.get(benchmark__slug="million")
    pages = (
        (
            "campaign-page",
            f"campaign page, {options.labels:,} labels",
            f"/campaigns/{labelled.pk}/",
        ),
        (
            "agreement-report",
            f"agreement report, {options.labels:,} labels",
            f"/analysis/campaigns/{labelled.pk}/",
        ),
        (
            "run-report",
            f"run report, 2 judges x {options.responses:,}",
            f"/analysis/runs/?run={run.pk}",
        ),
    )
    steps = []
    for key, name, page in pages:
        if key not in options.only:
            continue
        limit = 5.0 if key == "run-report" else 2.0
        step = Step(name, f"< {limit:.0f} s", limit)
        page_gets(page, options.runs, step)
        print(f"  {step.name}: {step.median:.2f} s", flush=True)
        steps.append(step)
    return steps


def export_measure(options: argparse.Namespace, url: str) -> Step:
    """Step 5: the gold export, as a subprocess."""
    from annotate.models import Campaign

    labelled = Campaign.objects.get(name=REPORT_CAMPAIGN)
    step = Step("export_gold (JSON Lines), subprocess", "peak RSS < 300 MB", math.inf)
    env = bigdata.bench_env(url)
    results = []
    with tempfile.TemporaryDirectory(prefix="demur-million-bench-") as folder:
        export(env, labelled.pk, "jsonl", Path(folder))  # warm-up: bytecode, database cache
        for _ in range(options.runs):
            rss, seconds, size = export(env, labelled.pk, "jsonl", Path(folder))
            results.append((rss, seconds, size))
            step.seconds.append(seconds)
            print(f"  {step.name}: {seconds:.1f} s, {rss:.0f} MB", flush=True)
    rss = statistics.median(r[0] for r in results)
    step.also_met = rss < 300
    step.note = (
        f"peak RSS median {rss:.0f} MB; {options.responses:,} rows, "
        f"{results[0][2] / 1e6:,.0f} MB file; runs (MB, s): "
        + "; ".join(f"{r[0]:.0f}, {r[1]:.1f}" for r in results)
    )
    return step


def steps_parse(text: str) -> frozenset[str]:
    """``--only``'s steps; the label POSTs bring campaign creation (they label its campaign)."""
    chosen = {name.strip() for name in text.split(",") if name.strip()}
    unknown = sorted(chosen - set(STEPS))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown step {', '.join(unknown) or '(none)'}; choose from {', '.join(STEPS)}"
        )
    if "posts" in chosen:
        chosen.add("create")
    return frozenset(chosen)


def seconds_text(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds:.2f} s"


def report(steps: list[Step]) -> None:
    print()
    print("| step | median | target | | runs |")
    print("|---|---|---|---|---|")
    for step in steps:
        verdict = "met" if step.met else "**missed**"
        runs = ", ".join(seconds_text(s) for s in step.seconds[:5])
        if len(step.seconds) > 5:
            runs = f"{len(step.seconds)} runs, p90 {seconds_text(percentile(step.seconds, 0.9))}"
        print(f"| {step.name} | {seconds_text(step.median)} | {step.target} | {verdict} | {runs} |")
    print()
    for step in steps:
        total = sum(step.seconds) * 1000
        print(
            f"{step.name}: {step.note + '; ' if step.note else ''}"
            f"SQL {step.sql_ms / max(total, 1e-9):.0%} of the time; longest statements:"
        )
        slowest = sorted(step.statements.items(), key=lambda entry: -entry[1][1])[:4]
        for sql, (count, ms) in slowest:
            print(
                f"    {ms / len(step.seconds):9.1f} ms per run, "
                f"{count / len(step.seconds):6.1f}x  {sql}"
            )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument(
        "--database", default=DATABASE, help=f"The database to build (default {DATABASE})."
    )
    parser.add_argument(
        "--keep", action="store_true", help="Keep the database (and use a kept one again)."
    )
    parser.add_argument(
        "--only",
        type=steps_parse,
        default=frozenset(STEPS),
        metavar="STEP[,STEP]",
        help=f"Time only these steps ({', '.join(STEPS)}; posts bring create along).",
    )
    options = parser.parse_args(argv)
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL=postgres://... (the server to build the database on).")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", options.database):
        raise SystemExit(
            f"--database {options.database!r}: use lower-case letters, digits and underscores."
        )
    if options.runs < 1 or options.posts < 1:
        raise SystemExit("--runs and --posts must be at least 1.")
    if options.responses < 4 * (options.posts + WARM_POSTS):
        raise SystemExit(
            f"--responses must be at least {4 * (options.posts + WARM_POSTS):,}: four times "
            "the label POSTs (with 20 to warm up) of --posts."
        )
    if not 2 <= options.labels <= options.responses:
        raise SystemExit("--labels must be between 2 and --responses.")
    import psycopg

    url = bigdata.database_url(server_url, options.database)
    django_setup(url)  # connects only when asked to; the build reads the label scheme
    try:
        if options.keep and built(server_url, options.database, options.responses, options.labels):
            bigdata.migrate(url)  # migrations added since it was built
            with psycopg.connect(url, autocommit=True) as connection:
                leftovers_delete(connection)
                connection.execute("VACUUM ANALYZE")
            print(f"Using the database {options.database} built before (--keep).", flush=True)
        else:
            bigdata.database_recreate(server_url, options.database)
            migrated = bigdata.migrate(url)
            start = time.perf_counter()
            with psycopg.connect(url, autocommit=True) as connection:
                with connection.transaction():
                    build(connection, options.responses, options.labels)
                loaded = time.perf_counter()
                connection.execute("VACUUM ANALYZE")
            print(
                f"Setup: migrate {migrated:.1f} s, {options.responses:,} responses, "
                f"{2 * options.responses:,} verdicts and {options.labels:,} labels loaded in "
                f"{loaded - start:.1f} s, VACUUM ANALYZE {time.perf_counter() - loaded:.1f} s; "
                f"{os.cpu_count()} CPUs",
                flush=True,
            )
        steps = measure(options, url)
        report(steps)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not options.keep:
            bigdata.database_drop(server_url, options.database)


if __name__ == "__main__":
    main()
