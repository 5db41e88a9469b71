"""From a model spec's (backend, settings) to a backend object, one per worker process."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from backends.base import BackendConfigError, ChatBackend
from backends.local_settings import LocalModelSettings
from backends.openai_settings import OpenAISettings

TRANSFORMERS = "transformers"
OPENAI = "openai"
LOCAL_BACKENDS = frozenset({TRANSFORMERS})

_backends: dict[str, Any] = {}
_lock = threading.Lock()


def validate_backend_settings(backend: str, settings: Mapping[str, Any]) -> None:
    """Refuse a spec that cannot work, before anything is queued. Never imports torch, reads
    no API key and opens no connection: the workers, not the web process, hold those."""
    if backend == TRANSFORMERS:
        LocalModelSettings.from_settings(settings)
    elif backend == OPENAI:
        OpenAISettings.from_settings(settings)
    else:
        raise BackendConfigError(f"Unknown backend '{backend}'; use transformers or openai.")


def backend_for(backend: str, settings: Mapping[str, Any]) -> ChatBackend:
    """The same settings give the same object for the life of the process: a local model is
    loaded once per worker, an HTTP client keeps its connection pool."""
    key = json.dumps([backend, settings], sort_keys=True)
    with _lock:
        if key not in _backends:
            _backends[key] = _build(backend, settings)
        built: ChatBackend = _backends[key]
        return built


def _build(backend: str, settings: Mapping[str, Any]) -> ChatBackend:
    if backend == TRANSFORMERS:
        from backends.local import TransformersBackend  # imports torch: workers only

        return TransformersBackend(LocalModelSettings.from_settings(settings))
    if backend == OPENAI:
        from backends.openai_http import OpenAIChatBackend

        return OpenAIChatBackend.from_settings(settings)
    raise BackendConfigError(f"Unknown backend '{backend}'; use transformers or openai.")
