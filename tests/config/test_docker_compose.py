"""Docker cannot run here, so the compose file is checked against the project it runs."""

from __future__ import annotations

import importlib
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.urls import resolve

from config.settings import celery_broker_settings, database_settings

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("postgres", "redis", "web", "worker", "gpu-worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_it_has_every_service_with_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(SERVICES) <= set(services)
    for name in SERVICES:
        assert services[name]["healthcheck"]["test"], name


def test_the_gpu_worker_reserves_an_nvidia_gpu_and_listens_on_the_gpu_queue(
    compose: dict[str, Any],
) -> None:
    gpu = compose["services"]["gpu-worker"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia"
    assert "gpu" in device["capabilities"]
    assert option(gpu["command"], "--queues") == "gpu"
    assert gpu["build"]["args"]["INSTALL_INFERENCE"] == "1"


def test_worker_queues_are_the_ones_settings_route_to(compose: dict[str, Any]) -> None:
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    listened = {
        option(compose["services"][name]["command"], "--queues")
        for name in ("worker", "gpu-worker")
    }
    assert listened == routed | {settings.CELERY_TASK_DEFAULT_QUEUE}


def test_worker_healthchecks_ping_the_hostname_the_worker_takes(compose: dict[str, Any]) -> None:
    for name in ("worker", "gpu-worker"):
        service = compose["services"][name]
        hostname = option(service["command"], "--hostname").replace("%h", "$$HOSTNAME")
        assert f"--destination {hostname}" in service["healthcheck"]["test"][1]


def test_the_commands_it_runs_exist_in_the_project(compose: dict[str, Any]) -> None:
    services = compose["services"]
    web = services["web"]["command"]
    assert web[0] == "gunicorn"
    module, _, attribute = web[1].partition(":")
    assert hasattr(importlib.import_module(module), attribute or "application")
    for name in ("worker", "gpu-worker"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "config"]
        assert importlib.import_module("config").celery_app.main == "demur"
    assert services["migrate"]["command"][:2] == ["python", "manage.py"]
    assert (REPO / "manage.py").exists()
    bin_dir = Path(sys.executable).parent
    for program in ("gunicorn", "celery"):
        assert (bin_dir / program).exists() or shutil.which(program), program


def test_the_web_healthcheck_asks_a_real_url(compose: dict[str, Any]) -> None:
    test = " ".join(compose["services"]["web"]["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:8000(/\S*?)'", test)
    assert path is not None
    assert resolve(path.group(1)).url_name == "healthz"


def test_its_urls_switch_settings_to_postgres_and_redis(compose: dict[str, Any]) -> None:
    environment = compose["services"]["web"]["environment"]
    database = database_settings(environment["DATABASE_URL"])
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["NAME"]) == ("postgres", "demur")
    broker = celery_broker_settings(environment["REDIS_URL"])
    assert broker["CELERY_BROKER_URL"] == "redis://redis:6379/0"


def test_the_image_it_builds_installs_the_pinned_requirements(compose: dict[str, Any]) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    requirements = re.findall(r"-r (requirements/\S+\.txt)", dockerfile)
    # no-deps.txt: crowd-kit without the text aggregators' dependencies (transformers).
    assert requirements == [
        "requirements/base.txt",
        "requirements/no-deps.txt",
        "requirements/inference.txt",
    ]
    assert "--no-deps -r requirements/no-deps.txt" in dockerfile
    for requirement in requirements:
        assert (REPO / requirement).exists(), requirement
    assert "ARG INSTALL_INFERENCE" in dockerfile


def test_web_and_worker_share_the_folder_uploads_wait_in(compose: dict[str, Any]) -> None:
    """The web server keeps an uploaded file where the worker that imports it reads it."""
    services = compose["services"]
    root = services["web"]["environment"]["DEMUR_UPLOAD_ROOT"]
    for name in ("web", "worker"):
        assert services[name]["environment"]["DEMUR_UPLOAD_ROOT"] == root
        assert f"uploads:{root}" in services[name]["volumes"], name
    assert "uploads" in compose["volumes"]
    # The image makes the folder, so that the volume mounted there belongs to its user.
    assert f"mkdir -p {root}" in (REPO / "Dockerfile").read_text()
