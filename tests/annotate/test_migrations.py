"""The migration that makes ``Campaign.sample_size`` what was drawn, on a campaign made before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("annotate", "0002_serving")]
AFTER = [("annotate", "0003_campaign_sample_drawn_and_pool")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_an_old_sample_larger_than_its_pool_becomes_what_was_drawn() -> None:
    old = migrate(BEFORE)
    benchmark = old.get_model("benchmarks", "Benchmark").objects.create(slug="b", name="B")
    run = old.get_model("inference", "GenerationRun").objects.create(
        benchmark=benchmark, model_name="m", status="done"
    )
    Prompt = old.get_model("benchmarks", "Prompt")
    Response = old.get_model("inference", "Response")
    Campaign = old.get_model("annotate", "Campaign")
    Item = old.get_model("annotate", "Item")
    too_big = Campaign.objects.create(name="big", sampling="random", sample_size=1_000_000)
    within = Campaign.objects.create(name="within", sampling="random", sample_size=2)
    Campaign.objects.create(name="all", sampling="all")
    for n in range(5):
        prompt = Prompt.objects.create(
            benchmark=benchmark, external_id=f"p{n}", category="c", subcategory="s", text="?"
        )
        response = Response.objects.create(run=run, prompt=prompt, text="!")
        Item.objects.create(campaign=too_big, response=response, position=n)
        if n < 2:
            Item.objects.create(campaign=within, response=response, position=n)
    try:
        new = migrate(AFTER)
        rows = new.get_model("annotate", "Campaign").objects.values_list(
            "name", "sample_size", "sample_size_asked", "pool_size"
        )
        assert sorted(rows) == [
            ("all", None, None, None),
            ("big", 5, 1_000_000, 5),
            ("within", 2, 2, None),
        ]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
