"""How well quality control catches random clickers, and how close each kind of gold gets to the
truth, on simulated annotators labelling a refusal benchmark.

    .venv/bin/python bench/annotator_quality.py [--quick] [--seed 0]

The benchmark: three classes with a good model's skew (70% not_complied, 25% complied,
5% neither). Good annotators are right with a probability drawn from 0.80-0.95 each, and spread
their mistakes evenly over the two other classes; random clickers press one of the three keys at
random. Everything is seeded: the same command prints the same figures.

(a) The pause rule of annotate/quality.py (``PauseRule().pauses``, asked after every check
answer, with its defaults): the share of random clickers paused within 15 checks (target: at
least 95%) and of good annotators paused at any point of a 40-check campaign (target: under 5%),
over ``--annotators`` simulated annotators of each kind; then the same two shares for a grid of
other settings (not with ``--quick``), all on the same simulated answers.

(b) Gold: item sets labelled by 3 and by 5 annotators drawn from a pool of 10, two of them
(20%) random clickers. Accuracy against the true labels of majority vote, Dawid-Skene and MACE
(analysis/aggregation.py), mean, standard deviation and range over ``--simulations`` sets of
``--items`` items. Target: Dawid-Skene closer to the truth than majority vote.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.aggregation import majority_vote, model_gold
from annotate.quality import PauseRule

CLASSES = np.array(["complied", "not_complied", "neither"], dtype=object)
PREVALENCE = (0.25, 0.70, 0.05)
GOOD_ACCURACY = (0.80, 0.95)

CLICKER_WITHIN = 15
CLICKER_TARGET = 0.95
CAMPAIGN_CHECKS = 40
GOOD_TARGET = 0.05
GRID_BELOW = (0.5, 0.55, 0.6, 0.65, 0.7)
GRID_AFTER = tuple(range(5, 13))

POOL = 10
SPAMMERS = 2  # of POOL: 20%
PER_ITEM = (3, 5)

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


# --- simulated answers ------------------------------------------------------------------------


def true_labels(rng: np.random.Generator, shape: int | tuple[int, ...]) -> IntArray:
    return rng.choice(len(CLASSES), size=shape, p=PREVALENCE)


def good_answers(rng: np.random.Generator, truth: IntArray, accuracy: NDArray) -> IntArray:
    """Right with each annotator's probability, else one of the two other classes at random."""
    right = rng.random(truth.shape) < accuracy
    wrong = (truth + rng.integers(1, len(CLASSES), truth.shape)) % len(CLASSES)
    return np.where(right, truth, wrong)


def clicker_answers(rng: np.random.Generator, truth: IntArray) -> IntArray:
    return rng.integers(0, len(CLASSES), truth.shape)


# --- (a) the pause rule -----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckAnswers:
    """Running counts of right answers, one row per simulated annotator."""

    clickers: list[list[int]]
    good: list[list[int]]
    good_accuracy: list[float]  # each good annotator's probability of a right answer


def simulate_checks(rng: np.random.Generator, annotators: int) -> CheckAnswers:
    checks = max(CLICKER_WITHIN, CAMPAIGN_CHECKS)
    truth = true_labels(rng, (annotators, checks))
    clickers = clicker_answers(rng, truth) == truth
    accuracy = rng.uniform(*GOOD_ACCURACY, size=(annotators, 1))
    good = good_answers(rng, truth, accuracy) == truth
    return CheckAnswers(
        clickers=np.cumsum(clickers, axis=1).tolist(),
        good=np.cumsum(good, axis=1).tolist(),
        good_accuracy=accuracy[:, 0].tolist(),
    )


def paused_share(rule: PauseRule, running_correct: list[list[int]], checks: int) -> float:
    """Share of annotators the rule pauses after one of their first ``checks`` answers."""
    paused = 0
    for correct in running_correct:
        for answered in range(1, checks + 1):
            if rule.pauses(answered=answered, correct=correct[answered - 1]):
                paused += 1
                break
    return paused / len(running_correct)


def rule_shares(rule: PauseRule, answers: CheckAnswers) -> tuple[float, float]:
    return (
        paused_share(rule, answers.clickers, CLICKER_WITHIN),
        paused_share(rule, answers.good, CAMPAIGN_CHECKS),
    )


def print_good_by_accuracy(rule: PauseRule, answers: CheckAnswers) -> None:
    bands = np.linspace(*GOOD_ACCURACY, 4)
    shares = []
    for low, high in pairwise(bands):
        band = [
            correct
            for correct, accuracy in zip(answers.good, answers.good_accuracy, strict=True)
            if low <= accuracy < high
        ]
        shares.append(f"{low:.2f}-{high:.2f}: {paused_share(rule, band, CAMPAIGN_CHECKS):.1%}")
    print(f"    by their accuracy: {', '.join(shares)}")


def meets(clickers: float, good: float) -> bool:
    return clickers >= CLICKER_TARGET and good < GOOD_TARGET


def print_grid(answers: CheckAnswers) -> None:
    print(
        f"\ngrid: clickers paused within {CLICKER_WITHIN} / good paused within "
        f"{CAMPAIGN_CHECKS} checks (* meets both targets)"
    )
    print("below \\ after " + "".join(f"{after:>14}" for after in GRID_AFTER))
    for below in GRID_BELOW:
        cells = []
        for after in GRID_AFTER:
            clickers, good = rule_shares(PauseRule(below=below, after=after), answers)
            mark = "*" if meets(clickers, good) else " "
            cells.append(f"{clickers:6.1%}/{good:5.1%}{mark}".rjust(14))
        print(f"{below:<13}" + "".join(cells))


# --- (b) gold ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldAccuracy:
    majority: float  # ties give no gold: a miss
    majority_random_ties: float
    dawid_skene: float
    mace: float
    ties: float
    spammer_confusion_error: float  # mean |P(given | true) - 1/3| of the clickers' DS matrices
    competence_spammers: float
    competence_good: float


def labelled_items(
    rng: np.random.Generator, items: int, per_item: int
) -> tuple[IntArray, NDArray, IntArray, list[str]]:
    """Truth, ratings (items x pool, None where not labelled), per-item label counts, names."""
    truth = true_labels(rng, items)
    spammer = np.arange(POOL) < SPAMMERS
    accuracy = rng.uniform(*GOOD_ACCURACY, size=POOL)
    who = np.argsort(rng.random((items, POOL)), axis=1)[:, :per_item]
    asked = np.repeat(truth[:, None], per_item, axis=1)
    answers = np.where(
        spammer[who], clicker_answers(rng, asked), good_answers(rng, asked, accuracy[who])
    )
    ratings = np.full((items, POOL), None, dtype=object)
    ratings[np.arange(items)[:, None], who] = CLASSES[answers]
    counts = np.stack([(answers == c).sum(axis=1) for c in range(len(CLASSES))], axis=1)
    names = [f"clicker{i}" if spammer[i] else f"good{i}" for i in range(POOL)]
    return truth, ratings, counts, names


def hits(gold: Sequence[str | None], truth: IntArray) -> float:
    return float(np.mean([g == CLASSES[t] for g, t in zip(gold, truth, strict=True)]))


def majority_random_ties(rng: np.random.Generator, counts: IntArray) -> list[str]:
    top = counts == counts.max(axis=1, keepdims=True)
    return [CLASSES[rng.choice(np.flatnonzero(row))] for row in top]


def gold_accuracy(rng: np.random.Generator, items: int, per_item: int, seed: int) -> GoldAccuracy:
    truth, ratings, counts, names = labelled_items(rng, items, per_item)
    majority = majority_vote(ratings)
    categories = CLASSES.tolist()
    ds = model_gold(ratings, names, method="dawid_skene", categories=categories, seed=seed)
    mace = model_gold(ratings, names, method="mace", categories=categories, seed=seed)
    clickers = [name for name in names if name.startswith("clicker")]
    uniform = 1 / len(CLASSES)
    return GoldAccuracy(
        majority=hits(majority, truth),
        majority_random_ties=hits(majority_random_ties(rng, counts), truth),
        dawid_skene=hits(ds.gold, truth),
        mace=hits(mace.gold, truth),
        ties=float(np.mean([g is None for g in majority])),
        spammer_confusion_error=float(
            np.nanmean([np.abs(ds.confusion[name] - uniform) for name in clickers])
        ),
        competence_spammers=float(np.mean([mace.competence[name] for name in clickers])),
        competence_good=float(
            np.mean([mace.competence[name] for name in names if name not in clickers])
        ),
    )


def spread(values: Sequence[float]) -> str:
    return (
        f"{statistics.mean(values):6.1%} ± {statistics.stdev(values):4.1%} "
        f"[{min(values):.1%}, {max(values):.1%}]"
    )


def print_gold(results: dict[int, list[GoldAccuracy]], items: int) -> bool:
    """The accuracy table; whether Dawid-Skene beat majority vote for every set size."""
    print(
        f"\ngold accuracy against the truth, {items} items, pool of {POOL} with {SPAMMERS} random "
        f"clickers ({len(next(iter(results.values())))} simulations; mean ± sd [min, max])"
    )
    columns: dict[str, Callable[[GoldAccuracy], float]] = {
        "majority vote (tie = no gold)": lambda r: r.majority,
        "majority vote, ties at random": lambda r: r.majority_random_ties,
        "Dawid-Skene": lambda r: r.dawid_skene,
        "MACE": lambda r: r.mace,
    }
    better = True
    for per_item, runs in results.items():
        print(f"  {per_item} annotators per item (majority ties: {spread([r.ties for r in runs])})")
        for name, figure in columns.items():
            print(f"    {name:<31}{spread([figure(r) for r in runs])}")
        ds = statistics.mean(r.dawid_skene for r in runs)
        best_majority = max(
            statistics.mean(r.majority for r in runs),
            statistics.mean(r.majority_random_ties for r in runs),
        )
        better = better and ds > best_majority
        wins = sum(r.dawid_skene > max(r.majority, r.majority_random_ties) for r in runs)
        print(f"    Dawid-Skene above both majority votes in {wins} of {len(runs)} sets")
        error = statistics.mean(r.spammer_confusion_error for r in runs)
        print(
            f"    clickers' Dawid-Skene confusion matrices: mean |P - 1/3| {error:.3f}; MACE "
            f"competence: clickers {statistics.mean(r.competence_spammers for r in runs):.2f}, "
            f"good {statistics.mean(r.competence_good for r in runs):.2f}"
        )
    return better


def target_line(what: str, met: bool) -> str:
    return f"TARGET {what}: {'met' if met else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer simulations, no grid (about 15 s)"
    )
    parser.add_argument("--annotators", type=int, help="simulated annotators of each kind")
    parser.add_argument("--simulations", type=int, help="item sets per set size")
    parser.add_argument("--items", type=int, help="items per set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    annotators = args.annotators or (500 if args.quick else 2000)
    simulations = args.simulations or (3 if args.quick else 20)
    items = args.items or (300 if args.quick else 500)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()

    answers = simulate_checks(rng, annotators)
    rule = PauseRule()
    clickers, good = rule_shares(rule, answers)
    print(
        f"pause rule (defaults: below {rule.below}, after {rule.after} checks), "
        f"{annotators} simulated annotators of each kind:"
    )
    print(f"  random clickers paused within {CLICKER_WITHIN} checks: {clickers:.1%}")
    print(f"  good annotators paused within {CAMPAIGN_CHECKS} checks: {good:.1%}")
    print_good_by_accuracy(rule, answers)
    if not args.quick:
        print_grid(answers)

    results = {
        per_item: [gold_accuracy(rng, items, per_item, args.seed) for _ in range(simulations)]
        for per_item in PER_ITEM
    }
    ds_better = print_gold(results, items)

    print()
    print(
        target_line(
            f"random clickers paused within {CLICKER_WITHIN} checks >= 95%",
            clickers >= CLICKER_TARGET,
        )
    )
    print(
        target_line(
            f"good annotators paused within {CAMPAIGN_CHECKS} checks < 5%", good < GOOD_TARGET
        )
    )
    print(target_line("Dawid-Skene closer to the truth than majority vote", ds_better))
    print(
        f"\n{time.perf_counter() - start:.1f} s; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, pandas {version('pandas')}, crowd-kit {version('crowd-kit')}"
    )


if __name__ == "__main__":
    main()
