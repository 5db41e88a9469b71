"""Judges get versions: a Judge row is one version, (name, version) unique.

Existing judges become version 1, with their definition (kind, settings, the model spec as it is
now) written down. A judge that was changed in place after it had judged (judge_save used to
update by name) has judge runs whose frozen snapshot says something else: those runs are given
the versions they really ran, oldest first, so that no verdict is shown under a definition that
did not produce it. The judge's current definition stays on its own row, as its newest version. The built-in
`keyword` judge, which could be overwritten the same way, gets its own rule back; what it had been
turned into keeps its runs as `keyword-redefined`.
"""

from __future__ import annotations

from django.db import migrations, models


def _definition(kind, settings, model):  # type: ignore[no-untyped-def]
    return {"kind": kind, "settings": settings or {}, "model": model}


def _model_of(spec):  # type: ignore[no-untyped-def]
    if spec is None:
        return None
    return {"name": spec.name, "backend": spec.backend, "settings": spec.settings}


def _snapshot_definition(snapshot, fallback):  # type: ignore[no-untyped-def]
    if not snapshot or "kind" not in snapshot:
        return fallback  # a run made before snapshots existed: nothing says otherwise
    return _definition(snapshot["kind"], snapshot.get("settings"), snapshot.get("model"))


def split_judges_into_versions(apps, schema_editor):  # type: ignore[no-untyped-def]
    judge_model = apps.get_model("judging", "Judge")
    spec_model = apps.get_model("inference", "ModelSpec")
    for judge in list(judge_model.objects.select_related("model_spec").order_by("pk")):
        current = _definition(judge.kind, judge.settings, _model_of(judge.model_spec))
        # Consecutive runs with the same definition share a version.
        segments = []  # [(definition, [judge run ids])]
        for run in judge.runs.order_by("pk"):
            definition = _snapshot_definition(run.judge_snapshot, current)
            if segments and segments[-1][0] == definition:
                segments[-1][1].append(run.pk)
            else:
                segments.append((definition, [run.pk]))
        if segments and segments[-1][0] == current:
            segments.pop()  # the newest runs belong to the judge as it is now
        # The judge as it is now is the newest version (numbered first, so that the older
        # versions' numbers are free).
        judge.version = len(segments) + 1
        judge.definition = current
        judge.save(update_fields=["version", "definition"])
        for version, (definition, run_ids) in enumerate(segments, start=1):
            model = definition["model"]
            spec = spec_model.objects.filter(name=model["name"]).first() if model else None
            older = judge_model.objects.create(
                name=judge.name,
                version=version,
                kind=definition["kind"],
                model_spec=spec,
                settings=definition["settings"],
                definition=definition,
                description=judge.description,
            )
            judge.runs.filter(pk__in=run_ids).update(judge=older)


BUILT_IN = "keyword"
BUILT_IN_DEFINITION = {"kind": "keyword", "settings": {}, "model": None}


def give_back_the_built_in_keyword_judge(apps, schema_editor):  # type: ignore[no-untyped-def]
    """`keyword` is built in and can no longer be redefined. Versions of it that were other
    judges (it could be overwritten in place) keep their runs under a name of their own, and
    `keyword` is the built-in rule again."""
    judge_model = apps.get_model("judging", "Judge")
    versions = list(judge_model.objects.filter(name=BUILT_IN).order_by("version"))
    redefined = [judge for judge in versions if judge.definition != BUILT_IN_DEFINITION]
    if not redefined:
        return
    new_name, suffix = f"{BUILT_IN}-redefined", 1
    while judge_model.objects.filter(name=new_name).exists():
        suffix += 1
        new_name = f"{BUILT_IN}-redefined-{suffix}"
    for number, judge in enumerate(redefined, start=1):
        judge.name, judge.version = new_name, number
        judge.description = (
            f"Was '{BUILT_IN}' before judges had versions. " + judge.description
        ).strip()
        judge.save(update_fields=["name", "version", "description"])
    kept = [judge for judge in versions if judge.definition == BUILT_IN_DEFINITION]
    for number, judge in enumerate(kept, start=1):
        judge.version = number
        judge.save(update_fields=["version"])
    if not kept:
        judge_model.objects.create(
            name=BUILT_IN,
            version=1,
            kind="keyword",
            settings={},
            definition=BUILT_IN_DEFINITION,
            description="String-match baseline with the built-in refusal phrases "
            "(judging/judges_text.py, DEFAULT_REFUSAL_KEYWORDS).",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("inference", "0001_initial"),
        ("judging", "0003_keyword_judge"),
    ]

    operations = [
        migrations.AlterModelOptions(name="judge", options={"ordering": ["name", "version"]}),
        migrations.AlterField(
            model_name="judge", name="name", field=models.CharField(max_length=200)
        ),
        migrations.AddField(
            model_name="judge", name="version", field=models.PositiveIntegerField(default=1)
        ),
        migrations.AddField(
            model_name="judge",
            name="definition",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Kind, settings and model as this version was made.",
            ),
        ),
        migrations.RunPython(split_judges_into_versions, migrations.RunPython.noop),
        migrations.RunPython(give_back_the_built_in_keyword_judge, migrations.RunPython.noop),
    ]
