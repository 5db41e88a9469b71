"""The role groups' migration moved from benchmarks to accounts, and the chunk queue from
inference to runs (issue 12). A database migrated with the layout before the moves, holding
people in their roles and their work, migrates to the new layout with every row still there,
every person still in their role."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

# Every app's last migration before accounts and runs existed (the layout the groups were made
# in by benchmarks.0002_role_groups, the chunks kept by inference); those two not migrated at
# all.
BEFORE = [
    ("benchmarks", "0004_benchmark_slug_url_safe"),
    ("inference", "0005_chunk_heartbeat"),
    ("judging", "0005_judge_unique_version"),
    ("annotate", "0005_campaign_exclude_truncated"),
    ("accounts", None),
    ("runs", None),
]
# The chunk queue's table moved with its model; its content type names the new app.
MOVED_TABLES = {"inference_chunk": "runs_chunk"}
MOVED_CONTENT_TYPES = {"'inference', 'chunk'": "'runs', 'chunk'"}


def migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate to ``targets``: the historical models there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # An app migrated to nothing (``None``) has no models to give.
    nodes = [(app, name) for app, name in targets if name is not None]
    return executor.loader.project_state(nodes).apps


def migrate_to_latest() -> Any:
    """The new layout, as `manage.py migrate` leaves it."""
    return migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def columns_by_table() -> dict[str, list[str]]:
    """Every table but the migration log, with its columns."""
    tables = set(connection.introspection.table_names()) - {"django_migrations"}
    with connection.cursor() as cursor:
        return {
            table: [
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
            ]
            for table in tables
        }


def rows_by_table(columns: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every row of the tables, in those columns, in a comparable order. Read after migrating
    with the columns of before, so a column a later migration adds is not a difference."""
    rows = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, names in columns.items():
            cursor.execute(f"SELECT {', '.join(map(quote, names))} FROM {quote(table)}")
            rows[table] = sorted(map(repr, cursor.fetchall()))
    return rows


def as_moved(rows: dict[str, list[str]]) -> dict[str, list[str]]:
    """The rows of the old layout under the names the moves give them."""
    moved = {MOVED_TABLES.get(table, table): table_rows for table, table_rows in rows.items()}
    content_types = moved.get("django_content_type", [])
    for old, new in MOVED_CONTENT_TYPES.items():
        content_types = [row.replace(old, new) for row in content_types]
    return moved | {"django_content_type": sorted(content_types)}


def memberships() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.username, g.name FROM auth_user_groups m "
            "JOIN auth_user u ON u.id = m.user_id JOIN auth_group g ON g.id = m.group_id"
        )
        return set(cursor.fetchall())


def seed_old_layout(old: Any) -> None:
    """People in both roles and an admin, a benchmark, a generation run with responses, a judge
    run with verdicts, and a campaign whose items carry labels and their revisions."""
    group = {g.name: g for g in old.get_model("auth", "Group").objects.all()}
    make_user = old.get_model("auth", "User").objects.create
    people = {}
    for username, role in [("ann", "annotator"), ("bea", "annotator"), ("res", "researcher")]:
        people[username] = make_user(username=username, password=make_password(PASSWORD))
        people[username].groups.add(group[role])
    make_user(username="root", password=make_password(PASSWORD), is_superuser=True)

    benchmark = old.get_model("benchmarks", "Benchmark").objects.create(
        slug="old", name="Old", kind="noncompliance"
    )
    run = old.get_model("inference", "GenerationRun").objects.create(
        benchmark=benchmark, model_name="m", status="done", created_by=people["res"]
    )
    judge = old.get_model("judging", "Judge").objects.create(name="kw", kind="keyword")
    judge_run = old.get_model("judging", "JudgeRun").objects.create(
        judge=judge, run=run, status="done"
    )
    old.get_model("inference", "Chunk").objects.create(  # an outstanding chunk of a run
        kind="generation", job_id=run.pk, queue="gpu", item_ids=[1, 2], state="working"
    )
    campaign = old.get_model("annotate", "Campaign").objects.create(
        name="Old campaign", sampling="all", created_by=people["res"]
    )
    campaign.runs.add(run)
    campaign.annotators.add(people["ann"], people["bea"])
    for n in range(3):
        prompt = old.get_model("benchmarks", "Prompt").objects.create(
            benchmark=benchmark, external_id=f"p{n}", category="c", subcategory="s", text="?"
        )
        response = old.get_model("inference", "Response").objects.create(
            run=run, prompt=prompt, text="!"
        )
        old.get_model("judging", "Verdict").objects.create(
            judge_run=judge_run, response=response, label="complied"
        )
        item = old.get_model("annotate", "Item").objects.create(
            campaign=campaign, response=response, position=n
        )
        for annotator in (people["ann"], people["bea"]):
            assignment = old.get_model("annotate", "Assignment").objects.create(
                item=item,
                annotator=annotator,
                status="done",
                expires_at=timezone.now() + timedelta(minutes=30),
            )
            label = old.get_model("annotate", "Label").objects.create(
                assignment=assignment, value="not_complied"
            )
            old.get_model("annotate", "LabelRevision").objects.create(
                label=label, value="not_complied"
            )


def test_a_database_of_the_old_layout_keeps_every_row_and_every_role(role_groups: None) -> None:
    old = migrate(BEFORE)
    try:
        seed_old_layout(old)
        columns = columns_by_table()
        before, roles_before = rows_by_table(columns), memberships()
        assert roles_before == {
            ("ann", "annotator"),
            ("bea", "annotator"),
            ("res", "researcher"),
        }
        assert len(before["annotate_label"]) == 6

        migrate_to_latest()

        moved = {MOVED_TABLES.get(table, table): names for table, names in columns.items()}
        after, expected = rows_by_table(moved), as_moved(before)
        assert len(expected["runs_chunk"]) == 1
        kept = {table: rows for table, rows in after.items() if table in expected}
        assert kept == expected
        assert memberships() == roles_before
        # The people work as their roles say, on the migrated data.
        researcher, annotator = Client(), Client()
        researcher.force_login(User.objects.get(username="res"))
        annotator.force_login(User.objects.get(username="ann"))
        assert "Old campaign" in researcher.get("/campaigns/").content.decode()
        assert researcher.get("/benchmarks/old/").status_code == 200
        assert annotator.get("/benchmarks/").status_code == 403
        assert "Old campaign" in annotator.get("/annotate/").content.decode()
    finally:
        migrate_to_latest()


def test_a_database_without_the_groups_gets_them_from_accounts(role_groups: None) -> None:
    # benchmarks.0002_role_groups no longer makes them: on a new database accounts' migration
    # does, so the roles exist right after `migrate`.
    old = migrate(BEFORE)
    try:
        old.get_model("auth", "Group").objects.all().delete()
        new = migrate_to_latest()
        names = set(new.get_model("auth", "Group").objects.values_list("name", flat=True))
        assert names == {"annotator", "researcher"}
    finally:
        migrate_to_latest()
