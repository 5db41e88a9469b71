"""Benchmarks imported before slugs were checked (issue 11: `import_benchmark --slug "BAD SLUG!"`)
get a slug their URLs can hold, so /benchmarks/ stops failing with NoReverseMatch.

A bad slug becomes its slugified self ("BAD SLUG!" -> "bad-slug"), ``benchmark-<pk>`` when
nothing is left of it, with ``-<pk>`` added when another benchmark has that slug already.
"""

from __future__ import annotations

import re

from django.db import migrations
from django.utils.text import slugify

# The rule of benchmarks.models.SLUG_PATTERN (benchmarks.services.SLUG, Django's <slug:> path
# converter), copied: a migration must not import application code, which may change after the
# migration is written.
SLUG = re.compile(r"[-a-zA-Z0-9_]+")
SLUG_MAX_LENGTH = 100


def is_valid(slug: str) -> bool:
    return bool(SLUG.fullmatch(slug)) and len(slug) <= SLUG_MAX_LENGTH


def with_suffix(base: str, suffix: str) -> str:
    return f"{base[: SLUG_MAX_LENGTH - len(suffix)]}{suffix}"


def candidates(slug: str, pk: int):  # type: ignore[no-untyped-def]
    base = slugify(slug)[:SLUG_MAX_LENGTH].strip("-_")  # ASCII only: allow_unicode is off
    if base:
        yield base
        yield with_suffix(base, f"-{pk}")
    yield f"benchmark-{pk}"
    number = 2
    while True:  # only when people made slugs like benchmark-<pk> themselves
        yield f"benchmark-{pk}-{number}"
        number += 1


def make_slugs_valid(apps, schema_editor):  # type: ignore[no-untyped-def]
    benchmark_model = apps.get_model("benchmarks", "Benchmark")
    rows = list(benchmark_model.objects.order_by("pk").values_list("pk", "slug"))
    taken = {slug for _, slug in rows if is_valid(slug)}
    for pk, slug in rows:
        if is_valid(slug):
            continue
        new = next(c for c in candidates(slug, pk) if c not in taken)
        taken.add(new)
        benchmark_model.objects.filter(pk=pk).update(slug=new)


class Migration(migrations.Migration):
    dependencies = [("benchmarks", "0002_role_groups")]
    # Nothing to undo: the old slugs were unusable, and the new ones are valid before too.
    operations = [migrations.RunPython(make_slugs_valid, migrations.RunPython.noop)]
