"""Local transformers models on a GPU (bf16) or the CPU: loaded once per worker process.

Only Celery workers import this module: it imports torch. Generation is batched with left
padding, prompts sorted by length so a batch pads little.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from backends.base import BackendConfigError, Generation, Message
from backends.local_settings import LocalModelSettings, resolve_model_path

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    model: Any
    tokenizer: PreTrainedTokenizerBase
    device: str


_loaded: dict[tuple[str, str | None], LoadedModel] = {}
_load_lock = threading.Lock()


def model_cache_root() -> Path:
    return Path(os.environ.get("DEMUR_MODEL_CACHE", Path.home() / ".cache" / "demur" / "models"))


def load_model(path: str, gguf_file: str | None) -> LoadedModel:
    """The model for (path, gguf_file), loaded on the first call in this process only."""
    key = (path, gguf_file)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load_uncached(path, gguf_file)
        return _loaded[key]


def _load_uncached(path: str, gguf_file: str | None) -> LoadedModel:
    started = time.perf_counter()
    folder = resolve_model_path(path)
    source = gguf_safetensors_cache(folder, gguf_file) if gguf_file else folder
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model: Any = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
        model = model.to(device).eval()
    except OSError as error:
        raise BackendConfigError(f"Cannot load the model at '{path}': {error}") from error
    if tokenizer.chat_template is None:
        raise BackendConfigError(f"The tokenizer of '{path}' has no chat template.")
    tokenizer.padding_side = "left"  # decoder-only models continue from the right edge
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    log.info("Loaded %s on %s in %.1f s", path, device, time.perf_counter() - started)
    return LoadedModel(model=model, tokenizer=tokenizer, device=device)


def gguf_safetensors_cache(folder: str, gguf_file: str) -> str:
    """A GGUF file is dequantised on every load (about 12 s for SmolLM2-135M on 2 cores); the
    dequantised weights are saved once as safetensors and later loads read those (under 1 s)."""
    gguf_path = Path(folder) / gguf_file
    if not gguf_path.exists():
        raise BackendConfigError(f"No GGUF file {gguf_file} in {folder}.")
    stat = gguf_path.stat()
    fingerprint = f"{gguf_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    target = model_cache_root() / hashlib.sha256(fingerprint.encode()).hexdigest()[:20]
    if (target / "config.json").exists():
        return str(target)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    model: Any = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file)
    # transformers marks the model as GGUF-quantised and refuses to save it; the weights are
    # already plain tensors, so the marker is dropped to save them as an ordinary checkpoint.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    try:
        partial.rename(target)  # atomic: a second worker never reads half a checkpoint
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)  # another process finished first
    return str(target)


class TransformersBackend:
    def __init__(self, settings: LocalModelSettings) -> None:
        self.settings = settings
        self.loaded = load_model(settings.path, settings.gguf_file)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> TransformersBackend:
        return cls(LocalModelSettings.from_settings(settings))

    def chat_text(self, conversation: Sequence[Message]) -> str:
        messages = list(conversation)
        if self.settings.system_prompt and not any(m["role"] == "system" for m in messages):
            messages = [{"role": "system", "content": self.settings.system_prompt}, *messages]
        text = self.loaded.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def generate(self, conversations: Sequence[Sequence[Message]]) -> list[Generation]:
        return self.generate_text([self.chat_text(c) for c in conversations])

    def generate_text(self, prompts: Sequence[str]) -> list[Generation]:
        """Raw prompts (already templated), batched by length; results in input order."""
        tokenizer = self.loaded.tokenizer
        lengths = [len(tokenizer(p, add_special_tokens=False).input_ids) for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: lengths[i])
        results: list[Generation | None] = [None] * len(prompts)
        size = self.settings.batch_size
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            for index, generation in zip(
                batch, self._generate_isolating_failures([prompts[i] for i in batch]), strict=True
            ):
                results[index] = generation
        return [r for r in results if r is not None]

    def _generate_isolating_failures(self, prompts: list[str]) -> list[Generation]:
        try:
            return self._generate_batch(prompts)
        except Exception as error:  # one bad item must not sink its neighbours
            if len(prompts) == 1:
                return [failed_generation(error)]
            log.warning("Batch of %d failed (%s); retrying one by one", len(prompts), error)
            return [g for p in prompts for g in self._generate_isolating_failures([p])]

    @torch.inference_mode()
    def _generate_batch(self, prompts: list[str]) -> list[Generation]:
        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        started = time.perf_counter()
        encoded = tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.loaded.device)
        if self.settings.seed is not None:
            torch.manual_seed(self.settings.seed)
        sampling: dict[str, Any] = (
            {
                "do_sample": True,
                "temperature": self.settings.temperature,
                "top_p": self.settings.top_p,
            }
            if self.settings.do_sample
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        )
        output = model.generate(
            **encoded,
            max_new_tokens=self.settings.max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            **sampling,
        )
        latency_ms = round((time.perf_counter() - started) * 1000)
        prompt_width = encoded["input_ids"].shape[1]
        prompt_tokens = encoded["attention_mask"].sum(dim=1).tolist()
        return [
            self._decode(row[prompt_width:], int(n), latency_ms)
            for row, n in zip(output, prompt_tokens, strict=True)
        ]

    def _decode(self, new_tokens: Any, prompt_tokens: int, latency_ms: int) -> Generation:
        tokenizer = self.loaded.tokenizer
        ids = new_tokens.tolist()
        stops = stop_token_ids(self.loaded)
        end = next((i for i, token in enumerate(ids) if token in stops), None)
        kept = ids if end is None else ids[:end]
        return Generation(
            text=str(tokenizer.decode(kept, skip_special_tokens=True)).strip(),
            finish_reason="length" if end is None else "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=len(kept) + (0 if end is None else 1),
            latency_ms=latency_ms,
        )

    @torch.inference_mode()
    def next_token_logprobs(
        self, conversations: Sequence[Sequence[Message]], candidates: Sequence[str]
    ) -> list[dict[str, float]]:
        """One forward pass per batch: log-probabilities of each candidate's first token."""
        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        first_tokens = {
            candidate: tokenizer(candidate, add_special_tokens=False).input_ids[0]
            for candidate in candidates
        }
        prompts = [self.chat_text(c) for c in conversations]
        scores: list[dict[str, float]] = []
        size = self.settings.batch_size
        for start in range(0, len(prompts), size):
            encoded = tokenizer(
                prompts[start : start + size],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            ).to(self.loaded.device)
            logits = model(**encoded).logits[:, -1, :].float()  # left padding: last is real
            logprobs = torch.log_softmax(logits, dim=-1)
            for row in logprobs:
                scores.append({c: float(row[t]) for c, t in first_tokens.items()})
        return scores


def stop_token_ids(loaded: LoadedModel) -> set[int]:
    ids = {loaded.tokenizer.eos_token_id}
    configured = getattr(loaded.model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif isinstance(configured, list):
        ids.update(configured)
    return {i for i in ids if i is not None}


def failed_generation(error: Exception) -> Generation:
    return Generation(
        text="",
        finish_reason="error",
        prompt_tokens=None,
        completion_tokens=None,
        latency_ms=0,
        error=f"{type(error).__name__}: {error}",
    )
