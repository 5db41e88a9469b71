"""Writes to benchmarks: importing prompts and rubrics, each import one transaction."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction

from accounts.bulk import rows_insert
from accounts.validation import text_problem
from benchmarks.files import InputFileError
from benchmarks.importing import (
    PromptRow,
    RubricText,
    looks_like_hub_id,
    read_hub_dataset,
    read_prompt_file,
    read_rubric_file,
)
from benchmarks.models import SLUG_PATTERN, Benchmark, BenchmarkKind, Prompt, Rubric

# Rows per INSERT/UPDATE statement: big enough to amortise round trips, small enough for
# SQLite's and PostgreSQL's bound-parameter limits (8 columns x 2000 = 16,000 parameters).
WRITE_BATCH = 2000

# What the importer writes of a new prompt (rows_insert: COPY on PostgreSQL).
PROMPT_COLUMNS = ("benchmark_id", "external_id", "category", "subcategory", "text", "metadata")
# A batch with a conversation writes these too. A batch without leaves them to their default
# (the database's [] under COPY): adapting two JSON values for every one of 100,000 single
# prompts would add about a second of CPU time to their COPY.
CONVERSATION_COLUMNS = ("messages", "user_turns")
# What an update may change.
PROMPT_CONTENT = ("category", "subcategory", "text", "metadata", "messages", "user_turns")
# A single prompt's conversation columns.
SINGLE_PROMPT: tuple[list[Any], list[Any]] = ([], [])
# progress(done, total): prompts written (or found unchanged) of the prompts the source holds.
Progress = Callable[[int, int], None]
T = TypeVar("T")

# Benchmark's columns, and the <slug:> of its URLs (ASCII: Django's slug path converter); the
# model's check constraint holds the same rule in the database.
SLUG = re.compile(SLUG_PATTERN)
SLUG_MAX_LENGTH = Benchmark._meta.get_field("slug").max_length or 100
NAME_MAX_LENGTH = Benchmark._meta.get_field("name").max_length or 200
SOURCE_MAX_LENGTH = Benchmark._meta.get_field("source").max_length or 500


@dataclass
class PromptImportReport:
    read: int
    created: int
    updated: int
    unchanged: int
    not_in_source: int
    categories: int
    pairs: int
    conversations: int = 0  # with fixed context (`messages`)
    scripted: int = 0  # scripted conversations (`user_turns`)


@dataclass
class RubricImportReport:
    new_versions: int = 0
    unchanged: int = 0
    matched: list[str] = field(default_factory=list)
    without_rubric: list[str] = field(default_factory=list)
    unmatched_entries: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    benchmark: Benchmark
    prompts: PromptImportReport
    rubric: RubricImportReport | None

    def lines(self) -> list[tuple[str, bool]]:
        """What was imported, line by line, each with whether it is a warning: the command
        prints them, an upload's page shows them."""
        prompts, rubric = self.prompts, self.rubric
        lines = [
            (
                f"{self.benchmark.slug}: {prompts.read} prompts read; {prompts.created} new, "
                f"{prompts.updated} updated, {prompts.unchanged} unchanged.",
                False,
            ),
            (
                f"{prompts.categories} categories, {prompts.pairs} (category, subcategory) pairs.",
                False,
            ),
        ]
        if prompts.conversations or prompts.scripted:
            lines.append(
                (
                    f"Conversations among them: {prompts.conversations} with fixed context, "
                    f"{prompts.scripted} scripted.",
                    False,
                )
            )
        if prompts.not_in_source:
            lines.append(
                (
                    f"{prompts.not_in_source} prompts already in the benchmark are not in this "
                    "source; they were kept.",
                    False,
                )
            )
        if rubric is None:
            return lines
        lines.append(
            (
                f"Rubric: {len(rubric.matched)} subcategories matched ({rubric.new_versions} new "
                f"versions, {rubric.unchanged} unchanged).",
                False,
            )
        )
        if rubric.without_rubric:
            lines.append((f"No rubric for: {', '.join(rubric.without_rubric)}.", True))
        if rubric.unmatched_entries:
            lines.append(
                (
                    "Rubric entries for subcategories this benchmark lacks (ignored): "
                    f"{', '.join(rubric.unmatched_entries)}.",
                    False,
                )
            )
        return lines


def benchmark_import(
    *,
    source: str,
    slug: str,
    kind: str,
    name: str = "",
    description: str = "",
    rubric_path: Path | None = None,
    hub_config: str | None = None,
    hub_split: str = "test",
    source_label: str = "",
    rubric_label: str = "",
    progress: Progress | None = None,
) -> ImportReport:
    """Read ``source`` (a file, or a hub id) and an optional rubric, then write them at once.

    Every check happens before the first write and all writes share one transaction, so a bad
    file leaves the database as it was. The benchmark records ``source_label`` as its source
    when given (an upload's file name: its path on the server goes away), else ``source``; the
    rubric ``rubric_label``, else its path.
    """
    if kind not in BenchmarkKind.values:
        raise InputFileError(f"Unknown benchmark kind '{kind}'; use noncompliance or contrast.")
    recorded_source = source_label or source
    check_benchmark_fields(slug=slug, name=name, description=description, source=recorded_source)
    max_bytes = settings.DEMUR_IMPORT_MAX_BYTES
    if looks_like_hub_id(source):
        rows = read_hub_dataset(source, config=hub_config, split=hub_split)
    else:
        rows = read_prompt_file(Path(source), max_bytes=max_bytes)
    rubric = read_rubric_file(rubric_path, max_bytes=max_bytes) if rubric_path else None
    with transaction.atomic():
        benchmark = benchmark_get_or_create(
            slug=slug, kind=kind, name=name, description=description, source=recorded_source
        )
        prompt_report = prompts_upsert(benchmark=benchmark, rows=rows, progress=progress)
        rubric_report = (
            rubric_import(
                benchmark=benchmark, entries=rubric, source=rubric_label or str(rubric_path)
            )
            if rubric is not None
            else None
        )
    return ImportReport(benchmark=benchmark, prompts=prompt_report, rubric=rubric_report)


def check_benchmark_fields(*, slug: str, name: str, description: str, source: str) -> None:
    """What a new benchmark is called must fit its columns and its URLs: a slug outside
    ``[-a-zA-Z0-9_]`` would be stored and then break every page that links to it."""
    if not SLUG.fullmatch(slug) or len(slug) > SLUG_MAX_LENGTH:
        raise InputFileError(
            f"The slug {slug!r} must be 1 to {SLUG_MAX_LENGTH} letters, digits, hyphens or "
            "underscores (such as coconot-contrast)."
        )
    for field_name, value, longest in (
        ("name", name, NAME_MAX_LENGTH),
        ("description", description, None),
        ("source", source, SOURCE_MAX_LENGTH),
    ):
        problem = text_problem(value)
        if problem:
            raise InputFileError(f"The benchmark's {field_name} {problem}.")
        if longest is not None and len(value) > longest:
            raise InputFileError(
                f"The benchmark's {field_name} is longer than {longest} characters."
            )


def benchmark_get_or_create(
    *, slug: str, kind: str, name: str, description: str, source: str
) -> Benchmark:
    benchmark, created = Benchmark.objects.get_or_create(
        slug=slug,
        defaults={"kind": kind, "name": name or slug, "description": description, "source": source},
    )
    if created:
        return benchmark
    if benchmark.kind != kind:
        raise InputFileError(
            f"Benchmark '{slug}' is a {benchmark.kind} benchmark; import with --kind "
            f"{benchmark.kind} or choose another --slug."
        )
    changes = {"source": source, "name": name, "description": description}
    for attribute, value in changes.items():
        if value:
            setattr(benchmark, attribute, value)
    benchmark.save()
    return benchmark


def prompts_upsert(
    *, benchmark: Benchmark, rows: list[PromptRow], progress: Progress | None = None
) -> PromptImportReport:
    """New ids are inserted, changed ones updated in place, identical ones left alone."""
    # A prompt written for a campaign's check is not the source's to update or to miss.
    source_prompts = Prompt.objects.filter(benchmark=benchmark, written_for_check=False)
    existing = {
        external_id: (pk, (category, subcategory, text, metadata))
        for pk, external_id, category, subcategory, text, metadata in source_prompts.values_list(
            "pk", "external_id", "category", "subcategory", "text", "metadata"
        )
    }
    # Conversation columns are read only where they hold something: decoding two JSON values
    # for each of 100,000 single prompts would make re-importing them markedly slower.
    conversations = {
        external_id: (messages, user_turns)
        for external_id, messages, user_turns in source_prompts.exclude(
            messages=[], user_turns=[]
        ).values_list("external_id", "messages", "user_turns")
    }
    to_create: list[PromptRow] = []
    to_update: list[Prompt] = []
    for row in rows:
        found = existing.get(row.external_id)
        if found is None:
            to_create.append(row)
        elif found[1] != (row.category, row.subcategory, row.text, row.metadata) or (
            conversations.get(row.external_id, SINGLE_PROMPT) != (row.messages, row.user_turns)
        ):
            to_update.append(
                Prompt(
                    pk=found[0],
                    benchmark=benchmark,
                    external_id=row.external_id,
                    category=row.category,
                    subcategory=row.subcategory,
                    text=row.text,
                    metadata=row.metadata,
                    messages=row.messages,
                    user_turns=row.user_turns,
                )
            )
    done = len(rows) - len(to_create) - len(to_update)  # unchanged: nothing to write
    report = progress or (lambda done, total: None)
    report(done, len(rows))
    for new in batches(to_create, WRITE_BATCH):
        prompts_insert(benchmark=benchmark, rows=new)
        done += len(new)
        report(done, len(rows))
    for changed in batches(to_update, WRITE_BATCH):
        Prompt.objects.bulk_update(changed, PROMPT_CONTENT, batch_size=WRITE_BATCH)
        done += len(changed)
        report(done, len(rows))
    in_source = {row.external_id for row in rows}
    return PromptImportReport(
        read=len(rows),
        created=len(to_create),
        updated=len(to_update),
        unchanged=len(rows) - len(to_create) - len(to_update),
        not_in_source=sum(1 for external_id in existing if external_id not in in_source),
        categories=len({row.category for row in rows}),
        pairs=len({(row.category, row.subcategory) for row in rows}),
        conversations=sum(1 for row in rows if row.messages),
        scripted=sum(1 for row in rows if row.user_turns),
    )


def prompts_insert(*, benchmark: Benchmark, rows: Sequence[PromptRow]) -> None:
    if not any(row.messages or row.user_turns for row in rows):
        rows_insert(
            Prompt,
            PROMPT_COLUMNS,
            (
                (benchmark.pk, row.external_id, row.category, row.subcategory, row.text,
                 row.metadata)
                for row in rows
            ),
        )  # fmt: skip
        return
    rows_insert(
        Prompt,
        (*PROMPT_COLUMNS, *CONVERSATION_COLUMNS),
        (
            (benchmark.pk, row.external_id, row.category, row.subcategory, row.text,
             row.metadata, row.messages, row.user_turns)
            for row in rows
        ),
    )  # fmt: skip


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rubric_import(
    *, benchmark: Benchmark, entries: list[RubricText], source: str
) -> RubricImportReport:
    """Attach rubric texts to the benchmark's subcategories, matched case-insensitively.

    The texts are stored as what is acceptable *on this benchmark*: refusing on a noncompliance
    benchmark, complying on a contrast one.
    """
    by_key = rubric_entries_by_folded_key(entries)
    subcategories = sorted(set(benchmark.prompts.values_list("subcategory", flat=True).distinct()))
    report = RubricImportReport()
    for subcategory in subcategories:
        entry = by_key.get(subcategory.casefold().strip())
        if entry is None:
            report.without_rubric.append(subcategory)
            continue
        report.matched.append(subcategory)
        if rubric_store_version(
            benchmark=benchmark, subcategory=subcategory, entry=entry, source=source
        ):
            report.new_versions += 1
        else:
            report.unchanged += 1
    folded_subcategories = {subcategory.casefold().strip() for subcategory in subcategories}
    report.unmatched_entries = sorted(
        entry.key for key, entry in by_key.items() if key not in folded_subcategories
    )
    return report


def rubric_entries_by_folded_key(entries: list[RubricText]) -> dict[str, RubricText]:
    by_key: dict[str, RubricText] = {}
    for entry in entries:
        key = entry.key.casefold().strip()
        other = by_key.get(key)
        if other is not None and (other.refusal, other.compliance) != (
            entry.refusal,
            entry.compliance,
        ):
            raise InputFileError(
                f"Rubric entries '{other.key}' and '{entry.key}' name the same subcategory "
                "with different texts."
            )
        by_key[key] = entry
    return by_key


def rubric_store_version(
    *, benchmark: Benchmark, subcategory: str, entry: RubricText, source: str
) -> bool:
    """Make this text the subcategory's current rubric; True if it is a version never seen."""
    if benchmark.kind == BenchmarkKind.CONTRAST:
        acceptable, unacceptable = entry.compliance, entry.refusal
    else:
        acceptable, unacceptable = entry.refusal, entry.compliance
    version = hashlib.sha256(f"{acceptable}\x00{unacceptable}".encode()).hexdigest()[:16]
    current = Rubric.objects.filter(
        benchmark=benchmark, subcategory=subcategory, is_current=True
    ).first()
    if current is not None and current.version == version:
        return False
    Rubric.objects.filter(benchmark=benchmark, subcategory=subcategory).update(is_current=False)
    _, created = Rubric.objects.update_or_create(
        benchmark=benchmark,
        subcategory=subcategory,
        version=version,
        defaults={"is_current": True},
        create_defaults={
            "acceptable": acceptable,
            "unacceptable": unacceptable,
            "source": source,
            "is_current": True,
        },
    )
    return created
