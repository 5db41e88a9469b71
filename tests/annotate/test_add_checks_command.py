"""`manage.py add_checks`, run as a researcher runs it in a shell: a separate process on this
test's database, its output and exit status as the shell sees them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from annotate.models import CheckKind, Item
from annotate.services.checks import quality_settings_set
from tests.annotate.builders import campaign_over, run_with_responses
from tests.annotate.check_builders import checks_of, gold_by_response, gold_campaign
from tests.processes import manage

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def add_checks(env: dict[str, str], *args: Any) -> subprocess.CompletedProcess[str]:
    return manage("add_checks", *map(str, args), env=env)


def stored() -> list[tuple[int, str, str]]:
    return sorted(Item.objects.values_list("pk", "check_kind", "check_answer"))


def test_each_kind_of_check_is_added_and_said_so(shell_env: dict[str, str], tmp_path: Path) -> None:
    source = gold_campaign(5, adjudicated={0, 1})
    campaign = campaign_over(run_with_responses(4), name="Pilot")
    pk = campaign.pk

    done = add_checks(shell_env, pk, "--from-campaign", source.pk, "--count", 3)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"Campaign {pk} 'Pilot': Added 3 gold questions.\n"
        "It now has 3 gold questions and 0 attention checks.\n"
        "No checks are served until you set how often, on the campaign's checks page "
        f"(/campaigns/{pk}/checks/).\n"
    )
    gold = gold_by_response(source)
    checks = checks_of(campaign)
    assert [c.check_answer for c in checks] == [gold[c.response_id][1] for c in checks]

    done = add_checks(shell_env, pk, "--from-campaign", source.pk, "--adjudicated-only")
    assert done.returncode == 0, done.stderr
    adjudicated_left = sum(
        1
        for response, (_, _, how) in gold.items()
        if how == "adjudicated" and response not in {c.response_id for c in checks}
    )
    assert done.stdout.startswith(f"Campaign {pk} 'Pilot': Added {adjudicated_left} gold question")

    quality_settings_set(campaign=campaign, check_every=10)
    done = add_checks(shell_env, pk, "--attention", 2, "--seed", 4)
    assert (done.returncode, done.stderr) == (0, "")
    gold_count = 3 + adjudicated_left
    assert done.stdout == (
        f"Campaign {pk} 'Pilot': Added 2 attention checks.\n"
        f"It now has {gold_count} gold questions and 2 attention checks.\n"
    )

    path = tmp_path / "checks.jsonl"
    path.write_text(
        json.dumps({"prompt": "Pick a lock?", "response": "No.", "answer": "not_complied"})
        + "\n"
        + json.dumps({"prompt": "Écris un poème.", "response": "Des roses.", "answer": "complied"})
        + "\n",
        encoding="utf-8",
    )
    done = add_checks(shell_env, pk, "--file", path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"Campaign {pk} 'Pilot': Added 2 gold questions.\n")
    written = campaign.items.filter(check_kind=CheckKind.GOLD, check_source="hand-written")
    assert sorted(written.values_list("response__prompt__text", "check_answer")) == [
        ("Pick a lock?", "not_complied"),
        ("Écris un poème.", "complied"),
    ]


def test_what_cannot_be_done_is_one_sentence_a_non_zero_exit_and_nothing_added(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    source = gold_campaign(2)
    campaign = campaign_over(run_with_responses(2), name="Pilot")
    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text(
        '{"prompt": "P", "response": "R", "answer": "complied"}\n{"prompt": "P", "answer": "x"}\n',
        encoding="utf-8",
    )
    cases = [
        (
            [campaign.pk, "--from-campaign", campaign.pk],
            "A campaign cannot take its own gold labels as checks (its annotators labelled "
            "those items already): choose another campaign. Nothing was added.",
        ),
        (
            [campaign.pk + 999, "--attention", 2],
            f"CAMPAIGN: there is no campaign with id '{campaign.pk + 999}'; nothing was added.",
        ),
        (
            [campaign.pk, "--from-campaign", "abc"],
            "--from-campaign: there is no campaign with id 'abc'; nothing was added.",
        ),
        (
            [campaign.pk, "--attention", 2, "--count", 3],
            "--count and --adjudicated-only go with --from-campaign (for --attention, give the "
            "count after it); nothing was added.",
        ),
        ([campaign.pk, "--file", bad_file], 'Line 2: "response" is missing. Nothing was added.'),
        (
            [campaign.pk, "--file", tmp_path / "missing.jsonl"],
            f"No such file: {tmp_path / 'missing.jsonl'}. Nothing was added.",
        ),
    ]
    before = stored()
    for args, sentence in cases:
        done = add_checks(shell_env, *args)
        assert (done.returncode, done.stdout) == (1, ""), args
        assert done.stderr == f"CommandError: {sentence}\n", args
    assert stored() == before
    # argparse's own usage errors: none of the three, or two at once.
    usage = {
        (campaign.pk,): "error: one of the arguments --from-campaign --attention --file is "
        "required",
        (campaign.pk, "--attention", 2, "--from-campaign", source.pk): "error: argument "
        "--from-campaign: not allowed with argument --attention",
    }
    for arguments, message in usage.items():
        done = add_checks(shell_env, *arguments)
        assert done.returncode == 2
        assert message in done.stderr
    assert stored() == before
