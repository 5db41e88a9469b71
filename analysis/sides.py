"""What a side-by-side label says about the two models of a pair. Plain Python, so that the
exports can read it without loading the statistics of analysis/pairwise.py."""

from __future__ import annotations

# Plain copies of annotate.schemes' side-by-side values (tests/analysis/test_pairwise.py holds
# them equal): this module imports no Django.
LEFT_BETTER = "left_better"
RIGHT_BETTER = "right_better"
TIE = "tie"
BOTH_BAD = "both_bad"
PAIRWISE_VALUES = (LEFT_BETTER, RIGHT_BETTER, TIE, BOTH_BAD)

# What a label says about the pair, model A being the item's ``response``.
A_WINS = "a_wins"
B_WINS = "b_wins"
OUTCOMES = (A_WINS, B_WINS, TIE, BOTH_BAD)
# A's share of a win: a tie and "both bad" are half a win for each side.
A_SCORE = {A_WINS: 1.0, B_WINS: 0.0, TIE: 0.5, BOTH_BAD: 0.5}


def outcome(value: str, *, swapped: bool) -> str:
    """What a label says about models A and B: left is A's response unless the item was
    swapped."""
    if value not in PAIRWISE_VALUES:
        raise ValueError(f"{value!r} is not a side-by-side label ({', '.join(PAIRWISE_VALUES)})")
    if value == LEFT_BETTER:
        return B_WINS if swapped else A_WINS
    if value == RIGHT_BETTER:
        return A_WINS if swapped else B_WINS
    return value


def flipped(result: str) -> str:
    """The same outcome seen from the other model's side."""
    return {A_WINS: B_WINS, B_WINS: A_WINS}.get(result, result)
