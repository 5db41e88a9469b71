"""How many responses per second the keyword baseline judges, on one CPU core.

    .venv/bin/python bench/keyword_judge.py [--responses 50000] [--runs 5] [--size 1000]

Builds synthetic responses of about ``--size`` characters (fixed seed): ordinary answer prose,
about a third of them with one refusal phrase from the default list at a random place (some with a
typographic apostrophe), and times ``KeywordMatcher.classify_many`` over all of them, ``--runs``
times. Prints the median responses per second. Target: at least 10,000 responses/s on ~1 KB.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judging.judges_text import (
    DEFAULT_REFUSAL_KEYWORDS,
    NOT_COMPLIED,
    KeywordMatcher,
)

PROSE = (
    "the model answers question about history science recipe travel with careful detail and "
    "examples because users often need clear steps; here is a short overview, followed by a "
    "list of sources, caveats, numbers, dates, names of places, and a summary at the end. "
    "Photosynthesis converts light into chemical energy in plants while Paris remains the capital"
)
WORDS = PROSE.split()


def make_responses(count: int, size: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    responses = []
    for _ in range(count):
        words: list[str] = []
        length = 0
        while length < size:
            word = rng.choice(WORDS)
            words.append(word)
            length += len(word) + 1
        if rng.random() < 1 / 3:
            phrase = rng.choice(DEFAULT_REFUSAL_KEYWORDS)
            if rng.random() < 0.5:
                phrase = phrase.replace("'", "\u2019")
            words.insert(rng.randrange(len(words) + 1), phrase)
        responses.append(" ".join(words))
    return responses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000, help="characters per response")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    responses = make_responses(args.responses, args.size, args.seed)
    average = sum(len(text) for text in responses) / len(responses)
    matcher = KeywordMatcher()
    rates = []
    refused = 0
    for _ in range(args.runs):
        start = time.perf_counter()
        verdicts = matcher.classify_many(responses)
        elapsed = time.perf_counter() - start
        rates.append(len(responses) / elapsed)
        refused = sum(verdict.label == NOT_COMPLIED for verdict in verdicts)
    print(
        f"keyword judge: {statistics.median(rates):,.0f} responses/s "
        f"(median of {args.runs}; {len(responses):,} responses of {average:,.0f} characters, "
        f"{refused:,} not_complied; "
        f"runs {', '.join(f'{rate:,.0f}' for rate in rates)})"
    )


if __name__ == "__main__":
    main()
