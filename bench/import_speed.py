"""How long imports take: `import_benchmark` for 100,000 prompts on SQLite and PostgreSQL, and
(``--upload``) a benchmark and its responses sent to a running Demur.

    .venv/bin/python bench/import_speed.py [--prompts 100000] [--runs 3]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/import_speed.py

Each run imports into a fresh, migrated database (a new SQLite file; a new PostgreSQL database on
the DATABASE_URL server, dropped afterwards) and times the whole command as a user runs it, Python
start-up included; then imports the same file again (0 new) and times that too. Prints the median.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/import_speed.py --upload [--prompts 10000] [--runs 5]

Upload mode, on one fresh PostgreSQL database (dropped afterwards) and the REDIS_URL broker
(its database is emptied first): the two commands first (`import_benchmark`, then
`import_responses` of one response per prompt, each with Python start-up), then the same two
files through a running Demur, gunicorn (3 sync workers, as docker-compose.yml) and a Celery
worker (the `default` queue, prefork, one child), both warmed up by a small upload as a server
that has been running is: POST the benchmark to /api/uploads/benchmark/, poll its URL every
POLL_SECONDS until done, POST the responses to /api/uploads/responses/, poll until done. Each run
uses a new slug, so every run imports everything anew. Prints the medians, and where the
upload's time went (the POSTs, waiting for the worker, the imports, the polls' latency).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

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


# How often the upload mode asks whether an upload is done (a GET each time).
POLL_SECONDS = 0.05


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


def write_responses(path: Path, count: int) -> None:
    """One response per prompt of write_benchmark's file: 100 to 600 characters (350 on
    average), as CoCoNot's GPT-4 responses are (337 on average, 305 median, in its evaluation
    file)."""
    rng = random.Random(1)
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            length = rng.randint(100, 600)
            text = ""
            while len(text) < length:
                text += rng.choice(WORDS) + " "
            row = {"id": f"b{number:07d}", "response": text.strip().capitalize() + "."}
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


# --- Upload mode -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Program:
    """A program in its own process group, its output in a file; stop() ends all of it."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{what}: it exited.\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):  # requests' errors: not listening yet
                if condition():
                    return
            time.sleep(0.2)
        raise SystemExit(f"{what}: not after {timeout} s.\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class UploadTimes:
    total: float  # first POST sent to the second upload seen done
    posts: float  # the two POSTs' round trips (the files sent, checked, kept; the row made)
    queued: float  # created until a worker started it, both uploads
    imports: float  # started until finished, both uploads (the worker's import)


def upload(
    session: requests.Session, base: str, path: str, fields: dict[str, str], file: Path
) -> tuple[dict[str, Any], float]:
    """POST the file, then poll its URL until it is done; the final answer and the POST's time."""
    start = time.perf_counter()
    with file.open("rb") as handle:
        answer = session.post(f"{base}{path}", data=fields, files={"file": handle}, timeout=120)
    posted = time.perf_counter() - start
    if answer.status_code != 202:
        raise SystemExit(f"POST {path}: {answer.status_code} {answer.text[:500]}")
    url = answer.headers["Location"]
    while True:
        state = session.get(url, timeout=30).json()
        if state["status"] == "done":
            return state, posted
        if state["status"] == "failed":
            raise SystemExit(f"{path}: {state['error']}")
        time.sleep(POLL_SECONDS)


def seconds_between(state: dict[str, Any], first: str, last: str) -> float:
    return (
        datetime.fromisoformat(state[last]) - datetime.fromisoformat(state[first])
    ).total_seconds()


def upload_both(
    session: requests.Session, base: str, benchmark: Path, responses: Path, slug: str
) -> UploadTimes:
    start = time.perf_counter()
    first, first_post = upload(
        session, base, "/api/uploads/benchmark/", {"slug": slug, "kind": "noncompliance"}, benchmark
    )
    second, second_post = upload(
        session, base, "/api/uploads/responses/", {"benchmark": slug, "model": "m"}, responses
    )
    total = time.perf_counter() - start
    both = (first, second)
    return UploadTimes(
        total=total,
        posts=first_post + second_post,
        queued=sum(seconds_between(state, "created_at", "started_at") for state in both),
        imports=sum(seconds_between(state, "started_at", "finished_at") for state in both),
    )


def researcher_token(env: dict[str, str]) -> str:
    script = (
        "from accounts.roles import user_ensure; from rest_framework.authtoken.models import "
        "Token; user = user_ensure(username='bench', password='bench-password-0123', "
        "role='researcher'); print(Token.objects.get_or_create(user=user)[0].key)"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=REPO, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def commands_run(env: dict[str, str], benchmark: Path, responses: Path, slug: str) -> float:
    return manage(
        env, "import_benchmark", str(benchmark), "--slug", slug, "--kind", "noncompliance"
    ) + manage(env, "import_responses", str(responses), "--benchmark", slug, "--model", "m")


def upload_mode(options: argparse.Namespace, env: dict[str, str]) -> None:
    server_url, redis_url = env.get("DATABASE_URL", ""), env.get("REDIS_URL", "")
    if not server_url.startswith("postgres") or not redis_url.startswith("redis"):
        raise SystemExit("--upload needs DATABASE_URL=postgres://... and REDIS_URL=redis://...")
    import psycopg
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # no message of an earlier run
    name = f"demur_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    programs: list[Program] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            env = env | {
                "DATABASE_URL": urlunsplit(urlsplit(server_url)._replace(path=f"/{name}")),
                "DEMUR_DATA_DIR": str(work / "data"),
                "DJANGO_STATIC_ROOT": str(work / "static"),
                "DJANGO_SECRET_KEY": env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
                "DEMUR_LOG_LEVEL": "WARNING",
            }
            benchmark, responses = work / "bench.jsonl", work / "responses.jsonl"
            write_benchmark(benchmark, options.prompts)
            write_responses(responses, options.prompts)
            print(
                f"{options.prompts} prompts ({benchmark.stat().st_size / 1e6:.1f} MB) and "
                f"{options.prompts} responses ({responses.stat().st_size / 1e6:.1f} MB); "
                f"{os.cpu_count()} CPUs"
            )
            manage(env, "migrate", "-v", "0")
            manage(env, "collectstatic", "--no-input", "-v", "0")  # DEBUG off needs the manifest
            commands = [
                commands_run(env, benchmark, responses, f"cmd-{run}") for run in range(options.runs)
            ]
            report_seconds("two commands", commands)

            token = researcher_token(env)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            programs.append(Program(
                [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi",
                 "--bind", f"127.0.0.1:{port}", "--workers", "3", "--log-level", "warning"],
                env, work / "gunicorn.log",
            ))  # fmt: skip
            programs.append(Program(
                [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker",
                 "--queues", "default", "--concurrency", "1", "--hostname", "bench@%h",
                 "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
                env, work / "worker.log",
            ))  # fmt: skip
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token}"
            programs[0].wait_for(
                lambda: session.get(f"{base}/healthz", timeout=5).status_code == 200, "gunicorn"
            )
            programs[1].wait_for(lambda: " ready." in programs[1].log.read_text(), "the worker")
            warm_up(session, base, work)
            times = [
                upload_both(session, base, benchmark, responses, f"up-{run}")
                for run in range(options.runs)
            ]
            report_seconds("upload", [t.total for t in times])
            for label, values in (
                ("the two POSTs", [t.posts for t in times]),
                ("waiting for the worker", [t.queued for t in times]),
                ("the two imports", [t.imports for t in times]),
            ):
                print(f"  of which {label}: {statistics.median(values):.2f} s median")
    finally:
        for program in programs:
            program.stop()
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def warm_up(session: requests.Session, base: str, work: Path) -> None:
    """What a server that has been running has done: every gunicorn worker has answered (the
    URL configuration loaded), and the worker has imported once."""
    small, answers = work / "small.jsonl", work / "small-responses.jsonl"
    write_benchmark(small, 20)
    write_responses(answers, 20)
    for _ in range(12):
        session.get(f"{base}/api/uploads/", timeout=60)
    upload_both(session, base, small, answers, "warm-up")


def report_seconds(label: str, runs: list[float]) -> None:
    print(
        f"{label:<13} {statistics.median(runs):6.2f} s median "
        f"({', '.join(f'{run:.2f}' for run in runs)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=None, help="100,000; 10,000 --upload")
    parser.add_argument("--runs", type=int, default=None, help="3; 5 with --upload")
    parser.add_argument("--upload", action="store_true", help="commands against uploads")
    options = parser.parse_args()
    env = dict(os.environ)
    if options.upload:
        options.prompts = options.prompts or 10_000
        options.runs = options.runs or 5
        upload_mode(options, env)
        return
    options.prompts = options.prompts or 100_000
    options.runs = options.runs or 3
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
