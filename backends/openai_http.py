"""A ChatBackend for any OpenAI-compatible chat-completions server.

vLLM, TGI, the llama.cpp server and OpenAI itself all answer ``POST {base_url}/chat/completions``.
Requests go out in parallel (at most ``max_concurrency`` in flight per backend) through one
``requests.Session`` whose connection pool is as large as that bound. Retries are urllib3's
``Retry`` mounted through ``HTTPAdapter``: 429/500/502/503/504, connection errors and read
timeouts are retried with exponential backoff, honouring ``Retry-After``. Whatever still fails
becomes that item's ``error``; one bad item never sinks a batch.

The API key is read from the environment variable *named* by ``api_key_env`` when the backend
is built. It lives only in the session's auth hook, which sends it as ``Authorization: Bearer
...``: it is no attribute of the backend, and no ``repr``, error text or log line shows it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from types import TracebackType
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from backends.base import BackendConfigError, Generation, Message
from backends.openai_settings import (
    DEFAULT_BACKOFF_S,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TEMPERATURE,
    DEFAULT_TIMEOUT_S,
    SETTINGS_KEYS,
    OpenAISettings,
)

logger = logging.getLogger(__name__)

__all__ = ["RETRY_STATUSES", "SETTINGS_KEYS", "OpenAIChatBackend"]

RETRY_STATUSES = (429, 500, 502, 503, 504)
"""HTTP statuses that are retried, with backoff or after the server's ``Retry-After``."""

TOP_LOGPROBS = 20
"""How many alternatives ``next_token_logprobs`` asks for (OpenAI's maximum, vLLM's default cap)."""

_PREVIEW_CHARS = 200  # how much of a bad response body an error quotes
_T = TypeVar("_T")
_R = TypeVar("_R")


class _ItemError(Exception):
    """One request failed for good; the message is what the item's ``error`` says."""


class _BearerAuth(AuthBase):
    """Adds ``Authorization: Bearer <key>`` to each request; its repr does not show the key."""

    def __init__(self, key: str) -> None:
        self._header = f"Bearer {key}"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<hidden>)"


class OpenAIChatBackend:
    """``ChatBackend`` over HTTP against an OpenAI-compatible ``/chat/completions`` endpoint.

    Thread-safe: ``generate`` and ``next_token_logprobs`` may be called from several threads;
    the connection pool (``pool_block=True``) keeps the whole backend at ``max_concurrency``
    requests in flight. Call ``close()`` (or use it as a context manager) to drop connections.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_s: float = DEFAULT_BACKOFF_S,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> None:
        OpenAISettings(
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            max_concurrency=max_concurrency,
            timeout_s=timeout_s,
            max_retries=max_retries,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            backoff_s=backoff_s,
        ).check()
        key: str | None = None
        if api_key_env is not None:
            key = os.environ.get(api_key_env)
            if not key:
                raise BackendConfigError(
                    f"The environment variable {api_key_env} (api_key_env) is not set or empty."
                )

        self.base_url = base_url
        self.url = base_url.rstrip("/") + "/chat/completions"
        # Raw prompts (no chat template), for judges with a fixed input format like WildGuard.
        self.text_url = base_url.rstrip("/") + "/completions"
        self.model = model
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.timeout_s = float(timeout_s)
        self.max_retries = max_retries
        self.backoff_s = float(backoff_s)
        self.max_new_tokens = max_new_tokens
        self.temperature = float(temperature)
        self.top_p = None if top_p is None else float(top_p)
        self.seed = seed
        self._session = self._make_session(key)

    def _make_session(self, key: str | None) -> requests.Session:
        retry = Retry(
            total=self.max_retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # retry POST too: a chat completion has no side effects
            backoff_factor=self.backoff_s,
            respect_retry_after_header=True,
            raise_on_status=False,  # hand back the last bad response; it becomes the error
        )
        adapter = HTTPAdapter(
            max_retries=retry,
            pool_connections=1,
            pool_maxsize=self.max_concurrency,
            pool_block=True,
        )
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if key is not None:
            session.auth = _BearerAuth(key)
        return session

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> OpenAIChatBackend:
        """Build from the JSON a ModelSpec stores, or say in one sentence what is wrong with it.

        ``base_url`` and ``model`` are required; everything else in ``SETTINGS_KEYS`` is
        optional (missing or null means the default). ``api_key_env`` "" means no key.
        Unknown keys are refused so that a typo does not silently fall back to a default.
        """
        return cls(**asdict(OpenAISettings.from_settings(settings)))

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        """Raise BackendConfigError if ``from_settings`` would, except for the API key.

        Reads no environment variable and opens no connection: the web process checking a
        spec need not hold the key that the workers have.
        """
        OpenAISettings.from_settings(settings)

    def __repr__(self) -> str:
        return (
            f"OpenAIChatBackend(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key_env={self.api_key_env!r}, max_concurrency={self.max_concurrency})"
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> OpenAIChatBackend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- ChatBackend ---------------------------------------------------------------------

    def generate(self, conversations: Sequence[Sequence[Message]]) -> list[Generation]:
        """One Generation per conversation, in input order; failures land in ``error``."""
        return self._map(self._generate_one, [list(c) for c in conversations])

    def next_token_logprobs(
        self, conversations: Sequence[Sequence[Message]], candidates: Sequence[str]
    ) -> list[dict[str, float]]:
        """For each conversation, ``{candidate: log P(reply's first token is candidate)}``.

        Asks for one token with the top 20 alternatives. A token matches a candidate when both
        are equal once leading whitespace is stripped (case-sensitive); when several tokens
        match (``"Yes"`` and ``" Yes"``), their probabilities are added. A candidate that no
        listed token matches gets ``-inf``.

        A failed item (HTTP error after retries, timeout, a response without logprobs) gives
        ``nan`` for every candidate, so that "could not ask" differs from "not in the top 20";
        the reason is logged as a warning. Callers should record an error for such items.
        """
        wanted = list(candidates)
        if not wanted:
            return [{} for _ in conversations]

        def one(item: tuple[int, list[Message]]) -> dict[str, float]:
            index, conversation = item
            try:
                data = self._post(self._body(conversation, logprobs=True))
                tokens = _first_token_logprobs(data)
            except Exception as exc:  # one item's failure must not sink the batch
                logger.warning(
                    "next_token_logprobs: item %d failed (%s): %s",
                    index,
                    self.model,
                    _message(exc),
                )
                return dict.fromkeys(wanted, math.nan)
            return _match_candidates(tokens, wanted)

        return self._map(one, list(enumerate(list(c) for c in conversations)))

    def generate_text(self, prompts: Sequence[str]) -> list[Generation]:
        """Raw prompts to the ``/completions`` endpoint, one Generation each, in input order."""
        return self._map(self._complete_one, list(prompts))

    # --- internals -----------------------------------------------------------------------

    def _map(self, fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
        """``fn`` over ``items`` on up to ``max_concurrency`` threads, results in input order."""
        if not items:
            return []
        workers = min(self.max_concurrency, len(items))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-http") as pool:
            return list(pool.map(fn, items))

    def _body(self, conversation: list[Message], *, logprobs: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(message) for message in conversation],
            "max_tokens": 1 if logprobs else self.max_new_tokens,
            "temperature": self.temperature,
        }
        # top_p would cut the candidate list short, so logprob requests leave it out.
        if self.top_p is not None and not logprobs:
            body["top_p"] = self.top_p
        if self.seed is not None:
            body["seed"] = self.seed
        if logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = TOP_LOGPROBS
        return body

    def _generate_one(self, conversation: list[Message]) -> Generation:
        body = self._body(conversation)
        return self._timed(lambda: _parse_completion(self._post(body)))

    def _complete_one(self, prompt: str) -> Generation:
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        return self._timed(lambda: _parse_text_completion(self._post(body, url=self.text_url)))

    def _timed(self, request: Callable[[], tuple[str, str, int | None, int | None]]) -> Generation:
        start = time.perf_counter()
        try:
            text, finish_reason, prompt_tokens, completion_tokens = request()
        except Exception as exc:  # one item's failure must not sink the batch
            return Generation(
                text="",
                finish_reason="error",
                prompt_tokens=None,
                completion_tokens=None,
                latency_ms=_ms_since(start),
                error=_message(exc),
            )
        return Generation(
            text=text,
            finish_reason=finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=_ms_since(start),
        )

    def _post(self, body: dict[str, Any], *, url: str | None = None) -> Any:
        """POST one request (urllib3 retries included) and return the decoded JSON body."""
        try:
            response = self._session.post(
                url or self.url, json=body, timeout=self.timeout_s, allow_redirects=False
            )
        except requests.RequestException as exc:
            error = _describe_request_error(exc, self.timeout_s, self.max_retries)
            raise _ItemError(error) from exc
        with response:
            if not 200 <= response.status_code < 300:
                retries = getattr(getattr(response.raw, "retries", None), "history", ())
                after = f" {_after(len(retries))}" if retries else ""
                raise _ItemError(
                    f"HTTP {response.status_code}{after}: {_preview(response.content)}"
                )
            try:
                return response.json()
            except ValueError as exc:
                raise _ItemError(
                    f"malformed JSON in HTTP {response.status_code} response: "
                    f"{_preview(response.content)}"
                ) from exc


# --- response parsing ------------------------------------------------------------------------


def _first_choice(data: Any) -> dict[str, Any]:
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _ItemError(f"response has no choices: {_preview(data)}")
    choice: dict[str, Any] = choices[0]
    return choice


def _parse_text_completion(data: Any) -> tuple[str, str, int | None, int | None]:
    """(text, finish_reason, prompt_tokens, completion_tokens) from a ``/completions`` body."""
    choice = _first_choice(data)
    text = choice.get("text")
    if not isinstance(text, str):
        raise _ItemError(f"completion choice has no text: {_preview(choice)}")
    finish_reason = choice.get("finish_reason")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return (
        text,
        finish_reason if isinstance(finish_reason, str) else "",
        _count(usage.get("prompt_tokens")),
        _count(usage.get("completion_tokens")),
    )


def _parse_completion(data: Any) -> tuple[str, str, int | None, int | None]:
    """(text, finish_reason, prompt_tokens, completion_tokens) from a chat-completions body."""
    choice = _first_choice(data)
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _ItemError(f"response choice has no message: {_preview(choice)}")
    content = message.get("content")
    if content is None:
        # OpenAI reports a refusal in its own field, with content null.
        refusal = message.get("refusal")
        content = refusal if isinstance(refusal, str) else ""
    if not isinstance(content, str):
        raise _ItemError(f"message content is not text: {_preview(content)}")
    finish_reason = choice.get("finish_reason")
    usage = data.get("usage")
    if not isinstance(usage, dict):
        usage = {}
    return (
        content,
        finish_reason if isinstance(finish_reason, str) else "",
        _count(usage.get("prompt_tokens")),
        _count(usage.get("completion_tokens")),
    )


def _first_token_logprobs(data: Any) -> dict[str, float]:
    """``{token: logprob}`` for the first generated token and its listed alternatives."""
    choice = _first_choice(data)
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content or not isinstance(content[0], dict):
        raise _ItemError("response has no logprobs (does the server support logprobs=true?)")
    first: dict[str, Any] = content[0]
    entries = [first]
    top = first.get("top_logprobs")
    if isinstance(top, list):
        entries.extend(entry for entry in top if isinstance(entry, dict))
    tokens: dict[str, float] = {}
    for entry in entries:
        token, logprob = entry.get("token"), entry.get("logprob")
        if (
            isinstance(token, str)
            and isinstance(logprob, int | float)
            and not isinstance(logprob, bool)
        ):
            tokens.setdefault(token, float(logprob))
    return tokens


def _match_candidates(tokens: Mapping[str, float], candidates: Sequence[str]) -> dict[str, float]:
    by_text: dict[str, float] = {}
    for token, logprob in tokens.items():
        text = token.lstrip()
        by_text[text] = _logaddexp(by_text.get(text, -math.inf), logprob)
    return {candidate: by_text.get(candidate.lstrip(), -math.inf) for candidate in candidates}


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    high, low = max(a, b), min(a, b)
    return high + math.log1p(math.exp(low - high))


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- error text ------------------------------------------------------------------------------


def _after(retries: int) -> str:
    return f"after {retries} {'retry' if retries == 1 else 'retries'}"


def _preview(value: object) -> str:
    if isinstance(value, bytes):
        text = value[: _PREVIEW_CHARS * 4].decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value
    else:
        text = repr(value)
    return text.strip()[:_PREVIEW_CHARS]


def _describe_request_error(exc: requests.RequestException, timeout_s: float, retries: int) -> str:
    """One line for a request that got no usable response, e.g. "timeout after 5 retries: ..."."""
    reason: object = exc.args[0] if exc.args else None
    after = ""
    if isinstance(reason, MaxRetryError):  # urllib3 gave up after retrying
        reason = reason.reason
        after = f" {_after(retries)}" if retries else ""
    if isinstance(reason, NewConnectionError):  # a subclass of ConnectTimeoutError
        return f"connection error{after}: {_preview(str(reason))}"
    if isinstance(reason, ReadTimeoutError) or isinstance(exc, requests.ReadTimeout):
        return f"timeout{after}: no response within {timeout_s:g} s"
    if isinstance(reason, ConnectTimeoutError) or isinstance(exc, requests.ConnectTimeout):
        return f"timeout{after}: could not connect within {timeout_s:g} s"
    if isinstance(exc, requests.ConnectionError):
        return f"connection error{after}: {_preview(str(reason if reason else exc))}"
    return f"{type(exc).__name__}: {_preview(str(exc))}"


def _message(exc: Exception) -> str:
    if isinstance(exc, _ItemError):
        return str(exc)
    return f"{type(exc).__name__}: {_preview(str(exc))}"


def _ms_since(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)
