"""One definition of each canonical string: the model enums. The Django-free modules keep
plain copies (judging.judges_text, used by analysis.metrics); these tests keep them equal, and
keep every judge kind wired to what it does."""

from __future__ import annotations

from annotate.schemes import BUILT_IN_SCHEMES, COCONOT, scheme_values
from benchmarks.models import BenchmarkKind
from judging import judges_text
from judging.kinds import KIND_FUNCTIONS, MODEL_KINDS
from judging.models import BUILT_IN_JUDGE, FAILED_VERDICTS, JUDGE_CLASSES, JudgeKind, VerdictLabel


def test_every_judge_kind_has_its_function_and_every_function_its_kind() -> None:
    assert sorted(KIND_FUNCTIONS) == sorted(JudgeKind.values)


def test_the_kinds_that_need_a_model_are_judge_kinds_and_the_keyword_judge_needs_none() -> None:
    assert set(JudgeKind.values) >= MODEL_KINDS
    # An imported judge's verdicts come from files: it asks no model either.
    assert set(JudgeKind.values) - MODEL_KINDS == {JudgeKind.KEYWORD, JudgeKind.IMPORTED}
    assert BUILT_IN_JUDGE == JudgeKind.KEYWORD


def test_the_django_free_label_strings_are_the_verdict_labels() -> None:
    plain = (
        judges_text.COMPLIED,
        judges_text.NOT_COMPLIED,
        judges_text.NEITHER,
        judges_text.UNPARSEABLE,
        judges_text.ERROR,
    )
    assert plain == tuple(VerdictLabel.values) == judges_text.VERDICT_LABELS
    assert set(VerdictLabel.values) == JUDGE_CLASSES | FAILED_VERDICTS
    assert not JUDGE_CLASSES & FAILED_VERDICTS


def test_the_django_free_benchmark_kinds_are_the_benchmark_kinds() -> None:
    assert tuple(BenchmarkKind.values) == judges_text.BENCHMARK_KINDS


def test_people_label_with_the_judges_classes_by_default() -> None:
    assert set(scheme_values(BUILT_IN_SCHEMES[COCONOT])) == JUDGE_CLASSES
