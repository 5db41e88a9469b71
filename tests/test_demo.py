"""`make demo` as a researcher runs it: the app serves the sample, the worker answers, Ctrl-C
stops everything. Embedded (SQLite + filesystem broker) always; PostgreSQL + Redis in CI."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests

from demo.services import DEMO_CAMPAIGN, DEMO_PAIRWISE_CAMPAIGN
from tests.processes import REPO, Background

pytestmark = pytest.mark.slow


@pytest.fixture
def embedded_env(tmp_path: Path, free_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return env | {"DEMUR_DATA_DIR": str(tmp_path), "DEMUR_PORT": str(free_port)}


@pytest.fixture
def servers_env(embedded_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A database of its own on the CI PostgreSQL, dropped afterwards."""
    server_url = os.environ["DATABASE_URL"]
    name = f"demur_demo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    database_url = urlunsplit(parts._replace(path=f"/{name}"))
    yield embedded_env | {"DATABASE_URL": database_url, "REDIS_URL": os.environ["REDIS_URL"]}
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def log_in(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    session.post(
        base + "accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": base + "accounts/login/"},
        timeout=10,
    )
    return session


def check_demo(env: dict[str, str], answers: Callable[[], int] | None = None) -> None:
    base = f"http://127.0.0.1:{env['DEMUR_PORT']}/"
    demo = Background(["make", "demo", f"DEMUR_PORT={env['DEMUR_PORT']}"], env=env)
    try:
        demo.wait_for(lambda: " ready." in demo.text, timeout=120, what="worker ready")
        demo.wait_for(lambda: up(base), timeout=60, what="web server answering")
        assert f"Demur is starting at {base}" in demo.text
        assert "researcher  researcher / demo-researcher" in demo.text
        # SmolLM2 answers the sample conversations too, after the single prompts.
        assert "answers demur-conversations (36 answers to write)" in demo.text

        session = log_in(base, "researcher", "demo-researcher")
        page = session.get(base, timeout=10)
        assert page.url == base + "benchmarks/"
        assert "Demur sample (noncompliance)" in page.text
        assert re.search(r'<td class="num">30</td>', page.text)
        detail = session.get(base + "benchmarks/demur-sample/", timeout=10).text
        assert "No rubric for" not in detail

        annotator = log_in(base, "annotator", "demo-annotator")
        assert annotator.get(base, timeout=10).url == base + "annotate/"

        ping = subprocess.run(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "config",
                "inspect",
                "ping",
                "--timeout",
                "10",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "pong" in ping.stdout, ping.stdout + ping.stderr
        if answers is not None:
            # Loading SmolLM2 alone takes over a minute on a busy two-core machine.
            demo.wait_for(lambda: answers() > 0, timeout=600, what="SmolLM2 answers")
            campaign_id = check_demo_campaign(base, annotator, demo)
            report = session.get(f"{base}analysis/campaigns/{campaign_id}/", timeout=60).text
            assert "Judges against people" in report
            # The seeded labels make the figures real numbers, and the page says they are demo.
            gold = re.search(r"(\d+) of (\d+) items have a gold label", report)
            assert gold is not None and int(gold.group(1)) > 0, report
            assert re.search(r"Demo data: \d+ of these labels were made up", report)
            text = " ".join(re.sub(r"<[^>]+>", " ", report).split())
            assert re.search(r"Krippendorff's alpha \(nominal\) -?\d\.\d\d \[", text), text
            runs = re.findall(
                r'href="/runs/(\d+)/"', session.get(f"{base}campaigns/{campaign_id}/").text
            )

            def rated() -> bool:
                """A run report shows a compliance rate once a judge has read a run."""
                pages = (session.get(f"{base}analysis/runs/?run={run}", timeout=60) for run in runs)
                return any(re.search(r"\d+\.\d%", page.text) for page in pages)

            # Asked every 5 s: each answer draws a chart, CPU the worker's judging needs too.
            demo.wait_for(
                rated, timeout=400, what="a run report with a compliance rate", interval=5
            )
            check_demo_pairwise(base, annotator, session, demo)
    except BaseException:
        demo.kill()
        raise
    demo.interrupt()
    assert not up(base)


def check_demo_campaign(base: str, annotator: requests.Session, demo: Background) -> str:
    """Once the first run is answered, the demo annotator has a campaign to label; returns its
    id."""

    def listed() -> bool:
        return DEMO_CAMPAIGN in annotator.get(base + "annotate/", timeout=10).text

    demo.wait_for(listed, timeout=420, what="the demo campaign")
    listing = annotator.get(base + "annotate/", timeout=10).text
    # The side-by-side campaign may be listed first: find this one by its name.
    link = re.search(rf'href="/annotate/(\d+)/">{re.escape(DEMO_CAMPAIGN)}<', listing)
    assert link is not None, listing
    page = annotator.get(f"{base}annotate/{link.group(1)}/", timeout=10).text
    assert 'data-assignment="' in page
    assert "<kbd>1</kbd> Did not comply" in page
    return link.group(1)


def check_demo_pairwise(
    base: str, annotator: requests.Session, researcher: requests.Session, demo: Background
) -> None:
    """Once SmolLM2 has answered the noncompliance sample, the annotator compares its answers
    with the reference answers side by side, and the side-by-side report has figures."""

    def link() -> re.Match[str] | None:
        listing = annotator.get(base + "annotate/", timeout=10).text
        return re.search(rf'href="/annotate/(\d+)/">{re.escape(DEMO_PAIRWISE_CAMPAIGN)}<', listing)

    demo.wait_for(lambda: link() is not None, timeout=420, what="the side-by-side campaign")
    found = link()
    assert found is not None
    page = annotator.get(f"{base}annotate/{found.group(1)}/", timeout=10).text
    assert "<h2>Left</h2>" in page and "<kbd>2</kbd> Right is better" in page
    report = researcher.get(f"{base}analysis/campaigns/{found.group(1)}/pairwise/", timeout=60)
    text = " ".join(re.sub(r"<[^>]+>", " ", report.text).split())
    assert re.search(r"All categories \d+ \d+ \d+ \d+ \d+ \d+\.\d% \[", text), text


def up(base: str) -> bool:
    """Whether the web server answers now; one too busy to answer within 2 s is not up yet."""
    try:
        return requests.get(base + "healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_make_demo_serves_the_sample_embedded_and_ctrl_c_stops_it(
    embedded_env: dict[str, str],
) -> None:
    database = Path(embedded_env["DEMUR_DATA_DIR"]) / "db.sqlite3"

    def answers() -> int:
        with closing(sqlite3.connect(database)) as connection:
            (count,) = connection.execute(
                "SELECT count(*) FROM inference_response WHERE error = ''"
            ).fetchone()
            return int(count)

    # The worker loads SmolLM2 and answers the sample: the demo's real model on the real path.
    check_demo(embedded_env, answers=answers)


@pytest.mark.postgres
@pytest.mark.redis
def test_make_demo_runs_on_postgres_and_redis(servers_env: dict[str, str]) -> None:
    check_demo(servers_env)
    assert not (Path(servers_env["DEMUR_DATA_DIR"]) / "db.sqlite3").exists()
    with psycopg.connect(servers_env["DATABASE_URL"]) as connection:
        count = connection.execute(
            "SELECT count(*) FROM benchmarks_prompt p JOIN benchmarks_benchmark b "
            "ON b.id = p.benchmark_id WHERE b.slug = 'demur-sample'"
        ).fetchone()
    assert count == (30,)
