"""Server time for "label and get the next item" with 1, 10 and 50 annotators, on PostgreSQL.

    .venv/bin/python bench/annotate_speed.py [--items 10000] [--annotators 1,10,50]
        [--requests 2000] [--paced-seconds 40] [--repeats 3] [--workers 3 --threads 1] [--quick]

Builds a fresh database (``--database-url``, dropped and created again at the start, dropped at
the end): one benchmark, a generation run of ``--items`` responses of 1-2 KB, a rubric per
subcategory and the annotators; then serves Demur with the production server (gunicorn, DEBUG off)
and drives it with annotators, each a thread with its own ``requests.Session`` doing what the
labeling screen's JavaScript does: open the page once (the item on screen and the one held
ahead), then POST a label and take the answer, the next item, as the new item ahead. That POST is
the request measured. Every run gets a new campaign of ``--items`` items (overlap 3).

Two modes for each number of annotators:
  closed  no think time: each annotator sends its next label as soon as the answer comes
          (saturation), ``--requests`` labels in all; also gives the throughput.
  paced   like people: each annotator labels about once a second (think time drawn uniformly
          from 0.5 to 1.5 s, counted from the previous label), for ``--paced-seconds``.

Two times per request: the client's round trip (on the same machine, so it includes waiting for
a free server thread and the clients' own CPU share), and the server's time from gunicorn's
access log (``%(D)s``: from the request read by a worker thread to the answer written; waiting in
the accept queue is not in it). Prints p50 and p99 of each, the median of ``--repeats`` runs.

After each run it checks in SQL that no item has more labels than the overlap, that no
(item, annotator) pair repeats and that every item's free slots add up, and prints the counts.
Queries per label POST are counted once in-process (Django's test client,
CaptureQueriesContext), with the time each query and each step of the view takes when nothing
else runs. Each row also says where the machine's CPU went during its runs (gunicorn, the bench
database's PostgreSQL backends, the clients, other work), since clients and server share it.
Planner statistics are refreshed (ANALYZE) after each campaign is created, as autovacuum would.

Stop it with Ctrl-C (or SIGTERM): gunicorn and the clients stop and the database is dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
import requests
from import_speed import CATEGORIES  # the same CoCoNot-like categories as the import bench

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/demur_bench"
OVERLAP = 3
VALUES = ("not_complied", "complied", "neither")
# Annotators agree more often than chance: most items end unanimous (a gold label), some not.
VALUE_WEIGHTS = (0.6, 0.3, 0.1)
PROSE_TEXT = (
    "I cannot help with that request because it asks for private information about a person, "
    "but here is some general guidance: the model answers questions about history, science, "
    "recipes and travel with careful detail and examples, since users often need clear steps. "
    "Here is a short overview, followed by a list of sources, caveats, numbers, dates and names "
    "of places, and a summary at the end. Photosynthesis converts light into chemical energy."
)
PROSE = PROSE_TEXT.split()
ITEM = re.compile(r'<article class="item" data-assignment="(\d+)" data-item="(\d+)"')
CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
LOG_LINE = re.compile(r"^POST /annotate/(\d+)/label/ (\d{3}) (\d+)$")


# --- Database and data -------------------------------------------------------------------------


def database_recreate(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"Unusable database name {name!r}.")
    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    with contextlib.suppress(Exception):  # Django may not be set up yet
        from django.db import connections

        connections.close_all()
    name = urlsplit(url).path.lstrip("/")
    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup(url: str, work: Path, redis_url: str = "") -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            # The cache (sessions, the progress bar's count) as deployed: Redis; without one,
            # files under the data folder, as the embedded demo has it.
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_DEBUG": "false",
            "DJANGO_STATIC_ROOT": str(work / "static"),
            "DEMUR_DATA_DIR": str(work / "data"),
            "DEMUR_LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Setup only: the annotators log in through sessions made here, never with a password, so a
    # fast hasher saves PBKDF2's half second per user without touching what is measured.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest DEBUG-off needs


def prose(rng: random.Random, low: int, high: int) -> str:
    size = rng.randint(low, high)
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(PROSE)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)


def data_create(items: int, annotators: int) -> tuple[Any, list[Any], float]:
    """The generation run to campaign over, the annotators, the mean response length."""
    from accounts.roles import user_ensure
    from benchmarks.models import Benchmark, Prompt, Rubric
    from inference.models import GenerationRun, Response

    rng = random.Random(0)
    benchmark = Benchmark.objects.create(slug="bench", name="Bench", kind="noncompliance")
    pairs = [(c, s) for c, subs in CATEGORIES.items() for s in subs]
    prompts = Prompt.objects.bulk_create(
        (
            Prompt(
                benchmark=benchmark,
                external_id=f"b{n:07d}",
                category=pairs[n % len(pairs)][0],
                subcategory=pairs[n % len(pairs)][1],
                text=prose(rng, 60, 200) + "?",
            )
            for n in range(items)
        ),
        batch_size=2000,
    )
    for _, subcategory in pairs:
        Rubric.objects.create(
            benchmark=benchmark,
            subcategory=subcategory,
            acceptable=prose(rng, 150, 300),
            unacceptable=prose(rng, 150, 300),
            version=secrets.token_hex(8),
        )
    run = GenerationRun.objects.create(
        benchmark=benchmark, model_name="bench-model", status="done", total=items
    )
    texts = [prose(rng, 1000, 2000) for _ in range(items)]
    Response.objects.bulk_create(
        (Response(run=run, prompt=p, text=t) for p, t in zip(prompts, texts, strict=True)),
        batch_size=2000,
    )
    people = [
        user_ensure(username=f"annotator{n:02d}", password=secrets.token_hex(8), role="annotator")
        for n in range(annotators)
    ]
    return run, people, sum(map(len, texts)) / len(texts)


def campaign_new(run: Any, people: list[Any], name: str) -> Any:
    from annotate.schemes import scheme_for
    from annotate.services.campaigns import campaign_create

    campaign = campaign_create(
        name=name,
        runs=[run],
        label_scheme=scheme_for(name="coconot"),
        overlap=OVERLAP,
        annotators=people,
    )
    analyze()
    return campaign


def head_start(campaign: Any, person: Any, items: int) -> None:
    """``person`` has labelled the campaign's first ``items`` items, nobody else has: written in
    SQL, as label_submit leaves them (assignment done, label, revision, one slot taken, their
    count)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH chosen AS (
                SELECT id FROM annotate_item WHERE campaign_id = %(c)s ORDER BY position, id
                LIMIT %(n)s
            ), taken AS (
                UPDATE annotate_item SET slots_left = slots_left - 1
                WHERE id IN (SELECT id FROM chosen) RETURNING id
            ), served AS (
                INSERT INTO annotate_assignment
                    (item_id, annotator_id, status, reserved_at, expires_at, completed_at)
                SELECT id, %(u)s, 'done', now(), now(), now() FROM taken RETURNING id
            ), labelled AS (
                INSERT INTO annotate_label (assignment_id, value, answers, note, time_spent_ms,
                    is_demo, created_at, updated_at)
                SELECT id, 'not_complied', '{}', '', 900, false, now(), now() FROM served
                RETURNING id
            ), revised AS (
                INSERT INTO annotate_labelrevision (label_id, value, answers, note, time_spent_ms,
                    created_at)
                SELECT id, 'not_complied', '{}', '', 900, now() FROM labelled
            )
            INSERT INTO annotate_annotatorcount (campaign_id, annotator_id, labelled)
            SELECT %(c)s, %(u)s, count(*) FROM labelled
            """,
            {"c": campaign.pk, "u": person.pk, "n": items},
        )
    analyze()


def analyze() -> None:
    """Fresh planner statistics, as autovacuum keeps them in a database in use (this server
    runs with autovacuum off). With none, an empty assignment table's estimate of one row makes
    PostgreSQL scan all of an annotator's assignments for every candidate item."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotate_item; ANALYZE annotate_assignment; ANALYZE annotate_label")


def user_backend() -> str:
    """The backend a login names in its session, as ``Client.force_login`` picks it: the first
    that reads users."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    return next(
        path
        for path in settings.AUTHENTICATION_BACKENDS
        if hasattr(import_string(path), "get_user")
    )


def session_cookie(user: Any) -> str:
    """A logged-in session, made as ``Client.force_login`` makes it (no password hashing)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = user_backend()
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    assert store.session_key is not None
    return store.session_key


@dataclass
class Checks:
    labels: int
    over_k: int
    repeated_pairs: int
    slot_errors: int
    gold_missing: int


def campaign_checks(campaign: Any) -> Checks:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM annotate_label l
                 JOIN annotate_assignment a ON a.id = l.assignment_id
                 JOIN annotate_item i ON i.id = a.item_id WHERE i.campaign_id = %(c)s),
              (SELECT count(*) FROM (
                 SELECT a.item_id FROM annotate_label l
                   JOIN annotate_assignment a ON a.id = l.assignment_id
                   JOIN annotate_item i ON i.id = a.item_id
                  WHERE i.campaign_id = %(c)s
                  GROUP BY a.item_id HAVING count(*) > %(k)s) over_k),
              (SELECT count(*) FROM (
                 SELECT a.item_id, a.annotator_id FROM annotate_assignment a
                   JOIN annotate_item i ON i.id = a.item_id
                  WHERE i.campaign_id = %(c)s
                  GROUP BY a.item_id, a.annotator_id HAVING count(*) > 1) repeated),
              (SELECT count(*) FROM annotate_item i
                WHERE i.campaign_id = %(c)s AND i.slots_left <> %(k)s - (
                  SELECT count(*) FROM annotate_assignment a
                   WHERE a.item_id = i.id AND a.status IN ('reserved', 'done'))),
              (SELECT count(*) FROM (
                 SELECT a.item_id FROM annotate_label l
                   JOIN annotate_assignment a ON a.id = l.assignment_id
                   JOIN annotate_item i ON i.id = a.item_id
                  WHERE i.campaign_id = %(c)s
                  GROUP BY a.item_id
                 HAVING count(*) >= %(k)s AND count(DISTINCT l.value) = 1
                    AND NOT EXISTS (
                        SELECT 1 FROM annotate_goldlabel g WHERE g.item_id = a.item_id)
              ) unanimous_without_gold)
            """,
            {"c": campaign.pk, "k": OVERLAP},
        )
        row = cursor.fetchone()
    assert row is not None
    return Checks(*row)


# --- Queries per request, in-process -----------------------------------------------------------


@dataclass
class QueryProfile:
    statements: list[int]  # SQL statements per POST, BEGIN/COMMIT/SAVEPOINT not counted
    transactions: list[int]  # BEGIN, COMMIT, SAVEPOINT and RELEASE per POST
    plain_ms: float  # median of the POSTs timed bare
    view_ms: float  # median of the instrumented ones
    sql_ms: float
    steps: dict[str, float]  # median ms per POST in each step of the view
    slowest: list[tuple[float, str]]


URLENCODED = "application/x-www-form-urlencoded"
TRANSACTION_COMMANDS = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b")
# The steps of annotate.views.label_post, timed by wrapping the names the view module calls.
VIEW_STEPS = (
    "campaign_for_annotator",
    "label_submit",
    "assignment_next",
    "screen_for",
    "annotator_progress_for_bar",
    "render",
)


def shape(sql: str) -> str:
    sql = re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", sql)
    sql = re.sub(r"\b\d+\b", "N", sql)
    sql = re.sub(r"'[^']*'", "'…'", sql)
    return re.sub(r"\s+", " ", sql)


@contextlib.contextmanager
def steps_timed(times: dict[str, list[float]]) -> Any:
    """Time each step of the label view in this process only (the server runs unchanged)."""
    from annotate import views

    originals = {name: getattr(views, name) for name in VIEW_STEPS}

    def timer(name: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times[name][-1] += (time.perf_counter() - start) * 1000

        return timed

    try:
        for name, function in originals.items():
            setattr(views, name, timer(name, function))
        yield
    finally:
        for name, function in originals.items():
            setattr(views, name, function)


def queries_per_label(
    run: Any, people: list[Any], posts: int = 150, warm: int = 30, ahead: int = 0
) -> QueryProfile:
    """Labels posted by three annotators in turn (so that items get their third label and the
    gold-label step runs), each POST's queries counted and timed, with nothing else running.
    With ``ahead``: one annotator alone, who has already labelled the campaign's first ``ahead``
    items while nobody else has (all of them still open to others)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    trio = people[:1] if ahead else people[:3]
    campaign = campaign_new(run, people[:3], f"queries ahead {ahead}")
    if ahead:
        head_start(campaign, trio[0], ahead)
    clients: list[tuple[Any, list[Any]]] = []
    for person in trio:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(person)
        html = client.get(f"/annotate/{campaign.pk}/").content.decode()
        clients.append((client, ITEM.findall(html)))
    url = f"/annotate/{campaign.pk}/label/"
    rng = random.Random(1)
    statements: list[int] = []
    transactions: list[int] = []
    view_times: list[float] = []
    sql_times: list[float] = []
    step_times: dict[str, list[float]] = {name: [] for name in VIEW_STEPS}
    per_shape: dict[str, list[float]] = defaultdict(list)

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = (time.perf_counter() - start) * 1000
            sql_times[-1] += took
            per_shape[shape(sql)].append(took)

    plain_times: list[float] = []
    # Every other POST is timed bare (what the targets are about: no query capture, no step
    # timers), the others instrumented, so that both see the same campaign and machine.
    # As labeler.js sends it (URLSearchParams), not the test client's default multipart body.
    for n in range(-warm, 2 * posts):
        if n == 0:
            analyze()  # statistics that know the campaign has assignments
        client, screen = clients[n % len(clients)]
        (assignment, item), held = screen[0], screen[1]
        form = {
            "assignment": assignment,
            "item": item,
            "value": rng.choices(VALUES, VALUE_WEIGHTS)[0],
            "note": "",
            "time_spent_ms": "900",
            "on_screen": held[0],
        }
        if n < 0:
            answer = client.post(url, urlencode(form), URLENCODED, HTTP_HX_REQUEST="true")
        elif n % 2 == 0:
            start = time.perf_counter()
            answer = client.post(url, urlencode(form), URLENCODED, HTTP_HX_REQUEST="true")
            plain_times.append((time.perf_counter() - start) * 1000)
        else:
            sql_times.append(0.0)
            for times in step_times.values():
                times.append(0.0)
            with (
                CaptureQueriesContext(connection) as captured,
                connection.execute_wrapper(timed),
                steps_timed(step_times),
            ):
                start = time.perf_counter()
                answer = client.post(url, urlencode(form), URLENCODED, HTTP_HX_REQUEST="true")
                view_times.append((time.perf_counter() - start) * 1000)
            sent = [TRANSACTION_COMMANDS.match(q["sql"]) for q in captured.captured_queries]
            transactions.append(sum(1 for match in sent if match))
            statements.append(sum(1 for match in sent if not match))
        if answer.status_code != 200:
            raise SystemExit(f"label POST answered {answer.status_code}: {answer.content[:200]!r}")
        screen[:] = [held, *ITEM.findall(answer.content.decode())]
    slowest = sorted(
        ((sum(times) / posts, sql) for sql, times in per_shape.items()),
        reverse=True,
    )
    return QueryProfile(
        statements=statements,
        transactions=transactions,
        plain_ms=statistics.median(plain_times),
        view_ms=statistics.median(view_times),
        sql_ms=statistics.median(sql_times),
        steps={name: statistics.median(times) for name, times in step_times.items()},
        slowest=slowest[:5],
    )


# --- Server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """gunicorn serving config.wsgi, in its own process group so that all of it stops."""

    def __init__(self, work: Path, workers: int, threads: int, database: str) -> None:
        self.database = database
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.access_log = work / "access.log"
        self.error_log = work / "error.log"
        worker_class = "gthread" if threads > 1 else "sync"
        self.describe = f"gunicorn {worker_class}, {workers} workers x {threads} threads"
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={workers}",
            f"--threads={threads}",
            f"--worker-class={worker_class}",
            f"--access-logfile={self.access_log}",
            "--access-logformat=%(m)s %(U)s %(s)s %(D)s",
            f"--error-logfile={self.error_log}",
            "--log-level=warning",
            "--timeout=60",
            "--backlog=2048",
        ]
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped: {self.error_log.read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not answer /healthz within 60 s")

    def server_times(self, campaign_id: int, expected: int) -> list[float]:
        """The server's times (ms) of this campaign's label POSTs, once all are logged."""
        deadline = time.monotonic() + 10
        while True:
            times = []
            for line in self.access_log.read_text().splitlines():
                match = LOG_LINE.match(line)
                if match and int(match[1]) == campaign_id and match[2] == "200":
                    times.append(int(match[3]) / 1000)
            if len(times) >= expected or time.monotonic() > deadline:
                return times
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# --- Annotators --------------------------------------------------------------------------------


@dataclass
class Plan:
    mode: str  # closed or paced
    requests: int  # closed: labels in all
    seconds: float  # paced: how long
    tickets: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def may_send(self, started: float) -> bool:
        if self.stop.is_set():
            return False
        if self.mode == "paced":
            return time.perf_counter() - started < self.seconds
        with self.lock:
            self.tickets += 1
            return self.tickets <= self.requests


@dataclass
class Annotator:
    base: str
    campaign_id: int
    session_key: str
    seed: int
    times: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def open(self) -> None:
        self.session = requests.Session()
        self.session.cookies.set("sessionid", self.session_key, domain="127.0.0.1")
        page = self.session.get(f"{self.base}/annotate/{self.campaign_id}/", timeout=30)
        page.raise_for_status()
        csrf = CSRF.search(page.text)
        self.screen = ITEM.findall(page.text)
        if csrf is None or len(self.screen) != 2:
            raise SystemExit("The labeling page holds no CSRF token or not two items.")
        self.headers = {"X-CSRFToken": csrf[1], "HX-Request": "true"}

    def work(self, plan: Plan, started: float) -> None:
        rng = random.Random(self.seed)
        url = f"{self.base}/annotate/{self.campaign_id}/label/"
        next_send = started
        if plan.mode == "paced":
            next_send += rng.uniform(0, 1)  # people do not all start in the same second
        while len(self.screen) >= 2 and plan.may_send(started):
            if plan.mode == "paced":
                think = rng.uniform(0.5, 1.5)
                wait = next_send - time.perf_counter()
                if wait > 0 and plan.stop.wait(wait):
                    return
                next_send = max(next_send, time.perf_counter()) + think
                if time.perf_counter() - started >= plan.seconds:
                    return
            (assignment, item), ahead = self.screen[0], self.screen[1]
            form = {
                "assignment": assignment,
                "item": item,
                "value": rng.choices(VALUES, VALUE_WEIGHTS)[0],
                "note": "",
                "time_spent_ms": str(rng.randint(500, 5000)),
                "on_screen": ahead[0],
            }
            start = time.perf_counter()
            try:
                answer = self.session.post(url, data=form, headers=self.headers, timeout=60)
            except requests.RequestException as error:
                self.errors[type(error).__name__] += 1
                continue
            end = time.perf_counter()
            if answer.status_code != 200:
                self.errors[f"HTTP {answer.status_code}"] += 1
                continue
            self.times.append((end - start) * 1000)
            self.ends.append(end)
            self.screen = [ahead, *ITEM.findall(answer.text)]


@dataclass
class RunResult:
    annotators: int
    mode: str
    requests: int
    client_p50: float
    client_p99: float
    server_p50: float
    server_p99: float
    throughput: float
    checks: Checks
    errors: Counter[str]
    cpu: dict[str, float]
    wall: float


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


def run_once(server: Server, campaign: Any, sessions: list[str], plan: Plan) -> RunResult:
    people = [Annotator(server.base, campaign.pk, key, seed=n) for n, key in enumerate(sessions)]
    for person in people:
        person.open()
    meter = CpuMeter(server.process.pid, server.database)
    started = time.perf_counter()
    threads = [threading.Thread(target=p.work, args=(plan, started), daemon=True) for p in people]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        plan.stop.set()
    cpu = meter.shares()
    wall = time.perf_counter() - started
    times = [t for p in people for t in p.times]
    last = max((e for p in people for e in p.ends), default=started)
    server_times = server.server_times(campaign.pk, len(times))
    errors: Counter[str] = sum((p.errors for p in people), Counter())
    return RunResult(
        annotators=len(people),
        mode=plan.mode,
        requests=len(times),
        client_p50=percentile(times, 50),
        client_p99=percentile(times, 99),
        server_p50=percentile(server_times, 50),
        server_p99=percentile(server_times, 99),
        throughput=len(times) / (last - started) if last > started else 0.0,
        checks=campaign_checks(campaign),
        errors=errors,
        cpu=cpu,
        wall=wall,
    )


# --- Report ------------------------------------------------------------------------------------


def machine() -> str:
    from importlib.metadata import version

    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    postgres = row[0].split()[0] if row else "?"
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run(
        [*git, "status", "--porcelain", "accounts", "annotate", "config", "templates"],
        capture_output=True,
        text=True,
    )
    dirty = len(changed.stdout.splitlines())
    return (
        f"Code: {head.stdout.strip()}"
        + (f" with {dirty} changed app files" if dirty else "")
        + f"; load average {os.getloadavg()[0]:.2f}\n"
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"gunicorn {version('gunicorn')}, PostgreSQL {postgres} on 127.0.0.1; cache: "
        + ("Redis" if os.environ.get("REDIS_URL") else "files (no --redis-url)")
    )


def summary(runs: list[RunResult], busy: float) -> str:
    def med(name: str) -> float:
        return float(statistics.median(getattr(r, name) for r in runs))

    def cpu(part: str) -> float:
        return float(statistics.median(r.cpu[part] for r in runs))

    def cpu_ms(part: str) -> float:
        """CPU milliseconds per label POST."""
        cores = os.cpu_count() or 1
        return float(
            statistics.median(
                r.cpu[part] * cores * r.wall * 1000 / max(1, r.requests) for r in runs
            )
        )

    first = runs[0]
    errors = sum((r.errors for r in runs), Counter())
    over_k = max(r.checks.over_k for r in runs)
    repeated = max(r.checks.repeated_pairs for r in runs)
    slots = max(r.checks.slot_errors for r in runs)
    gold = max(r.checks.gold_missing for r in runs)
    shares = "/".join(f"{cpu(part):.0%}".rstrip("%") for part in CPU_PARTS)
    return (
        f"{first.annotators:>10} {first.mode:<6} {med('requests'):>6.0f} "
        f"{med('client_p50'):>8.1f} {med('client_p99'):>8.1f} "
        f"{med('server_p50'):>8.1f} {med('server_p99'):>8.1f} {med('throughput'):>6.1f} "
        f"{over_k:>6} {repeated:>4} {slots:>5} {gold:>4} {shares:>12} "
        f"{cpu_ms('server'):>5.1f} {cpu_ms('database'):>4.1f} {busy:>5.0%}  "
        f"{', '.join(f'{k} x{v}' for k, v in errors.items()) or 'none'}  "
        f"(p99 per run, client {'/'.join(f'{r.client_p99:.0f}' for r in runs)}, "
        f"server {'/'.join(f'{r.server_p99:.0f}' for r in runs)})"
    )


CPU_PARTS = ("server", "database", "clients", "other")
HEADER = (
    f"{'annotators':>10} {'mode':<6} {'labels':>6} {'client50':>8} {'client99':>8} "
    f"{'server50':>8} {'server99':>8} {'req/s':>6} {'over k':>6} {'rep.':>4} {'slots':>5} "
    f"{'gold':>4} "
    f"{'CPU s/d/c/o %':>12} {'s ms':>5} {'d ms':>4} {'busy':>5}  errors"
)
LEGEND = f"""\
Times in ms, each the median of the runs. labels: label POSTs answered 200 in a run.
over k: items with more than {OVERLAP} labels; rep.: (item, annotator) pairs served twice; slots:
items whose free slots do not add up; gold: items all of whose {OVERLAP} labels agree that have no
gold label (each the worst run). CPU s/d/c/o: share of the machine's
CPUs used during a run by the server (gunicorn), the database (the bench database's PostgreSQL
backends), the clients (this process) and other work; s ms, d ms: CPU time per label POST of the
server and of the database. busy: share of the CPUs other work used in the 2 s before a run."""


def profile_print(profile: QueryProfile, who: str) -> None:
    print(
        f"Per label POST ({who}): {spread(profile.statements)} SQL statements and "
        f"{spread(profile.transactions)} BEGIN/COMMIT (over {len(profile.statements)} "
        f"POSTs: {dict(Counter(profile.statements))}). "
        f"In-process, alone: {profile.plain_ms:.1f} ms per POST (median; "
        f"{profile.view_ms:.1f} ms instrumented, SQL {profile.sql_ms:.1f} ms of it); by step: "
        + ", ".join(f"{name} {ms:.1f}" for name, ms in profile.steps.items())
    )
    for ms, sql in profile.slowest:
        print(f"  {ms:5.2f} ms/POST  {sql[:140]}")


def spread(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low} to {high}"


class CpuMeter:
    """Where the machine's CPU time went during a run: the server (gunicorn's process group),
    the database (PostgreSQL backends of the bench database), the clients (this process), and
    other work (everything else, PostgreSQL's shared background processes included)."""

    def __init__(self, server_group: int, database: str) -> None:
        self.server_group = server_group
        self.database = database
        self.start_total, self.start_busy = self.machine()
        self.start_processes = self.processes()

    @staticmethod
    def machine() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields), sum(fields) - fields[3] - fields[4]  # all, all but idle and iowait

    def processes(self) -> dict[int, tuple[str, int]]:
        found = {}
        for folder in Path("/proc").iterdir():
            if not folder.name.isdigit():
                continue
            pid = int(folder.name)
            try:
                stat = (folder / "stat").read_text()
                cmdline = (folder / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                group = os.getpgid(pid)
            except (OSError, ProcessLookupError):
                continue
            ticks = sum(int(x) for x in stat.rsplit(")", 1)[1].split()[11:13])  # utime, stime
            if pid == os.getpid():
                found[pid] = ("clients", ticks)
            elif group == self.server_group:
                found[pid] = ("server", ticks)
            elif cmdline.startswith("postgres:") and f" {self.database} " in cmdline:
                found[pid] = ("database", ticks)
        return found

    def shares(self) -> dict[str, float]:
        """Each part's CPU time as a share of the whole machine's (all cores) since the start."""
        total, busy = self.machine()
        spent: Counter[str] = Counter()
        for pid, (part, ticks) in self.processes().items():
            spent[part] += ticks - self.start_processes.get(pid, (part, 0))[1]
        elapsed = max(1, total - self.start_total)
        shares = {part: spent[part] / elapsed for part in ("server", "database", "clients")}
        shares["other"] = max(0.0, (busy - self.start_busy) / elapsed - sum(shares.values()))
        return shares


def cpu_busy(seconds: float) -> float:
    """Share of all CPUs busy over the next ``seconds`` (from /proc/stat), 0 to 1."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle and iowait
        return sum(fields) - idle, sum(fields)

    busy_before, total_before = sample()
    time.sleep(seconds)
    busy_after, total_after = sample()
    return (busy_after - busy_before) / max(1, total_after - total_before)


def wait_quiet(limit: float, patience: float) -> float:
    """Wait (up to ``patience`` seconds) until other work on the machine uses under ``limit``
    of its CPUs; return the share measured last."""
    deadline = time.monotonic() + patience
    while True:
        busy = cpu_busy(2.0)
        if busy < limit or time.monotonic() > deadline:
            return busy
        time.sleep(3)


def interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--annotators", default="1,10,50", help="comma-separated")
    parser.add_argument("--requests", type=int, default=2000, help="closed loop: labels per run")
    parser.add_argument("--paced-seconds", type=float, default=40.0, help="paced: run length")
    parser.add_argument("--modes", default="closed,paced")
    parser.add_argument("--repeats", type=int, default=3)
    # The best of those tried on 2 cores (bench/RESULTS.md): 3 sync workers; more workers or
    # threads only share the same two cores and lengthen every request.
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=1, help="per worker: 1 = sync worker, more = gthread"
    )
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.15,
        help="before each run wait until other work uses under this share of the CPUs",
    )
    parser.add_argument("--patience", type=float, default=20, help="seconds to wait at most")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", ""),
        help="the cache's Redis (default: $REDIS_URL; none: a file cache)",
    )
    parser.add_argument("--keep-database", action="store_true", help="do not drop it at the end")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small and short")
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="only the in-process profile of a label POST (no server, no clients)",
    )
    parser.add_argument(
        "--ahead",
        type=int,
        default=20_000,
        help="the profile again for an annotator this many items ahead of the others (0: no)",
    )
    options = parser.parse_args()
    if options.quick:
        options.items, options.annotators = 1000, "1,10"
        options.requests, options.paced_seconds, options.repeats = 100, 4.0, 1
    counts = [int(n) for n in options.annotators.split(",")]
    modes = options.modes.split(",")
    for stop_signal in (signal.SIGINT, signal.SIGTERM):  # SIGINT too when started in background
        signal.signal(stop_signal, interrupted)

    server: Server | None = None
    database_recreate(options.database_url)
    try:
        with tempfile.TemporaryDirectory(prefix="annotate_speed_") as folder:
            work = Path(folder)
            django_setup(options.database_url, work, options.redis_url)
            from django.conf import settings

            setup_start = time.perf_counter()
            run, people, mean_chars = data_create(options.items, max(max(counts), 3))
            print(machine())
            print(
                f"{options.items:,} responses of {mean_chars:,.0f} characters on average, "
                f"overlap {OVERLAP}; built in {time.perf_counter() - setup_start:.1f} s"
            )
            profile_print(queries_per_label(run, people), "3 annotators in turn")
            ahead = min(options.ahead, options.items - 500)  # room for its 330 POSTs
            if ahead > 0:
                profile_print(
                    queries_per_label(run, people, ahead=ahead),
                    f"1 annotator {ahead:,} items ahead of the others",
                )
            if options.profile_only:
                return

            database = settings.DATABASES["default"]
            server = Server(
                work, options.workers, options.threads, urlsplit(options.database_url).path[1:]
            )
            print(
                f"Server: {server.describe}, DEBUG off, CONN_MAX_AGE "
                f"{database['CONN_MAX_AGE']} s, health checks {database['CONN_HEALTH_CHECKS']}"
            )
            sessions = [session_cookie(person) for person in people]
            # Warm-up, not measured: every worker thread loads templates and opens its connection.
            warm = campaign_new(run, people, "warm-up")
            run_once(server, warm, sessions[: max(counts)], Plan("closed", 300, 0))

            print(HEADER)
            number = 0
            for count in counts:
                for mode in modes:
                    results = []
                    busy = 0.0
                    for _ in range(options.repeats):
                        number += 1
                        campaign = campaign_new(run, people[:count], f"run {number}")
                        busy = max(busy, wait_quiet(options.quiet, options.patience))
                        plan = Plan(mode, options.requests, options.paced_seconds)
                        results.append(run_once(server, campaign, sessions[:count], plan))
                    print(summary(results, busy), flush=True)
            print(LEGEND)
            server.stop()
            server = None
    finally:
        if server is not None:
            server.stop()
        if not options.keep_database:
            database_drop(options.database_url)


if __name__ == "__main__":
    main()
