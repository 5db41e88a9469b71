"""Settings of an OpenAI-compatible server, checked without a connection or the API key (the
web process validates model specs; only workers send requests). The same style as
``local_settings.LocalModelSettings``: a frozen dataclass, ``from_settings`` for the JSON a
ModelSpec stores, ``check`` for the ranges."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from backends.base import BackendConfigError

DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_BACKOFF_S = 1.0
DEFAULT_MAX_NEW_TOKENS = 512
DEFAULT_TEMPERATURE = 0.0


@dataclass(frozen=True)
class OpenAISettings:
    """``api_key_env`` names the environment variable that holds the key (None: no key); the
    key itself is read only when a worker builds the backend."""

    base_url: str
    model: str
    api_key_env: str | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float | None = None
    seed: int | None = None
    # Not a stored setting (a model spec cannot hold it): code that builds a backend directly,
    # tests above all, shortens the wait between retries.
    backoff_s: float = field(default=DEFAULT_BACKOFF_S, metadata={"stored": False})

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> OpenAISettings:
        """From the JSON a ModelSpec stores, or BackendConfigError in one sentence naming the
        setting. ``base_url`` and ``model`` are required; missing or null means the default;
        ``api_key_env`` "" means no key. Unknown keys are refused, so that a typo does not
        silently fall back to a default."""
        if not isinstance(settings, Mapping):
            raise BackendConfigError("The openai backend settings must be a JSON object.")
        unknown = sorted(str(key) for key in settings if key not in SETTINGS_KEYS)
        if unknown:
            raise BackendConfigError(
                f"Unknown openai backend setting {unknown[0]!r} "
                f"(known settings: {', '.join(SETTINGS_KEYS)})."
            )
        for key in REQUIRED_KEYS:
            if settings.get(key) in (None, ""):
                raise BackendConfigError(f"The openai backend setting {key!r} is missing.")
        given = {key: value for key, value in settings.items() if value is not None}
        if given.get("api_key_env") == "":
            del given["api_key_env"]
        values = cls(**given)
        values.check()
        return values

    def check(self) -> None:
        """BackendConfigError, in one sentence naming the setting, for a value of the wrong
        type or out of range."""
        for setting in fields(self):
            _check_type(setting.name, getattr(self, setting.name))
        if not self.base_url.startswith(("http://", "https://")):
            raise BackendConfigError(
                f"base_url must be an http:// or https:// URL such as "
                f"'http://127.0.0.1:8000/v1', not {self.base_url!r}."
            )
        if not self.model.strip():
            raise BackendConfigError("model must name the model the server serves.")
        if self.max_concurrency < 1:
            raise BackendConfigError(
                f"max_concurrency must be at least 1, not {self.max_concurrency}."
            )
        if not (self.timeout_s > 0 and math.isfinite(self.timeout_s)):
            raise BackendConfigError(f"timeout_s must be a positive number, not {self.timeout_s}.")
        if self.max_retries < 0:
            raise BackendConfigError(f"max_retries must be 0 or more, not {self.max_retries}.")
        if not (self.backoff_s >= 0 and math.isfinite(self.backoff_s)):
            raise BackendConfigError(f"backoff_s must be 0 or more, not {self.backoff_s}.")
        if self.max_new_tokens < 1:
            raise BackendConfigError(
                f"max_new_tokens must be at least 1, not {self.max_new_tokens}."
            )
        if not (self.temperature >= 0 and math.isfinite(self.temperature)):
            raise BackendConfigError(f"temperature must be 0 or more, not {self.temperature}.")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise BackendConfigError(f"top_p must be in (0, 1], not {self.top_p}.")
        if self.api_key_env is not None and not self.api_key_env.strip():
            raise BackendConfigError("api_key_env must name an environment variable.")


SETTINGS_KEYS = tuple(
    setting.name for setting in fields(OpenAISettings) if setting.metadata.get("stored", True)
)
"""The keys ``from_settings`` accepts (what a ModelSpec of backend "openai" stores)."""
REQUIRED_KEYS = ("base_url", "model")

# What each setting must be, as the error sentence says it. JSON (and Python) let true pass for
# 1, so booleans are refused wherever a number is asked for.
_TEXT, _WHOLE, _NUMBER = (str,), (int,), (int, float)
_KINDS: dict[tuple[type, ...], str] = {_TEXT: "a string", _WHOLE: "an integer", _NUMBER: "a number"}
_TYPES: dict[str, tuple[tuple[type, ...], bool]] = {  # setting: (types, may be None)
    "base_url": (_TEXT, False),
    "model": (_TEXT, False),
    "api_key_env": (_TEXT, True),
    "max_concurrency": (_WHOLE, False),
    "timeout_s": (_NUMBER, False),
    "max_retries": (_WHOLE, False),
    "max_new_tokens": (_WHOLE, False),
    "temperature": (_NUMBER, False),
    "top_p": (_NUMBER, True),
    "seed": (_WHOLE, True),
    "backoff_s": (_NUMBER, False),
}


def _check_type(name: str, value: object) -> None:
    types, optional = _TYPES[name]
    if value is None and optional:
        return
    if not isinstance(value, types) or isinstance(value, bool):
        raise BackendConfigError(f"The setting {name!r} must be {_KINDS[types]}, not {value!r}.")
