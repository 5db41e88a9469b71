from __future__ import annotations

import subprocess
import sys

from tests.processes import REPO

CHECK = """
import sys, django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # imports every view module, as the first request does
import config.celery, runs.tasks, inference.tasks, judging.tasks
import inference.services, judging.services
print(sorted(name for name in ("torch", "transformers", "datasets") if name in sys.modules))
"""


def test_the_web_process_never_imports_torch_or_transformers() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
