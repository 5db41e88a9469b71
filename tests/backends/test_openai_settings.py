"""The OpenAI backend's settings: one frozen dataclass checked like the local model's settings,
whether they come from a model spec's JSON or from code building a backend directly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backends.base import BackendConfigError
from backends.openai_http import OpenAIChatBackend
from backends.openai_settings import OpenAISettings

REPO = Path(__file__).resolve().parent.parent.parent
URL = "http://127.0.0.1:8000/v1"


def test_a_backend_built_in_code_refuses_a_setting_of_the_wrong_type_in_one_sentence() -> None:
    with pytest.raises(BackendConfigError) as raised:
        OpenAIChatBackend(base_url=URL, model="m", max_concurrency="8")  # type: ignore[arg-type]

    assert str(raised.value) == "The setting 'max_concurrency' must be an integer, not '8'."


def test_settings_from_a_model_spec_fill_in_defaults_and_read_an_empty_key_name_as_none() -> None:
    settings = OpenAISettings.from_settings(
        {"base_url": URL, "model": "m", "api_key_env": "", "seed": None}
    )

    assert settings == OpenAISettings(base_url=URL, model="m")
    assert (settings.api_key_env, settings.max_concurrency, settings.timeout_s) == (None, 8, 120)


def test_checking_a_model_spec_opens_no_http_client() -> None:
    """The web process checks every spec; only workers talk to the server."""
    code = (
        "import sys; from backends.registry import validate_backend_settings; "
        f"validate_backend_settings('openai', {{'base_url': {URL!r}, 'model': 'm'}}); "
        "print(sorted(m for m in ('requests', 'urllib3') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
