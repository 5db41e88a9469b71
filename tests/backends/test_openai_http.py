"""OpenAIChatBackend against a real local HTTP server whose answers each test scripts."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest

from backends.base import BackendConfigError, ChatBackend, Generation, Message
from backends.openai_http import OpenAIChatBackend

Reply = tuple[int, dict[str, str], bytes]  # status, extra headers, body


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        content: str = self.body["messages"][-1]["content"]
        return content


def completion(
    text: str,
    *,
    finish_reason: str = "stop",
    usage: dict[str, int] | None = None,
) -> Reply:
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def echo(seen: Seen) -> Reply:
    return completion(f"echo: {seen.prompt}", usage={"prompt_tokens": 3, "completion_tokens": 2})


@dataclass
class FakeServer:
    url: str = ""
    respond: Callable[[Seen], Reply] = echo
    requests: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Set at teardown: handlers that wait on it (to outlast a client timeout) stop waiting.
    release: threading.Event = field(default_factory=threading.Event)

    def count(self, prompt: str) -> int:
        with self.lock:
            return sum(1 for seen in self.requests if seen.prompt == prompt)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real inference servers do

    def do_POST(self) -> None:
        fake = cast(_Server, self.server).fake
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        seen = Seen(path=self.path, headers=headers, body=json.loads(raw))
        with fake.lock:
            fake.requests.append(seen)
            fake.in_flight += 1
            fake.peak = max(fake.peak, fake.in_flight)
        try:
            status, extra_headers, body = fake.respond(seen)
        finally:
            # Before the reply goes out, so the client cannot send its next request first.
            with fake.lock:
                fake.in_flight -= 1
        try:
            self.send_response(status)
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up waiting (timeout tests)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    # A proxy configured in the environment must not intercept requests to the test server.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    fake = FakeServer()
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.fake = fake
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield fake
    fake.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def make_backend(server: FakeServer) -> Iterator[Callable[..., OpenAIChatBackend]]:
    """Backends for the test server, quick to give up; closed after the test."""
    built: list[OpenAIChatBackend] = []

    def make(**overrides: Any) -> OpenAIChatBackend:
        options: dict[str, Any] = {
            "base_url": server.url,
            "model": "test-model",
            "backoff_s": 0.0,
            "max_retries": 2,
            "timeout_s": 5.0,
        }
        backend = OpenAIChatBackend(**(options | overrides))
        built.append(backend)
        return backend

    yield make
    for backend in built:
        backend.close()


def ask(text: str) -> list[Message]:
    return [{"role": "user", "content": text}]


def succeeded(generation: Generation) -> bool:
    return generation.error == "" and generation.finish_reason != "error"


# --- generate ------------------------------------------------------------------------------


def test_generate_posts_the_settings_to_chat_completions_and_parses_text_usage_and_finish_reason(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    server.respond = lambda seen: completion(
        "Hello there",
        finish_reason="length",
        usage={"prompt_tokens": 11, "completion_tokens": 64, "total_tokens": 75},
    )
    backend = make_backend(
        base_url=server.url + "/", max_new_tokens=64, temperature=0.7, top_p=0.9, seed=7
    )
    conversation: list[Message] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]

    [generation] = backend.generate([conversation])

    assert generation.text == "Hello there"
    assert generation.finish_reason == "length"
    assert (generation.prompt_tokens, generation.completion_tokens) == (11, 64)
    assert generation.error == ""
    assert generation.latency_ms >= 0
    [seen] = server.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.body == {
        "model": "test-model",
        "messages": conversation,
        "max_tokens": 64,
        "temperature": 0.7,
        "top_p": 0.9,
        "seed": 7,
    }


def test_top_p_and_seed_are_left_out_of_the_request_when_unset(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    make_backend().generate([ask("Hi")])

    [seen] = server.requests
    assert set(seen.body) == {"model", "messages", "max_tokens", "temperature"}
    assert seen.body["max_tokens"] == 512
    assert seen.body["temperature"] == 0.0


def test_a_reply_without_usage_has_no_token_counts(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    server.respond = lambda seen: completion("ok", usage=None)

    [generation] = make_backend().generate([ask("Hi")])

    assert succeeded(generation)
    assert generation.text == "ok"
    assert generation.prompt_tokens is None
    assert generation.completion_tokens is None


def test_a_refusal_with_null_content_becomes_the_text(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    body = {
        "choices": [
            {
                "message": {"role": "assistant", "content": None, "refusal": "I can't help."},
                "finish_reason": "stop",
            }
        ]
    }
    server.respond = lambda seen: (200, {}, json.dumps(body).encode())

    [generation] = make_backend().generate([ask("Hi")])

    assert succeeded(generation)
    assert generation.text == "I can't help."


def test_the_backend_satisfies_the_chat_backend_protocol(
    make_backend: Callable[..., OpenAIChatBackend],
) -> None:
    backend: ChatBackend = make_backend()

    assert backend.generate([]) == []
    assert backend.next_token_logprobs([], ["Yes"]) == []


def test_a_429_with_retry_after_zero_is_retried_and_the_item_succeeds(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    def respond(seen: Seen) -> Reply:
        if len(server.requests) == 1:
            return 429, {"Retry-After": "0"}, b'{"error": "rate limited"}'
        return echo(seen)

    server.respond = respond

    [generation] = make_backend().generate([ask("Hi")])

    assert succeeded(generation), generation.error
    assert generation.text == "echo: Hi"
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_transient_status_without_retry_after_is_retried_and_the_item_succeeds(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend], status: int
) -> None:
    def respond(seen: Seen) -> Reply:
        if len(server.requests) == 1:
            return status, {}, b"try again"
        return echo(seen)

    server.respond = respond

    [generation] = make_backend().generate([ask("Hi")])

    assert succeeded(generation), generation.error
    assert len(server.requests) == 2


def test_retry_after_is_waited_for_before_the_retry(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    def respond(seen: Seen) -> Reply:
        if len(server.requests) == 1:
            return 503, {"Retry-After": "1"}, b"warming up"
        return echo(seen)

    server.respond = respond
    started = time.monotonic()

    [generation] = make_backend(backoff_s=0.0).generate([ask("Hi")])

    assert succeeded(generation), generation.error
    assert time.monotonic() - started >= 0.9
    assert generation.latency_ms >= 900
    assert len(server.requests) == 2


def test_an_item_answered_503_every_time_fails_alone_with_the_status_in_its_error(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    def respond(seen: Seen) -> Reply:
        if seen.prompt == "overload me":
            return 503, {}, b"model is overloaded"
        return echo(seen)

    server.respond = respond

    first, failed, last = make_backend(max_retries=2).generate(
        [ask("one"), ask("overload me"), ask("three")]
    )

    assert failed.error == "HTTP 503 after 2 retries: model is overloaded"
    assert failed.text == ""
    assert failed.finish_reason == "error"
    assert server.count("overload me") == 3  # the first try and 2 retries
    assert [first.text, last.text] == ["echo: one", "echo: three"]
    assert succeeded(first)
    assert succeeded(last)


def test_a_client_error_is_not_retried_and_its_body_is_quoted_up_to_200_characters(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    body = "x" * 150 + "y" * 150
    server.respond = lambda seen: (400, {}, body.encode())

    [generation] = make_backend().generate([ask("Hi")])

    assert generation.error == "HTTP 400: " + body[:200]
    assert len(server.requests) == 1


def test_a_server_slower_than_timeout_s_times_out_that_item_only(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    def respond(seen: Seen) -> Reply:
        if seen.prompt == "slow":
            server.release.wait(5)
        return echo(seen)

    server.respond = respond

    fast, slow = make_backend(timeout_s=0.2, max_retries=1).generate([ask("fast"), ask("slow")])

    assert slow.error == "timeout after 1 retry: no response within 0.2 s"
    assert slow.finish_reason == "error"
    assert slow.latency_ms >= 400  # two tries of 0.2 s each
    assert server.count("slow") == 2
    assert succeeded(fast)
    assert fast.text == "echo: fast"


def test_a_refused_connection_becomes_the_items_error(free_port: int) -> None:
    with OpenAIChatBackend(
        base_url=f"http://127.0.0.1:{free_port}/v1", model="m", max_retries=0, backoff_s=0
    ) as backend:
        [generation] = backend.generate([ask("Hi")])

    assert generation.error.startswith("connection error: HTTPConnection(host='127.0.0.1'")
    assert generation.finish_reason == "error"


@pytest.mark.parametrize(
    ("body", "expected_error"),
    [
        (b"<html>Bad gateway</html>", "malformed JSON in HTTP 200 response: <html>Bad gateway"),
        (b'{"choices": []}', "response has no choices"),
        (b'{"object": "error"}', "response has no choices"),
        (b'{"choices": [{"finish_reason": "stop"}]}', "response choice has no message"),
    ],
)
def test_a_200_that_is_not_a_chat_completion_is_that_items_error(
    server: FakeServer,
    make_backend: Callable[..., OpenAIChatBackend],
    body: bytes,
    expected_error: str,
) -> None:
    def respond(seen: Seen) -> Reply:
        return (200, {}, body) if seen.prompt == "broken" else echo(seen)

    server.respond = respond

    broken, fine = make_backend().generate([ask("broken"), ask("fine")])

    assert broken.error.startswith(expected_error), broken.error
    assert broken.text == ""
    assert server.count("broken") == 1  # a 200 is not retried
    assert succeeded(fine)


def test_requests_in_flight_never_exceed_max_concurrency_and_results_keep_input_order(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    def respond(seen: Seen) -> Reply:
        # Later prompts answer sooner, so completion order differs from input order.
        time.sleep(0.16 - 0.01 * int(seen.prompt.split()[1]))
        return echo(seen)

    server.respond = respond
    prompts = [f"prompt {i}" for i in range(12)]

    generations = make_backend(max_concurrency=3).generate([ask(p) for p in prompts])

    assert [g.text for g in generations] == [f"echo: {p}" for p in prompts]
    assert server.peak == 3
    assert len(server.requests) == 12


# --- API key -------------------------------------------------------------------------------


def test_the_api_key_is_sent_as_a_bearer_token_and_not_shown_by_repr(
    server: FakeServer,
    make_backend: Callable[..., OpenAIChatBackend],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMUR_TEST_API_KEY", "sk-test-secret")
    backend = make_backend(api_key_env="DEMUR_TEST_API_KEY")

    [generation] = backend.generate([ask("Hi")])

    assert succeeded(generation)
    assert server.requests[0].headers["authorization"] == "Bearer sk-test-secret"
    assert "sk-test-secret" not in repr(backend)
    assert "sk-test-secret" not in repr(vars(backend))


def test_no_authorization_header_is_sent_without_api_key_env(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    make_backend().generate([ask("Hi")])

    assert "authorization" not in server.requests[0].headers


def test_an_unset_api_key_variable_is_a_config_error_naming_it(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEMUR_TEST_API_KEY", raising=False)

    with pytest.raises(BackendConfigError, match="DEMUR_TEST_API_KEY"):
        OpenAIChatBackend(base_url=server.url, model="m", api_key_env="DEMUR_TEST_API_KEY")


# --- next_token_logprobs -------------------------------------------------------------------


def logprobs_reply(top: list[tuple[str, float]]) -> Reply:
    first_token, first_logprob = top[0]
    body = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": first_token},
                "finish_reason": "length",
                "logprobs": {
                    "content": [
                        {
                            "token": first_token,
                            "logprob": first_logprob,
                            "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top],
                        }
                    ]
                },
            }
        ]
    }
    return 200, {}, json.dumps(body).encode()


def test_next_token_logprobs_matches_candidates_in_top_logprobs_and_gives_minus_inf_otherwise(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    server.respond = lambda seen: logprobs_reply(
        [("Sure", -0.1), (" I", -2.5), ("I", -3.0), ("sure", -4.0), (" No", -6.0)]
    )

    [scores] = make_backend().next_token_logprobs([ask("Hi")], ["Sure", "I", " I", "sure", "Yes"])

    assert scores["Sure"] == pytest.approx(-0.1)  # the chosen token is not counted twice
    # " I" and "I" are the same candidate once leading whitespace goes: their chances add up.
    assert scores["I"] == pytest.approx(math.log(math.exp(-2.5) + math.exp(-3.0)))
    assert scores[" I"] == scores["I"]
    assert scores["sure"] == pytest.approx(-4.0)  # case-sensitive
    assert scores["Yes"] == -math.inf
    [seen] = server.requests
    assert seen.body["max_tokens"] == 1
    assert seen.body["logprobs"] is True
    assert seen.body["top_logprobs"] == 20


def test_next_token_logprobs_gives_nan_for_a_failed_item_and_logs_why(
    server: FakeServer,
    make_backend: Callable[..., OpenAIChatBackend],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def respond(seen: Seen) -> Reply:
        if seen.prompt == "fail":
            return 503, {}, b"down"
        return logprobs_reply([("Yes", -0.2), ("No", -1.8)])

    server.respond = respond

    with caplog.at_level(logging.WARNING, logger="backends.openai_http"):
        ok, failed = make_backend(max_retries=0).next_token_logprobs(
            [ask("fine"), ask("fail")], ["Yes", "No"]
        )

    assert ok == {"Yes": pytest.approx(-0.2), "No": pytest.approx(-1.8)}
    assert set(failed) == {"Yes", "No"}
    assert all(math.isnan(value) for value in failed.values())
    assert "HTTP 503: down" in caplog.text


def test_next_token_logprobs_gives_nan_when_the_server_sends_no_logprobs(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    [scores] = make_backend().next_token_logprobs([ask("Hi")], ["Yes"])

    assert math.isnan(scores["Yes"])


# --- settings ------------------------------------------------------------------------------


def test_from_settings_builds_a_backend_from_a_model_specs_settings() -> None:
    backend = OpenAIChatBackend.from_settings(
        {
            "base_url": "http://127.0.0.1:8000/v1",
            "model": "Qwen/Qwen2.5-7B-Instruct",
            "api_key_env": "",
            "max_concurrency": 16,
            "timeout_s": 30,
            "max_retries": 3,
            "max_new_tokens": 256,
            "temperature": 0,
            "top_p": None,
            "seed": 1234,
        }
    )

    assert backend.url == "http://127.0.0.1:8000/v1/chat/completions"
    assert backend.model == "Qwen/Qwen2.5-7B-Instruct"
    assert backend.api_key_env is None
    assert (backend.max_concurrency, backend.timeout_s, backend.max_retries) == (16, 30.0, 3)
    assert (backend.max_new_tokens, backend.temperature, backend.seed) == (256, 0.0, 1234)
    assert backend.top_p is None
    backend.close()


GOOD_SETTINGS: dict[str, Any] = {"base_url": "http://127.0.0.1:8000/v1", "model": "m"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"base_url": None}, "base_url"),
        ({"base_url": "127.0.0.1:8000/v1"}, "base_url"),
        ({"model": ""}, "model"),
        ({"model": 7}, "model"),
        ({"api_key_env": 1}, "api_key_env"),
        ({"max_concurrency": "8"}, "max_concurrency"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"timeout_s": -1}, "timeout_s"),
        ({"timeout_s": True}, "timeout_s"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"seed": 1.5}, "seed"),
        ({"max_token": 100}, "max_token"),
    ],
)
def test_from_settings_refuses_a_bad_or_missing_key_in_one_sentence_naming_it(
    change: dict[str, Any], named: str
) -> None:
    settings = {k: v for k, v in (GOOD_SETTINGS | change).items() if v is not None}

    with pytest.raises(BackendConfigError) as raised:
        OpenAIChatBackend.from_settings(settings)

    message = str(raised.value)
    assert named in message
    assert message.endswith(".")
    assert ". " not in message.replace("e.g. ", "")


def test_check_settings_validates_without_reading_the_api_key_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEMUR_TEST_API_KEY", raising=False)
    settings = GOOD_SETTINGS | {"api_key_env": "DEMUR_TEST_API_KEY"}

    OpenAIChatBackend.check_settings(settings)  # the workers, not this process, hold the key

    with pytest.raises(BackendConfigError, match="max_concurrency"):
        OpenAIChatBackend.check_settings(settings | {"max_concurrency": 0})
    with pytest.raises(BackendConfigError, match="DEMUR_TEST_API_KEY"):
        OpenAIChatBackend.from_settings(settings)


def test_generate_text_sends_raw_prompts_to_completions_for_fixed_format_judges(
    server: FakeServer, make_backend: Callable[..., OpenAIChatBackend]
) -> None:
    def respond(seen: Seen) -> Reply:
        if seen.path.endswith("/chat/completions"):
            return 404, {}, b"not here"
        text = "Response refusal: yes" if "refuse" in seen.body["prompt"] else "503 me"
        status = 200 if text.startswith("Response") else 503
        body = {"choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 4}}  # fmt: skip
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    server.respond = respond
    first, second = make_backend(max_new_tokens=32).generate_text(["<s>please refuse", "<s>x"])
    assert (first.text, first.prompt_tokens, first.completion_tokens) == (
        "Response refusal: yes", 9, 4
    )  # fmt: skip
    assert second.text == "" and second.error.startswith("HTTP 503")
    sent = next(seen for seen in server.requests if seen.body["prompt"] == "<s>please refuse")
    assert sent.path == "/v1/completions"
    assert sent.body == {"model": "test-model", "prompt": "<s>please refuse", "max_tokens": 32,
                         "temperature": 0.0}  # fmt: skip
