"""A campaign's gold labels as files: one row per item with its prompt, response, gold label,
every annotator's label (pseudonymous: A1, A2, …) and every judge's verdict.

Rows are made a chunk of items at a time (keyset pagination in serving order, three queries a
chunk), so an export of any size holds one chunk in memory. JSON Lines keeps CoCoNot's
field names for the prompt (``id``, ``category``, ``subcategory``, ``prompt``, ``response``); CSV
and Parquet flatten the labels and verdicts into one column per annotator (``label_A1``) and per
judge (``judge_keyword``).

A side-by-side campaign adds ``response_b``, ``model_b``, ``swapped`` (true: ``response_b`` was
shown on the left) and ``outcome`` (the gold label read through ``swapped``: ``a_wins``,
``b_wins``, ``tie`` or ``both_bad``); labels stay as annotators saw them (left/right).

A campaign whose scheme asks questions after the label adds the item's answers: a field
``answers`` (question id -> answer) in JSON Lines, and one column ``q_<question id>`` per question
at the end in CSV and Parquet. An item's answer is the one more than half of its annotators gave,
among those who gave its gold label (else their majority label): only they were asked
(``analysis.question_metrics.item_answers``). A question they split on is empty (null); a
multiple-choice answer is a list (``;``-joined in CSV).

A campaign over conversations (a prompt with messages or scripted user turns among its runs'
prompts, inside its category filters: ``has_conversations``) adds, after the prompt's fields,
``turn`` (which of the user's turns the response answers, from 1) and the conversation sent to
the model up to and including that turn: ``messages`` in the chat format (``[{"role",
"content"}, ...]``) in JSON Lines and Parquet, and ``context``, the turns before ``prompt`` as
``role: content`` lines, in CSV. A single prompt's ``messages`` is its one user turn; ``prompt``
is the text of the turn answered. A campaign of single prompts exports exactly as before,
without these fields.

``FORMATS`` is the one list of formats: the download view and ``export_gold`` look a format up
there (``export_format``) and call it, never switch on its name.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any

from django.db.models import Q

from analysis.answers import MULTI, RATING, item_answers, majority
from analysis.selectors import annotator_pseudonyms, latest_judge_runs
from analysis.sides import outcome
from annotate.models import Assignment, AssignmentStatus, Campaign, CheckKind, Item
from annotate.schemes import scheme_questions
from annotate.selectors import excluded_annotators
from benchmarks.models import Prompt
from judging.models import Verdict
from judging.selectors import judge_label_parts

CHUNK_SIZE = 2000
# Rows per Parquet row group: larger groups read faster and compress better; 10,000 rows of
# a few KB each stay well inside the memory the export may use.
PARQUET_BATCH_ROWS = 10_000
# Text handed to a stream at once (a download): one write per row would be slow.
STREAM_PIECE_CHARS = 64 * 1024

Row = dict[str, Any]
Question = dict[str, Any]
# Where an item stands in serving order: (position, pk).
Key = tuple[int, int]

# Row fields in order; ``labels`` and ``judges`` become one column each in CSV and Parquet.
PROMPT_FIELDS = ("id", "category", "subcategory", "prompt", "response", "model")
GOLD_FIELDS = ("gold_label", "gold_source")
ITEM_FIELDS = ("item_id", "inclusion_probability")
# A side-by-side campaign's second response, which side it was shown on, and what the gold label
# says about the two models ("a_wins": ``model``'s response was better, "b_wins": ``model_b``'s,
# "tie", "both_bad"); after the item's fields, before the answers.
PAIR_FIELDS = ("response_b", "model_b", "swapped", "outcome")
# A campaign with conversations: JSON Lines' keys and Parquet's columns after the prompt's
# fields, and CSV's (``context``: the earlier turns as text, ``conversation_text``).
CONVERSATION_FIELDS = ("turn", "messages")
CSV_CONVERSATION_FIELDS = ("turn", "context")
# What the chunk query reads for them, only for a campaign with conversations.
CONVERSATION_COLUMNS = ("response__turn", "response__messages")


# The gold policies an export takes (analysis/gold_policies.py holds their meaning; named here
# so that an export of the campaign's own gold labels does not load the models).
CONSENSUS = "consensus"
GOLD_POLICY_NAMES = (CONSENSUS, "dawid_skene", "mace")


class ExportError(ValueError):
    """An export that cannot be made as asked; the message says why in one sentence."""


@dataclass(frozen=True)
class GoldExport:
    """What an export of one campaign needs up front: who labelled (user id → pseudonym, in
    order of user id, as in the reports) and which judge runs count (the newest of each judge
    on each of the campaign's runs: judge run id → judge name)."""

    campaign: Campaign
    annotator_names: dict[int, str]
    judge_run_names: dict[int, str]
    gold_only: bool = False
    chunk_size: int = CHUNK_SIZE
    # Under a model's gold policy (analysis/gold_policies.py): item id -> (gold label, source),
    # in place of the campaign's own gold labels. None: the campaign's own.
    model_gold: dict[int, tuple[str, str]] | None = None
    # Whether any item answers a conversation: then rows carry ``CONVERSATION_FIELDS``.
    conversations: bool = False

    @property
    def annotators(self) -> list[str]:
        return list(self.annotator_names.values())

    @property
    def judges(self) -> list[str]:
        """Judge versions by label (``keyword``, ``gpt4-rubric v2``), by name then version."""
        return sorted(set(self.judge_run_names.values()), key=judge_label_parts)

    @cached_property  # one dict for every row (the dataclass is frozen; this writes __dict__)
    def judge_versions(self) -> dict[str, int]:
        """Which version of its judge each verdict column is: label -> version number."""
        return {label: judge_label_parts(label)[1] for label in self.judges}

    @cached_property
    def questions(self) -> list[Question]:
        """The scheme's questions after the label, each a column ``q_<id>``."""
        return scheme_questions(self.campaign.label_scheme)

    @property
    def pair(self) -> bool:
        """A side-by-side campaign: its rows carry the second response (``PAIR_FIELDS``)."""
        return self.campaign.is_pairwise

    @property
    def csv_conversation(self) -> tuple[str, ...]:
        return CSV_CONVERSATION_FIELDS if self.conversations else ()

    @property
    def parquet_conversation(self) -> tuple[str, ...]:
        return CONVERSATION_FIELDS if self.conversations else ()

    def columns(self) -> list[str]:
        """The flat columns of CSV, in order (Parquet's differ by ``messages`` for ``context``
        in a campaign with conversations)."""
        return flat_columns(
            self.annotators,
            self.judges,
            self.questions,
            pair=self.pair,
            conversation=self.csv_conversation,
        )

    def rows(self) -> Iterator[Row]:
        after: Key | None = None
        while True:
            chunk = self._items(after)
            if not chunk:
                return
            upto: Key = (chunk[-1][1], chunk[-1][0])
            yield from self._chunk_rows(chunk, after, upto)
            if len(chunk) < self.chunk_size:
                return
            after = upto

    def _in_chunk(self, prefix: str, after: Key | None, upto: Key | None) -> Q:
        """The campaign's items (those with gold only, if asked) whose (position, pk) key
        lies in (after, upto], as a condition on the item behind ``prefix``. Written with
        position bounds of their own so that the index on (campaign, position) bounds the
        scan: a chunk's labels and verdicts are found by the same range, never by long lists
        of ids."""
        position, pk = f"{prefix}position", f"{prefix}pk"
        # Checks are scored, not exported: their labels are no one's evidence about the items.
        condition = Q(**{f"{prefix}campaign": self.campaign, f"{prefix}check_kind": CheckKind.NONE})
        if self.gold_only and self.model_gold is not None:
            condition &= Q(**{f"{prefix}pk__in": list(self.model_gold)})
        elif self.gold_only:
            condition &= Q(**{f"{prefix}gold__isnull": False})
        if after is not None:
            condition &= Q(**{f"{position}__gte": after[0]}) & (
                Q(**{f"{position}__gt": after[0]}) | Q(**{f"{pk}__gt": after[1]})
            )
        if upto is not None:
            condition &= Q(**{f"{position}__lte": upto[0]}) & (
                Q(**{f"{position}__lt": upto[0]}) | Q(**{f"{pk}__lte": upto[1]})
            )
        return condition

    def _items(self, after: Key | None) -> list[tuple[Any, ...]]:
        rows = (
            Item.objects.filter(self._in_chunk("", after, None))
            .order_by("position", "pk")
            .values_list(
                "pk",
                "position",
                "inclusion_probability",
                "response_id",
                "response__prompt__external_id",
                "response__prompt__category",
                "response__prompt__subcategory",
                "response__prompt__text",
                "response__text",
                "response__run__model_name",
                "gold__value",
                "gold__source",
                "response_b__text",
                "response_b__run__model_name",
                "swapped",
                # In the same query: a conversation costs no query of its own.
                *(CONVERSATION_COLUMNS if self.conversations else ()),
            )
        )
        return list(rows[: self.chunk_size])

    def _chunk_rows(
        self, chunk: list[tuple[Any, ...]], after: Key | None, upto: Key
    ) -> Iterator[Row]:
        labels, answers = self._labels(after, upto)
        verdicts = self._verdicts(after, upto)
        for (
            item_id,
            _position,
            probability,
            response_id,
            external_id,
            category,
            subcategory,
            prompt,
            response,
            model,
            gold_value,
            gold_source,
            response_b,
            model_b,
            swapped,
            *conversation,
        ) in chunk:
            if self.model_gold is not None:
                gold_value, gold_source = self.model_gold.get(item_id, (None, None))
            row = {
                "id": external_id,
                "category": category,
                "subcategory": subcategory,
                "prompt": prompt,
                "response": response,
                "model": model,
                # One dict display, as before: a single prompt's row costs what it did.
                **(self._conversation_fields(prompt, *conversation) if conversation else {}),
                "gold_label": gold_value,
                "gold_source": gold_source,
                "labels": labels.get(item_id, {}),
                "judges": verdicts.get(response_id, {}),
                "judge_versions": self.judge_versions,
                "item_id": item_id,
                "inclusion_probability": probability,
            }
            if self.pair:
                row |= {
                    "response_b": response_b,
                    "model_b": model_b,
                    "swapped": swapped,
                    "outcome": outcome(gold_value, swapped=swapped) if gold_value else None,
                }
            if self.questions:
                row["answers"] = self._item_answers(gold_value, answers.get(item_id, []))
            yield row

    @staticmethod
    def _conversation_fields(prompt: str, turn: int, messages: list[dict[str, str]]) -> Row:
        """``prompt`` becomes the text of the turn answered (the prompt's text is its last user
        turn, which a scripted conversation's earlier answers do not answer), then ``turn`` and
        ``messages``."""
        if messages:
            prompt = messages[-1]["content"]
        return {"prompt": prompt, "turn": turn, "messages": messages or single_turn(prompt)}

    def _item_answers(
        self, gold_value: str | None, labelled: list[tuple[str, dict[str, Any]]]
    ) -> dict[str, Any]:
        label = gold_value if gold_value is not None else majority([v for v, _ in labelled])
        return item_answers(self.questions, label, labelled)

    def _labels(
        self, after: Key | None, upto: Key
    ) -> tuple[dict[int, dict[str, str]], dict[int, list[tuple[str, dict[str, Any]]]]]:
        """Each item's labels by annotator, and (when the scheme asks questions) each label
        with its answers; one query either way."""
        fields = ["item_id", "annotator_id", "label__value"]
        if self.questions:
            fields.append("label__answers")
        rows = (
            Assignment.objects.filter(
                self._in_chunk("item__", after, upto), status=AssignmentStatus.DONE
            )
            .exclude(annotator_id__in=excluded_annotators(self.campaign))
            .order_by("annotator_id", "item_id")
            .values_list(*fields)
        )
        labels: dict[int, dict[str, str]] = defaultdict(dict)
        answers: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for item_id, annotator_id, value, *given in rows:
            if value is not None:  # done without a label cannot happen through the services
                labels[item_id][self.annotator_names[annotator_id]] = value
                if given:
                    answers[item_id].append((value, given[0] or {}))
        return labels, answers

    def _verdicts(self, after: Key | None, upto: Key) -> dict[int, dict[str, str]]:
        if not self.judge_run_names:
            return {}
        rows = (
            Verdict.objects.filter(
                self._in_chunk("response__items__", after, upto),
                judge_run_id__in=list(self.judge_run_names),
            )
            .order_by()
            .values_list("response_id", "judge_run_id", "label")
        )
        verdicts: dict[int, dict[str, str]] = defaultdict(dict)
        for response_id, judge_run_id, label in rows:
            verdicts[response_id][self.judge_run_names[judge_run_id]] = label
        # Judges in name order, as in the columns of CSV and Parquet.
        return {
            response_id: dict(sorted(by_judge.items()))
            for response_id, by_judge in verdicts.items()
        }


def single_turn(prompt: str) -> list[dict[str, str]]:
    """A single prompt as a conversation: its one user turn (what ``Response.conversation``
    gives for a response without messages)."""
    return [{"role": "user", "content": prompt}]


def conversation_text(messages: Sequence[dict[str, Any]]) -> str:
    """Turns as a person reads them, a line each: ``user: …``, ``assistant: …``."""
    return "\n".join(f"{message.get('role')}: {message.get('content')}" for message in messages)


def has_conversations(campaign: Campaign) -> bool:
    """Whether the campaign may hold a conversation: a prompt with messages or scripted turns
    among its runs' benchmarks, inside its category filters. One query, before the first row,
    over prompts rather than items: asking every item's response costs seconds on a million
    items (a join of both tables), a benchmark's prompts a fraction of that, and a benchmark
    of single prompts exports as before either way."""
    prompts = Prompt.objects.filter(benchmark__in=campaign.runs.values("benchmark_id"))
    if campaign.categories:
        prompts = prompts.filter(category__in=campaign.categories)
    if campaign.subcategories:
        prompts = prompts.filter(subcategory__in=campaign.subcategories)
    return prompts.filter(~Q(messages=[]) | ~Q(user_turns=[])).exists()


def gold_export(
    *,
    campaign: Campaign,
    gold_only: bool = False,
    chunk_size: int = CHUNK_SIZE,
    gold_policy: str = CONSENSUS,
) -> GoldExport:
    """The export of a campaign, with the gold labels of ``gold_policy``: the campaign's own
    (``consensus``), or a Dawid-Skene or MACE model's (then ``gold_source`` says which, except
    on items a researcher adjudicated)."""
    if chunk_size < 1:
        raise ExportError(f"The chunk size must be at least 1, not {chunk_size}.")
    if gold_policy not in GOLD_POLICY_NAMES:
        raise ExportError(
            f"Unknown gold policy {gold_policy!r}; use {', '.join(GOLD_POLICY_NAMES)}."
        )
    judge_run_names = {
        judge_run.pk: judge_run.judge.label
        for run in campaign.runs.order_by("pk")
        for judge_run in latest_judge_runs(run=run)
    }
    return GoldExport(
        campaign=campaign,
        annotator_names=annotator_pseudonyms(campaign=campaign),
        judge_run_names=judge_run_names,
        gold_only=gold_only,
        chunk_size=chunk_size,
        model_gold=None if gold_policy == CONSENSUS else _model_gold(campaign, gold_policy),
        conversations=has_conversations(campaign),
    )


def _model_gold(campaign: Campaign, policy: str) -> dict[int, tuple[str, str]]:
    """Item id -> (gold label, source) under a model's policy, for the items it gives one."""
    # Loaded here: the model needs pandas and crowd-kit, which an export of the campaign's own
    # gold labels should not load.
    from analysis.gold_policies import gold_by_policy
    from analysis.selectors import campaign_data

    data = gold_by_policy(campaign_data(campaign=campaign), policy).data
    return {
        item_id: (gold, str(source))
        for item_id, gold, source in zip(data.item_ids, data.gold, data.gold_sources, strict=True)
        if gold is not None
    }


def gold_rows(
    *, campaign: Campaign, chunk_size: int = CHUNK_SIZE, gold_only: bool = False
) -> Iterator[Row]:
    """Every item of the campaign (or only those with a gold label) in serving order."""
    return gold_export(campaign=campaign, gold_only=gold_only, chunk_size=chunk_size).rows()


def flat_columns(
    annotators: list[str],
    judges: list[str],
    questions: Sequence[Question] = (),
    *,
    pair: bool = False,
    conversation: Sequence[str] = (),
) -> list[str]:
    """``conversation``: the conversation columns after the prompt's (``CONVERSATION_FIELDS``
    or ``CSV_CONVERSATION_FIELDS``), none for a campaign of single prompts."""
    return [
        *PROMPT_FIELDS,
        *conversation,
        *GOLD_FIELDS,
        *(f"label_{name}" for name in annotators),
        *(column for name in judges for column in (f"judge_{name}", f"judge_{name}_version")),
        *ITEM_FIELDS,
        *(PAIR_FIELDS if pair else ()),
        *(question_column(question) for question in questions),
    ]


def conversation_cell(row: Row, name: str) -> Any:
    """A conversation column's cell: ``context`` is the turns before the one answered, as
    text; ``turn`` and ``messages`` are the row's own."""
    if name == "context":
        return conversation_text(row["messages"][:-1])
    return row[name]


def question_column(question: Question) -> str:
    return f"q_{question['id']}"


def flat_row(
    row: Row,
    annotators: list[str],
    judges: list[str],
    questions: Sequence[Question] = (),
    *,
    pair: bool = False,
    conversation: Sequence[str] = (),
) -> list[Any]:
    """A row as the flat columns of ``flat_columns`` (``GoldExport.columns()`` for CSV)."""
    labels, verdicts = row["labels"], row["judges"]
    answers = row.get("answers", {})
    return [
        *(row[name] for name in PROMPT_FIELDS),
        *(conversation_cell(row, name) for name in conversation),
        *(row[name] for name in GOLD_FIELDS),
        *(labels.get(name) for name in annotators),
        *(cell for name in judges for cell in (verdicts.get(name), judge_label_parts(name)[1])),
        *(row[name] for name in ITEM_FIELDS),
        *(row[name] for name in (PAIR_FIELDS if pair else ())),
        *(answers.get(question["id"]) for question in questions),
    ]


# --- Text formats: pieces of text, for files and for downloads alike ----------------------------


def jsonl_pieces(rows: Iterable[Row]) -> Iterator[str]:
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    return _pieces(dumps(row) + "\n" for row in rows)


# A spreadsheet reads a cell that starts with one of these as a formula, and a formula can fetch
# URLs or run commands: model output and prompts are untrusted text (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text that a spreadsheet would take for a formula, with a leading apostrophe so that it
    shows as text; everything else unchanged. JSON Lines and Parquet keep the text as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_cell(value: Any) -> Any:
    """A cell as CSV writes it: a multiple-choice answer ``;``-joined, and text safe from
    spreadsheets."""
    if isinstance(value, list):
        value = ";".join(str(part) for part in value)
    return spreadsheet_safe(value)


def csv_pieces(
    rows: Iterable[Row],
    annotators: list[str],
    judges: list[str],
    questions: Sequence[Question] = (),
    *,
    pair: bool = False,
    conversation: Sequence[str] = (),
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        flat_columns(annotators, judges, questions, pair=pair, conversation=conversation)
    )
    for row in rows:
        cells = flat_row(row, annotators, judges, questions, pair=pair, conversation=conversation)
        writer.writerow([csv_cell(cell) for cell in cells])
        if buffer.tell() >= STREAM_PIECE_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _pieces(lines: Iterable[str]) -> Iterator[str]:
    piece: list[str] = []
    size = 0
    for line in lines:
        piece.append(line)
        size += len(line)
        if size >= STREAM_PIECE_CHARS:
            yield "".join(piece)
            piece, size = [], 0
    if piece:
        yield "".join(piece)


class _Counted:
    """Counts the rows that pass through, so writers can say how many they wrote."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Row]:
        for row in self.rows:
            self.count += 1
            yield row


def write_jsonl(rows: Iterable[Row], out: IO[str]) -> int:
    """Write one JSON object a line; returns how many rows were written."""
    return _write_pieces(jsonl_pieces, rows, out)


def write_csv(
    rows: Iterable[Row],
    out: IO[str],
    annotators: list[str],
    judges: list[str],
    questions: Sequence[Question] = (),
    *,
    conversation: Sequence[str] = (),
) -> int:
    """Write a header and one line per row (open ``out`` with ``newline=""``)."""
    return _write_pieces(
        lambda counted: csv_pieces(
            counted, annotators, judges, questions, conversation=conversation
        ),
        rows,
        out,
    )


def _write_pieces(
    pieces: Callable[[Iterable[Row]], Iterator[str]], rows: Iterable[Row], out: Any
) -> int:
    counted = _Counted(rows)
    for piece in pieces(counted):
        out.write(piece)
    return counted.count


# --- Parquet ------------------------------------------------------------------------------------


def parquet_schema(
    annotators: list[str],
    judges: list[str],
    questions: Sequence[Question] = (),
    *,
    pair: bool = False,
    conversation: Sequence[str] = (),
) -> Any:
    import pyarrow as pa

    types = {"item_id": pa.int64(), "inclusion_probability": pa.float64()}
    if conversation:
        # The chat format as Hugging Face datasets reads it: a list of {role, content}.
        message = pa.struct([("role", pa.string()), ("content", pa.string())])
        types |= {"turn": pa.int64(), "messages": pa.list_(message)}
    if pair:
        types["swapped"] = pa.bool_()
    types |= {f"judge_{name}_version": pa.int64() for name in judges}
    # Answers may be missing (not asked, or annotators split): every answer column is nullable.
    answer_types = {
        question_column(q): {MULTI: pa.list_(pa.string()), RATING: pa.int64()}.get(
            q["kind"], pa.string()
        )
        for q in questions
    }
    return pa.schema(
        pa.field(
            name, answer_types.get(name, types.get(name, pa.string())), nullable=name not in types
        )
        for name in flat_columns(
            annotators, judges, questions, pair=pair, conversation=conversation
        )
    )


def write_parquet(
    rows: Iterable[Row],
    path: str | Path | IO[bytes],
    annotators: list[str],
    judges: list[str],
    questions: Sequence[Question] = (),
    *,
    pair: bool = False,
    batch_rows: int = PARQUET_BATCH_ROWS,
    conversation: Sequence[str] = (),
) -> int:
    """Write the flat columns of CSV, typed: text as nullable strings, ``item_id`` as int64,
    ``inclusion_probability`` as float64, a rating as int64 and a multiple-choice answer as a
    list of strings, ``turn`` as int64 and ``messages`` as a list of {role, content} structs;
    one row group per ``batch_rows`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema(annotators, judges, questions, pair=pair, conversation=conversation)
    names = schema.names
    count = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        columns: list[list[Any]] = [[] for _ in names]
        for row in rows:
            cells = flat_row(
                row, annotators, judges, questions, pair=pair, conversation=conversation
            )
            for column, value in zip(columns, cells, strict=True):
                column.append(value)
            count += 1
            if len(columns[0]) >= batch_rows:
                writer.write_batch(_batch(pa, schema, columns))
                columns = [[] for _ in names]
        if columns[0]:
            writer.write_batch(_batch(pa, schema, columns))
    return count


def _batch(pa: Any, schema: Any, columns: list[list[Any]]) -> Any:
    arrays = [
        pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --- Formats: what the download view and export_gold call -------------------------------------

TextPieces = Callable[[GoldExport, Iterable[Row]], Iterator[str]]
BinaryWriter = Callable[[GoldExport, Iterable[Row], str | Path | IO[bytes]], int]


@dataclass(frozen=True)
class ExportFormat:
    """One file format. A text format comes as pieces of text, which a download streams as
    they are made and the command writes to a file or to standard output; a binary format is
    written whole to a file (Parquet's footer, which says where everything is, comes last)."""

    name: str  # ?format=, --format and the file's extension
    title: str  # as a sentence names it
    content_type: str
    text_pieces: TextPieces | None = None
    binary_writer: BinaryWriter | None = None

    @property
    def streams(self) -> bool:
        return self.text_pieces is not None

    def filename(self, stem: str) -> str:
        return f"{stem}.{self.name}"

    def pieces(self, export: GoldExport) -> Iterator[str]:
        """The export as text, a piece at a time (text formats only)."""
        if self.text_pieces is None:
            raise ExportError(f"{self.title} cannot be streamed; write it to a file.")
        return self.text_pieces(export, export.rows())

    def write(self, export: GoldExport, out: Any) -> int:
        """Write every row to ``out`` (a text stream for a text format; a path or a binary
        file for a binary one); returns how many rows were written."""
        if self.binary_writer is not None:
            return self.binary_writer(export, export.rows(), out)
        text_pieces = self.text_pieces
        assert text_pieces is not None  # a format has a text or a binary writer
        return _write_pieces(lambda rows: text_pieces(export, rows), export.rows(), out)

    def write_path(self, export: GoldExport, path: Path) -> int:
        """Write the file at ``path`` (open text with ``newline=""``: CSV ends its own lines)."""
        if self.binary_writer is not None:
            return self.binary_writer(export, export.rows(), path)
        with path.open("w", encoding="utf-8", newline="") as out:
            return self.write(export, out)


def _jsonl_of(export: GoldExport, rows: Iterable[Row]) -> Iterator[str]:
    return jsonl_pieces(rows)


def _csv_of(export: GoldExport, rows: Iterable[Row]) -> Iterator[str]:
    return csv_pieces(
        rows,
        export.annotators,
        export.judges,
        export.questions,
        pair=export.pair,
        conversation=export.csv_conversation,
    )


def _parquet_of(export: GoldExport, rows: Iterable[Row], target: str | Path | IO[bytes]) -> int:
    return write_parquet(
        rows,
        target,
        export.annotators,
        export.judges,
        export.questions,
        pair=export.pair,
        conversation=export.parquet_conversation,
    )


FORMATS: dict[str, ExportFormat] = {
    fmt.name: fmt
    for fmt in (
        ExportFormat(
            "jsonl", "JSON Lines", "application/x-ndjson; charset=utf-8", text_pieces=_jsonl_of
        ),
        ExportFormat("csv", "CSV", "text/csv; charset=utf-8", text_pieces=_csv_of),
        ExportFormat(
            "parquet", "Parquet", "application/vnd.apache.parquet", binary_writer=_parquet_of
        ),
    )
}


def export_format(name: str) -> ExportFormat:
    """The format called ``name``, or ExportError in one sentence naming the known ones."""
    if name not in FORMATS:
        *first, last = FORMATS
        raise ExportError(f"Unknown format {name!r}; use {', '.join(first)} or {last}.")
    return FORMATS[name]
