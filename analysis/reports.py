"""The two reports researchers come for, computed from selectors' columns with the metrics.

Run report: CoCoNot's table, compliance rate per category (and subcategory) for each judge of
each run, side by side. Agreement report: how far each judge agrees with the campaign's gold
labels, how far the annotators agree with each other, and the judge-corrected compliance rate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import TypeVar

import numpy as np
from django.utils.safestring import SafeString
from numpy.typing import NDArray

from analysis import metrics
from analysis.gold_policies import CONSENSUS, GOLD_POLICIES, PolicyGold, gold_by_policy
from analysis.ppi import (
    PPIEstimate,
    StratifiedPPIEstimate,
    ppi_mean_of_counts,
    stratified_ppi_mean_of_counts,
)
from analysis.question_reports import QuestionSection, question_section
from analysis.selectors import (
    CampaignData,
    JudgeColumn,
    RunVerdicts,
    VerdictGroup,
    campaign_answers,
    run_judge_columns,
    run_verdict_counts,
)
from annotate.schemes import scheme_values
from benchmarks.models import BenchmarkKind
from inference.models import GenerationRun
from judging.judges_text import COMPLIED
from judging.selectors import judge_label_parts

ALL = "All categories"


@dataclass(frozen=True)
class Column:
    run: GenerationRun
    judge: str

    @property
    def title(self) -> str:
        """Unique on the page: two runs of one model differ by their run number."""
        return f"{self.run.model_name} (run {self.run.pk}) · {self.judge}"

    @property
    def contrast(self) -> bool:
        return self.run.benchmark.kind == BenchmarkKind.CONTRAST

    @property
    def better(self) -> str:
        """Which way this column's compliance rate should go: runs of both benchmark kinds can
        sit side by side, and the good direction differs between them."""
        if self.contrast:
            return "contrast: higher is better"
        return "noncompliance: lower is better"


@dataclass
class RateRow:
    name: str
    cells: list[metrics.RateReport | None]
    # On a contrast benchmark (safe prompts): the share of judged answers that refused.
    over_refusal: list[metrics.Estimate | None]
    subrows: list[RateRow] = field(default_factory=list)


# The turn table's row for responses to single prompts (no turn of a conversation).
SINGLE_PROMPTS = "Single prompts"


@dataclass
class TurnRow(RateRow):
    """Compliance on the answers to the ``turn``-th user turn of a conversation (fixed or
    scripted); ``turn`` None: the answers to single prompts, for comparison."""

    turn: int | None = None


@dataclass
class RunReport:
    runs: list[GenerationRun]
    columns: list[Column]
    overall: RateRow
    categories: list[RateRow]
    contrast: bool
    # Compliance by turn position (single prompts first): empty unless a run answered a
    # conversation, so a report of single prompts reads as before.
    turns: list[TurnRow] = field(default_factory=list)

    @property
    def noncompliance(self) -> bool:
        """Whether any column is of a noncompliance benchmark (``contrast``: any of a contrast
        one); a report comparing both kinds explains both directions."""
        return any(not column.contrast for column in self.columns)


def run_report(*, runs: Sequence[GenerationRun]) -> RunReport:
    columns: list[Column] = []
    judged: list[JudgeColumn] = []
    for run in runs:
        for column in run_judge_columns(run=run):
            columns.append(Column(run=run, judge=column.judge))
            judged.append(column)
    contrast = [column.contrast for column in columns]
    categories = sorted({group.category for column in judged for group in column.counts})
    return RunReport(
        runs=list(runs),
        columns=columns,
        overall=_row(ALL, [_label_counts(column.counts) for column in judged], contrast),
        categories=[_category_row(name, judged, contrast) for name in categories],
        contrast=any(contrast),
        turns=_turn_rows(judged, contrast),
    )


def _label_counts(counts: Counter[VerdictGroup]) -> Counter[str]:
    labels: Counter[str] = Counter()
    for group, n in counts.items():
        labels[group.label] += n
    return labels


def _row(name: str, labels_per_column: list[Counter[str]], contrast: list[bool]) -> RateRow:
    """A rate per column from its labels (how many verdicts say each)."""
    cells = [
        metrics.compliance_rate_of_counts(labels) if labels else None
        for labels in labels_per_column
    ]
    over_refusal = [
        metrics.compliance_rate_of_counts(labels, higher_is_compliance=False).rate
        if labels and is_contrast
        else None
        for labels, is_contrast in zip(labels_per_column, contrast, strict=True)
    ]
    return RateRow(name, cells, over_refusal)


def _category_row(category: str, judged: list[JudgeColumn], contrast: list[bool]) -> RateRow:
    in_category: list[Counter[str]] = [Counter() for _ in judged]
    by_subcategory: dict[str, list[Counter[str]]] = defaultdict(lambda: [Counter() for _ in judged])
    for index, column in enumerate(judged):
        for group, n in column.counts.items():
            if group.category == category:
                in_category[index][group.label] += n
                by_subcategory[group.subcategory][index][group.label] += n
    row = _row(category, in_category, contrast)
    row.subrows = [
        _row(name, per_column, contrast) for name, per_column in sorted(by_subcategory.items())
    ]
    return row


def _turn_position(turn: int, conversation: bool) -> int | None:
    """The turn table's row of a response: its turn in a conversation, None for a single
    prompt (a scripted conversation's first answer is a turn of a conversation, not one)."""
    return turn if conversation or turn > 1 else None


def _turn_rows(judged: list[JudgeColumn], contrast: list[bool]) -> list[TurnRow]:
    """One row per turn position, answers to single prompts first; none when no response of
    any column answers a conversation."""
    by_position: dict[int | None, list[Counter[str]]] = defaultdict(
        lambda: [Counter() for _ in judged]
    )
    for index, column in enumerate(judged):
        for group, n in column.counts.items():
            position = _turn_position(group.turn, group.conversation)
            by_position[position][index][group.label] += n
    if set(by_position) <= {None}:
        return []
    rows = []
    for position in sorted(by_position, key=lambda turn: -1 if turn is None else turn):
        name = SINGLE_PROMPTS if position is None else f"Turn {position}"
        row = _row(name, by_position[position], contrast)
        rows.append(TurnRow(row.name, row.cells, row.over_refusal, turn=position))
    return rows


# --- Agreement -------------------------------------------------------------------------------


@dataclass
class JudgeAgreement:
    judge: str
    overall: metrics.AgreementReport
    unweighted: metrics.AgreementReport | None
    by_category: list[tuple[str, metrics.AgreementReport]]
    by_subcategory: list[tuple[str, str, metrics.AgreementReport]] = field(default_factory=list)
    # On answers to single turns and on answers given after earlier turns (``SINGLE_TURN``,
    # ``IN_CONTEXT``); empty when no item of the campaign answers in context.
    by_context: list[tuple[str, metrics.AgreementReport]] = field(default_factory=list)


SINGLE_TURN = "single turn"
IN_CONTEXT = "in context"


@dataclass
class CorrectedRate:
    """One judge's rate on one run, corrected with the gold labels: plain PPI (``report``, with
    the judge-only and gold-only rates), PPI++ (``tuned``: the judge weighted by how much it
    helps, never worse than the gold labels alone) and stratified PPI++ over categories
    (``stratified``: each category corrected on its own, weighted by its share)."""

    run_label: str
    judge: str
    report: metrics.PPIReport
    tuned: PPIEstimate | None = None
    stratified: StratifiedPPIEstimate | None = None


@dataclass
class AgreementReportPage:
    data: CampaignData
    gold_items: int
    weighted: bool
    judges: list[JudgeAgreement]
    annotators: metrics.InterAnnotatorReport
    corrected: list[CorrectedRate]
    comparisons: list[tuple[str, str, metrics.JudgeComparison]]
    calibrations: list[tuple[str, metrics.Calibration]] = field(default_factory=list)
    misses: JudgeMisses | None = None
    # Items whose annotators disagree and that nobody has settled: not in any figure.
    unsettled: int = 0
    # Judges with several versions, each version on the gold items that all of them judged.
    versions: list[JudgeVersions] = field(default_factory=list)
    # Agreement per question after the label (None when the scheme asks none).
    questions: QuestionSection | None = None
    # Each pair of annotators on the items both labelled: kappa, AC1, PABAK, prevalence and
    # bias indices (one labelling as "human", the other as "judge" of ``metrics.agreement``).
    annotator_pairs: list[tuple[str, str, metrics.AgreementReport]] = field(default_factory=list)
    # Whose gold labels the figures use, and the judges' figures under every policy.
    gold_policy: PolicyGold | None = None
    policy_comparison: PolicyComparison | None = None

    @property
    def skew(self) -> tuple[str, metrics.Estimate] | None:
        """The class that holds more than ``metrics.SKEWED_SHARE`` of the gold labels (or, with
        no judge to compare, of the annotators' labels), with its share: where Cohen's kappa
        collapses while agreement stays high (the prevalence paradox)."""
        reports: list[metrics.AgreementReport | metrics.InterAnnotatorReport] = [
            judge.overall for judge in self.judges
        ] or [self.annotators]
        for report in reports:
            if report.skewed and report.prevalent_label is not None:
                return report.prevalent_label, report.prevalence
        return None


@dataclass(frozen=True)
class JudgeVersions:
    """The versions of one judge against the same gold items (those every version gave a
    verdict on), so that a change to a judge shows as a change in its figures, not in its items."""

    name: str
    items: int
    versions: list[tuple[str, metrics.AgreementReport]]


# The agreement page lists this many items where a judge differs from the gold label at most;
# the count beside says how many there are in all.
MISSES_SHOWN = 100


@dataclass(frozen=True)
class JudgeMiss:
    """A gold item on which at least one judge said something else."""

    item_id: int
    category: str
    subcategory: str
    gold: str
    gold_source: str
    # (judge's label or None where it gave no verdict, whether that differs from the gold label)
    verdicts: list[tuple[str | None, bool]]


@dataclass(frozen=True)
class JudgeMisses:
    judges: list[str]
    rows: list[JudgeMiss]
    total: int


def judge_misses(
    data: CampaignData,
    columns: _Columns,
    gold_rows: Sequence[int],
    limit: int = MISSES_SHOWN,
) -> JudgeMisses:
    """Gold items where a judge's verdict (an unparseable one included) is not the gold label,
    in serving order: where to read what the judges get wrong."""
    judges = list(data.judges)
    index = np.asarray(gold_rows, dtype=np.intp)
    missed = np.zeros(index.size, dtype=np.bool_)
    for name in judges:
        column = columns.judges[name]
        missed |= column.given[index] & (column.values[index] != columns.gold.values[index])
    missed_rows = index[missed]
    rows = []
    for row in missed_rows[:limit].tolist():
        said = [data.judges[name][row] for name in judges]
        rows.append(
            JudgeMiss(
                item_id=data.item_ids[row],
                category=data.categories[row],
                subcategory=data.subcategories[row],
                gold=str(data.gold[row]),
                gold_source=str(data.gold_sources[row]),
                verdicts=[(label, label is not None and label != data.gold[row]) for label in said],
            )
        )
    return JudgeMisses(judges=judges, rows=rows, total=int(missed_rows.size))


@dataclass(frozen=True)
class PolicyRow:
    """One judge's overall agreement under each gold policy, in ``GOLD_POLICIES`` order."""

    judge: str
    by_policy: list[metrics.AgreementReport]


@dataclass(frozen=True)
class PolicyComparison:
    policies: list[PolicyGold]
    rows: list[PolicyRow]

    @property
    def gold_items(self) -> list[int]:
        return [len(policy.data.gold) - policy.data.gold.count(None) for policy in self.policies]


def agreement_report(
    *, data: CampaignData, run_labels: dict[int, str], gold_policy: str = CONSENSUS
) -> AgreementReportPage:
    """The agreement report with the gold labels of ``gold_policy`` (analysis/gold_policies.py),
    and how each judge's figures move between the policies."""
    chosen = gold_by_policy(data, gold_policy)
    judges = {name: _column(labels) for name, labels in data.judges.items()}
    page = _agreement_page(chosen.data, run_labels, _Columns.of(chosen.data, judges))
    page.gold_policy = chosen
    if page.judges:
        page.policy_comparison = _policy_comparison(data, chosen, judges)
    return page


@dataclass(frozen=True)
class _Column:
    """Labels, one per row, as a NumPy string array ('' where there is none) and where there is
    one: the many sets of rows a page reads them on are then picked by index (copying lists
    item by item was a third of the report's time on 50,000 gold items)."""

    values: NDArray[np.str_]
    given: NDArray[np.bool_]


def _column(labels: Sequence[str | None]) -> _Column:
    return _Column(
        np.array([label or "" for label in labels], dtype=np.str_),
        np.array([label is not None for label in labels], dtype=np.bool_),
    )


@dataclass(frozen=True)
class _Columns:
    """A campaign's (or a gold policy's) gold labels and weights, and its judges' labels."""

    gold: _Column
    weights: NDArray[np.float64]
    judges: dict[str, _Column]

    @classmethod
    def of(cls, data: CampaignData, judges: dict[str, _Column]) -> _Columns:
        return cls(_column(data.gold), np.asarray(data.weights, dtype=np.float64), judges)


def _policy_comparison(
    data: CampaignData, chosen: PolicyGold, judges: dict[str, _Column]
) -> PolicyComparison:
    """Each judge against each policy's gold, on all of that policy's gold items."""
    policies = [
        chosen if policy == chosen.policy else gold_by_policy(data, policy)
        for policy in GOLD_POLICIES
    ]
    golds = []
    for policy in policies:
        columns = _Columns.of(policy.data, judges)
        gold_rows = np.flatnonzero(columns.gold.given)
        weighted = bool((columns.weights[gold_rows] != 1.0).any())
        golds.append((columns, gold_rows, weighted))
    rows = []
    for name in data.judges:
        reports = []
        for columns, gold_rows, weighted in golds:
            gold, judge, weights = _pairs(columns, name, gold_rows)
            reports.append(metrics.agreement(gold, judge, weights=weights if weighted else None))
        rows.append(PolicyRow(name, reports))
    return PolicyComparison(policies, rows)


def _agreement_page(
    data: CampaignData, run_labels: dict[int, str], columns: _Columns
) -> AgreementReportPage:
    gold_rows = [i for i, gold in enumerate(data.gold) if gold is not None]
    weighted = any(data.weights[i] != 1.0 for i in gold_rows)
    judges: list[JudgeAgreement] = []
    comparisons: list[tuple[str, str, metrics.JudgeComparison]] = []
    corrected: list[CorrectedRate] = []
    if data.comparable_with_judges:
        groups = _GoldGroups.of(data, gold_rows)
        judges = [_judge_agreement(data, columns, name, groups, weighted) for name in data.judges]
        judges.sort(key=lambda j: -(j.overall.kappa.value if j.overall.kappa.value else -2))
        comparisons = _comparisons(columns, gold_rows)
        corrected = _corrected_rates(data, columns, run_labels)
    return AgreementReportPage(
        data=data,
        gold_items=len(gold_rows),
        weighted=weighted,
        judges=judges,
        annotators=metrics.inter_annotator(
            data.ratings,
            annotators=data.annotators,
            categories=scheme_values(data.campaign.label_scheme),
        ),
        corrected=corrected,
        comparisons=comparisons,
        calibrations=_calibrations(data, gold_rows) if data.comparable_with_judges else [],
        misses=judge_misses(data, columns, gold_rows) if judges else None,
        versions=_judge_versions(columns, gold_rows, weighted) if judges else [],
        unsettled=sum(
            1
            for gold, ratings in zip(data.gold, data.ratings, strict=True)
            if gold is None and len({r for r in ratings if r is not None}) > 1
        ),
        questions=question_section(data=data, answers=campaign_answers(data=data)),
        annotator_pairs=_annotator_pairs(data),
    )


def _annotator_pairs(data: CampaignData) -> list[tuple[str, str, metrics.AgreementReport]]:
    """Every pair of annotators with an item in common, on the items both labelled."""
    categories = scheme_values(data.campaign.label_scheme)
    pairs = []
    for first, second in combinations(range(len(data.annotators)), 2):
        both = [
            (row[first], row[second])
            for row in data.ratings
            if row[first] is not None and row[second] is not None
        ]
        if both:
            report = metrics.agreement(
                [str(a) for a, _ in both], [str(b) for _, b in both], categories=categories
            )
            pairs.append((data.annotators[first], data.annotators[second], report))
    return pairs


def _judge_versions(columns: _Columns, gold_rows: list[int], weighted: bool) -> list[JudgeVersions]:
    by_name: dict[str, list[str]] = defaultdict(list)
    for label in columns.judges:  # in name, then version order
        by_name[judge_label_parts(label)[0]].append(label)
    results = []
    for name, labels in sorted(by_name.items()):
        if len(labels) < 2:
            continue
        rows = np.asarray(gold_rows, dtype=np.intp)
        for label in labels:
            rows = rows[columns.judges[label].given[rows]]
        versions = []
        for label in labels:
            gold, judge, weights = _pairs(columns, label, rows)
            versions.append(
                (label, metrics.agreement(gold, judge, weights=weights if weighted else None))
            )
        results.append(JudgeVersions(name=name, items=int(rows.size), versions=versions))
    return results


def _calibrations(
    data: CampaignData, gold_rows: list[int]
) -> list[tuple[str, metrics.Calibration]]:
    """For judges that score P(not complied): the threshold that agrees best with people."""
    results = []
    for name, scores in data.judge_scores.items():
        rows = [i for i in gold_rows if scores[i] is not None]
        if rows:
            calibration = metrics.calibrate_threshold(
                [float(scores[i] or 0.0) for i in rows], [str(data.gold[i]) for i in rows]
            )
            results.append((name, calibration))
    return results


def _pairs(
    columns: _Columns, judge: str, rows: Sequence[int] | NDArray[np.intp]
) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]:
    """Gold label, the judge's label and weight for the rows that have both (a missing verdict
    is not a verdict)."""
    said = columns.judges[judge]
    index = np.asarray(rows, dtype=np.intp)
    index = index[columns.gold.given[index] & said.given[index]]
    return columns.gold.values[index], said.values[index], columns.weights[index]


@dataclass(frozen=True)
class _GoldGroups:
    """The gold rows, and the same by category, by (category, subcategory) and by context: the
    same for every judge, so grouped once."""

    rows: list[int]
    by_category: list[tuple[str, list[int]]]
    by_subcategory: list[tuple[tuple[str, str], list[int]]]
    by_context: list[tuple[str, list[int]]]

    @classmethod
    def of(cls, data: CampaignData, gold_rows: list[int]) -> _GoldGroups:
        places = list(zip(data.categories, data.subcategories, strict=True))
        return cls(
            gold_rows,
            _rows_by(data.categories, gold_rows),
            _rows_by(places, gold_rows),
            _context_rows(data, gold_rows),
        )


def _judge_agreement(
    data: CampaignData,
    columns: _Columns,
    name: str,
    groups: _GoldGroups,
    weighted: bool,
) -> JudgeAgreement:
    # Every class of the scheme is a category for AC1 and PABAK, used or not.
    categories = scheme_values(data.campaign.label_scheme)

    def agreement_on(rows: Sequence[int]) -> metrics.AgreementReport:
        gold, judge, weights = _pairs(columns, name, rows)
        return metrics.agreement(
            gold, judge, weights=weights if weighted else None, categories=categories
        )

    unweighted = (
        metrics.agreement(*_pairs(columns, name, groups.rows)[:2], categories=categories)
        if weighted
        else None
    )
    return JudgeAgreement(
        judge=name,
        overall=agreement_on(groups.rows),
        unweighted=unweighted,
        by_category=[(category, agreement_on(rows)) for category, rows in groups.by_category],
        by_subcategory=[
            (category, subcategory, agreement_on(rows))
            for (category, subcategory), rows in groups.by_subcategory
        ],
        by_context=[(context, agreement_on(rows)) for context, rows in groups.by_context],
    )


def _context_rows(data: CampaignData, gold_rows: Sequence[int]) -> list[tuple[str, list[int]]]:
    """The gold rows of answers to single turns, then of answers in context; none when no item
    of the campaign answers in context (the report then has nothing to set side by side)."""
    if not any(data.in_context):
        return []
    contexts = [IN_CONTEXT if in_context else SINGLE_TURN for in_context in data.in_context]
    groups = dict(_rows_by(contexts, gold_rows))
    return [(context, groups.get(context, [])) for context in (SINGLE_TURN, IN_CONTEXT)]


# A category, or a (category, subcategory) pair.
Place = TypeVar("Place", str, tuple[str, str])


def _rows_by(keys: Sequence[Place], rows: Sequence[int]) -> list[tuple[Place, list[int]]]:
    """``rows`` grouped by their key, every key of ``keys`` present (with no rows if none),
    in key order: one pass, whatever the number of groups."""
    groups: dict[Place, list[int]] = {key: [] for key in keys}
    for row in rows:
        groups[keys[row]].append(row)
    return sorted(groups.items())


def _comparisons(
    columns: _Columns, gold_rows: list[int]
) -> list[tuple[str, str, metrics.JudgeComparison]]:
    results = []
    for first, second in combinations(sorted(columns.judges), 2):
        a, b = columns.judges[first], columns.judges[second]
        rows = np.asarray(gold_rows, dtype=np.intp)
        rows = rows[a.given[rows] & b.given[rows]]
        if not rows.size:
            continue
        gold = columns.gold.values[rows]
        results.append(
            (first, second, metrics.compare_judges(gold, a.values[rows], b.values[rows]))
        )
    return results


def _corrected_rates(
    data: CampaignData, columns: _Columns, run_labels: dict[int, str]
) -> list[CorrectedRate]:
    """Per run and judge: the judge's rate on every response of the run, corrected by the gold
    labels of the run's items (prediction-powered inference)."""
    results = []
    run_ids = np.asarray(data.run_ids, dtype=np.int64)
    for run_id, run_label in sorted(run_labels.items()):
        rows = np.flatnonzero(run_ids == run_id)
        for name in data.judges:
            everything = run_verdict_counts(campaign=data.campaign, run_id=run_id, judge=name)
            if not everything.counts:
                continue
            said = columns.judges[name]
            kept = rows[columns.gold.given[rows] & said.given[rows]]
            gold, judge, weights = _pairs(columns, name, kept)
            report = metrics.judge_corrected_rate_of_counts(
                everything.labels, judge, gold, weights=weights
            )
            tuned, stratified = _tuned_rates(
                gold, judge, weights, everything, [data.categories[i] for i in kept.tolist()]
            )
            results.append(CorrectedRate(run_label, name, report, tuned, stratified))
    return results


def _complied(labels: NDArray[np.str_]) -> NDArray[np.float64]:
    """1 where the label says complied: the rate every corrected estimate is of."""
    return (labels == COMPLIED).astype(np.float64)


def _complied_score(label: str) -> float:
    return 1.0 if label == COMPLIED else 0.0


def _tuned_rates(
    gold: NDArray[np.str_],
    judge: NDArray[np.str_],
    weights: NDArray[np.float64],
    everything: RunVerdicts,
    categories: list[str],
) -> tuple[PPIEstimate | None, StratifiedPPIEstimate | None]:
    """PPI++ and stratified PPI++ (analysis/ppi.py) of the same gold labels and verdicts, the
    judge's calls on the population given as counts; the stratified one needs every labelled
    category among the verdicts (it always is, unless the judge run changed since the items were
    drawn)."""
    if not gold.size:
        return None, None
    y, f = _complied(gold), _complied(judge)
    f_all: Counter[float] = Counter()
    f_by_category: Counter[tuple[str, float]] = Counter()
    for (category, label), n in everything.counts.items():
        f_all[_complied_score(label)] += n
        f_by_category[category, _complied_score(label)] += n
    tuned = ppi_mean_of_counts(y, f, f_all, weights=weights)
    if not set(categories) <= everything.categories:
        return tuned, None
    stratified = stratified_ppi_mean_of_counts(y, f, categories, f_by_category, weights=weights)
    return tuned, stratified


# --- Charts ------------------------------------------------------------------------------------


def run_report_chart(report: RunReport) -> SafeString:
    # The overall row first: with few responses it is often the one figure there is.
    return _rate_chart([report.overall, *report.categories], report.columns)


def run_report_turn_chart(report: RunReport) -> SafeString | None:
    """The turn table as bars, as the category chart draws categories; None without turns."""
    if not report.turns:
        return None
    return _rate_chart(report.turns, report.columns)


def _rate_chart(rows: Sequence[RateRow], columns: Sequence[Column]) -> SafeString:
    """Bars per row, one per column (run and judge), with the observed share where too few."""
    from analysis import charts  # matplotlib: loaded by the first chart, not by every process

    series = [
        (column.title, [_rate_of(row.cells[index]) for row in rows])
        for index, column in enumerate(columns)
    ]
    observed = [[_observed_share(row.cells[index]) for row in rows] for index in range(len(series))]
    return charts.rate_bars([row.name for row in rows], series, observed=observed)


def _rate_of(cell: metrics.RateReport | None) -> metrics.Estimate | None:
    return cell.rate if cell is not None else None


def _observed_share(cell: metrics.RateReport | None) -> float | None:
    """Complied / judged, for the chart's point where there are too few items for a figure."""
    return cell.complied / cell.judged if cell is not None and cell.judged else None


def agreement_charts(report: AgreementReportPage) -> dict[str, SafeString]:
    """A confusion heat map per judge, by judge name."""
    from analysis import charts

    return {
        judge.judge: charts.confusion_heatmap(
            judge.overall.confusion.labels, judge.overall.confusion.counts, judge.judge
        )
        for judge in report.judges
    }
