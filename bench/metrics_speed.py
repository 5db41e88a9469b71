"""How long the whole analysis report takes for 100,000 labels x 3 judges.

    .venv/bin/python bench/metrics_speed.py [--items 100000] [--runs 5] [--resamples 1000]

Builds synthetic data with a fixed seed: ``--items`` responses with a gold label (complied,
not_complied, neither), a sampling weight from one of three strata, and the labels of 3 judges of
different quality (with some unparseable and error verdicts); and ``--items`` items labelled by 3
annotators each, some labels missing. Every input is a plain Python list of strings, as the
database gives them, so turning labels into arrays is part of the time.

One report is: for each judge, ``agreement`` with sampling weights (accuracy, kappa,
precision/recall/F1, failure share, each with a bootstrap interval), ``compliance_rate`` and
``judge_corrected_rate`` (gold on a 2,000-item sample); ``compare_judges`` for each pair of
judges; ``inter_annotator`` on the annotators (alpha, Fleiss, raw agreement, pairwise kappa).
Prints the median of ``--runs`` reports. Target: under 2 s.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.metrics import (
    agreement,
    compare_judges,
    compliance_rate,
    inter_annotator,
    judge_corrected_rate,
)

CLASSES = np.array(["complied", "not_complied", "neither"])
JUDGE_LABELS = np.array(["complied", "not_complied", "neither", "unparseable", "error"])
GOLD_SAMPLE = 2000


def make_data(items: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    gold = CLASSES[rng.choice(3, size=items, p=[0.45, 0.45, 0.1])]
    judges = {}
    for name, noise in (("keyword", 0.35), ("rubric", 0.15), ("wildguard", 0.2)):
        labels = gold.copy()
        wrong = rng.random(items) < noise
        labels[wrong] = JUDGE_LABELS[
            rng.choice(5, size=int(wrong.sum()), p=[0.4, 0.4, 0.1, 0.07, 0.03])
        ]
        judges[name] = labels.tolist()
    weights = rng.choice([1.0, 2.5, 8.0], size=items).tolist()
    truth = rng.integers(0, 3, items)
    codes = np.where(rng.random((items, 3)) < 0.8, truth[:, None], rng.integers(0, 3, (items, 3)))
    ratings = CLASSES[codes].astype(object)
    ratings[rng.random((items, 3)) < 0.1] = None
    return {
        "gold": gold.tolist(),
        "judges": judges,
        "weights": weights,
        "sample": rng.choice(items, GOLD_SAMPLE, replace=False),
        "ratings": ratings.tolist(),
    }


def report(data: dict[str, Any], resamples: int) -> dict[str, Any]:
    gold, judges, weights = data["gold"], data["judges"], data["weights"]
    sample = data["sample"]
    gold_sample = [gold[i] for i in sample]
    result: dict[str, Any] = {}
    for name, labels in judges.items():
        result[name] = {
            "agreement": agreement(gold, labels, weights=weights, resamples=resamples),
            "rate": compliance_rate(labels, resamples=resamples),
            "ppi": judge_corrected_rate(labels, [labels[i] for i in sample], gold_sample),
        }
    for first, second in combinations(judges, 2):
        result[f"{first} vs {second}"] = compare_judges(
            gold, judges[first], judges[second], resamples=resamples
        )
    result["annotators"] = inter_annotator(
        data["ratings"], ["ann", "bo", "cy"], resamples=resamples
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = make_data(args.items, args.seed)
    report(data, args.resamples)  # warm-up: first calls pay for imports and caches
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = report(data, args.resamples)
        times.append(time.perf_counter() - start)
    for name in data["judges"]:
        print(
            f"{name}: kappa {result[name]['agreement'].kappa}, "
            f"rate {result[name]['rate'].rate}, corrected {result[name]['ppi'].corrected}"
        )
    print(f"annotators: alpha {result['annotators'].alpha}")
    print(
        f"full report, {args.items:,} labels x 3 judges + {args.items:,} items x 3 annotators, "
        f"{args.resamples} resamples: median {statistics.median(times):.3f} s of {args.runs} "
        f"(runs {', '.join(f'{t:.3f}' for t in times)}); Python {platform.python_version()}, "
        f"NumPy {np.__version__}"
    )


if __name__ == "__main__":
    main()
