"""End to end: files posted to the API, imported by a real Celery worker on Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from benchmarks.models import Prompt
from inference.models import GenerationRun
from tests.api.conftest import token_client
from tests.factories import UserFactory
from tests.processes import Background
from tests.uploads.helpers import a_file, benchmark_bytes, folders_in, responses_bytes
from tests.workers import celery_worker, purge_broker, worker_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def finished(api: APIClient, url: str, worker: Background) -> dict[str, Any]:
    answers: list[dict[str, Any]] = []

    def over() -> bool:
        answers.append(api.get(url).json())
        return answers[-1]["status"] in {"done", "failed"}

    worker.wait_for(over, timeout=120, what=f"{url} imported", interval=0.2)
    return answers[-1]


def test_a_worker_imports_what_the_api_was_sent(
    tmp_path: Path, upload_root: Path, role_groups: None
) -> None:
    purge_broker()
    api = token_client(UserFactory.create(role="researcher"))
    env = worker_env(tmp_path, DEMUR_UPLOAD_ROOT=str(upload_root))
    with celery_worker(env, name="uploads") as worker:
        sent = api.post(
            "/api/uploads/benchmark/",
            {"slug": "up", "kind": "noncompliance", "file": a_file(benchmark_bytes(300))},
            format="multipart",
        )
        assert sent.status_code == 202, sent.content
        benchmark = finished(api, sent["Location"], worker)
        assert benchmark["status"] == "done", benchmark["error"]
        assert benchmark["progress"] == {"done": 300, "total": 300}
        assert Prompt.objects.filter(benchmark__slug="up").count() == 300

        ids = [f"p{number}" for number in range(300)]
        sent = api.post(
            "/api/uploads/responses/",
            {"benchmark": "up", "model": "gpt-4", "file": a_file(responses_bytes(ids))},
            format="multipart",
        )
        responses = finished(api, sent["Location"], worker)
        assert responses["status"] == "done", responses["error"]
        assert GenerationRun.objects.get(pk=responses["result"]["run"]).responses.count() == 300

        bad = api.post(
            "/api/uploads/benchmark/",
            {
                "slug": "bad",
                "kind": "noncompliance",
                "file": a_file(benchmark_bytes(9, bad_line=7)),
            },
            format="multipart",
        )
        failed = finished(api, bad["Location"], worker)
        assert failed["status"] == "failed"
        assert failed["error"].startswith("Line 7 of bench.jsonl is not valid JSON")
        assert not Prompt.objects.filter(benchmark__slug="bad").exists()
    assert folders_in(upload_root) == []
