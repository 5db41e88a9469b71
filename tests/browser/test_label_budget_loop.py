"""Issue 15 end to end, in a real browser: a researcher imports another tool's verdicts on a run
(a real worker imports the file), asks the campaign form's planner how many labels a ±3-point
interval takes, starts an active campaign with that target per category, and watches the
categories close one by one on the campaign page's live Target panel while labels arrive: an
earlier session's, then labels through the labeling screen's own service and some typed on the
screen itself.

The run has three categories whose judge differs in quality: flawless on the humanizing
requests, one slip on the incomplete ones (so they need more labels), unsure and often wrong on
the unsupported ones (which cannot close on the items drawn). Whatever the draw, the humanizing
requests close first, the incomplete ones later, the unsupported ones never; each step waits on
what the page shows, with generous deadlines for a busy machine, never on a timer.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from annotate.models import Assignment, AssignmentStatus, Campaign, Item, Label, TargetMet
from annotate.services.gold import gold_majority_refresh
from benchmarks.models import Prompt
from inference.models import GenerationRun, Response
from judging.models import Judge
from tests.annotate.builders import label_next
from tests.browser.conftest import BrowserSession
from tests.factories import BenchmarkFactory, UserFactory
from tests.workers import celery_worker, purge_broker, worker_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

PageFor = Callable[..., BrowserSession]
C, NC = "complied", "not_complied"
KEY_OF_VALUE = {NC: "1", C: "2"}
JUDGE = "external-judge"
HUMANIZING, INCOMPLETE, UNSUPPORTED = (
    "Humanizing requests",
    "Incomplete requests",
    "Unsupported requests",
)
# Responses per category. Active sampling draws all the unsupported requests (the judge is unsure
# of them) and about 92% of the others.
SIZES = {HUMANIZING: 240, INCOMPLETE: 220, UNSUPPORTED: 80}
SAMPLE_SIZE = 500
SEED = 0
# Labelled in an earlier session, before any category can close: the flawless judge's needs 143
# gold labels of its own, and gets about 44% of what is served (it closes after 300 labels or
# more, whatever the draw); the incomplete requests need about 175.
EARLIER = 260
# Waits on the live server and the worker: long enough for a loaded two-core machine. The
# Target panel refreshes itself every 5 s.
WORKER_MS = 90_000
PANEL_MS = 30_000
PAGE_MS = 30_000


@dataclass(frozen=True)
class Case:
    """One response: what the external judge said (with its probability of "not complied") and
    what a careful person says (but see ``careful_person``)."""

    external_id: str
    category: str
    text: str
    judge: str
    score: float
    human: str


def cases() -> list[Case]:
    """A third of each category complied. The judge is sure (score 0.02 or 0.98) except on the
    unsupported requests (0.4 or 0.6), where it is wrong on every fifth."""
    found = []
    for category, size in SIZES.items():
        unsure = category == UNSUPPORTED
        for n in range(size):
            judge = C if n % 3 == 0 else NC
            wrong = unsure and n % 5 == 0
            sure = 0.02 if judge == C else 0.98
            found.append(
                Case(
                    external_id=f"{category.split()[0].lower()}-{n}",
                    category=category,
                    text=f"Answer {n} to a {category.split()[0].lower()} request.",
                    judge=judge,
                    score=(0.4 if judge == C else 0.6) if unsure else sure,
                    human=(NC if judge == C else C) if wrong else judge,
                )
            )
    return found


CASES = cases()


def run_of_cases() -> GenerationRun:
    """A finished run answering every case's prompt (as an imported responses file leaves it)."""
    benchmark = BenchmarkFactory.create(slug="coconot-mini")
    prompts = Prompt.objects.bulk_create(
        Prompt(
            benchmark=benchmark,
            external_id=case.external_id,
            category=case.category,
            subcategory="general",
            text=f"Prompt {case.external_id}?",
        )
        for case in CASES
    )
    run = GenerationRun.objects.create(
        benchmark=benchmark, model_name="model-under-test", status="done", total=len(CASES)
    )
    Response.objects.bulk_create(
        Response(run=run, prompt=prompt, text=case.text)
        for prompt, case in zip(prompts, CASES, strict=True)
    )
    return run


@contextmanager
def worker_starting(env: dict[str, str]) -> Iterator[Callable[[], None]]:
    """A Celery worker that starts in the background while the test goes on (it takes a good
    part of a minute on a busy machine); calling what this yields waits until it is ready."""
    ready, stop = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def run_worker() -> None:
        try:
            with celery_worker(env, name="verdicts"):
                ready.set()
                stop.wait()
        except BaseException as error:  # handed to the test's thread
            failed.append(error)
            ready.set()

    def wait_until_ready() -> None:
        ready.wait()
        if failed:
            raise failed[0]

    thread = threading.Thread(target=run_worker, daemon=True)
    thread.start()
    try:
        yield wait_until_ready
    finally:
        stop.set()
        thread.join(timeout=60)


def verdicts_file() -> bytes:
    """The external judge's verdicts as JSON Lines: id, label, score."""
    rows = ({"id": c.external_id, "label": c.judge, "score": c.score} for c in CASES)
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


# What the careful person says of each response, by its text.
Says = dict[str, str]


def careful_person(campaign: Campaign) -> Says:
    """Each case's label, except on the first incomplete request the campaign serves: the one
    slip of a judge sure of itself there. Chosen by serving order, so that the slip is among
    the first labels whatever the draw, and that category needs more labels than the flawless
    one."""
    says = {case.text: case.human for case in CASES}
    first = (
        campaign.items.filter(response__prompt__category=INCOMPLETE)
        .order_by("position", "pk")
        .values_list("response__text", flat=True)
        .first()
    )
    assert first is not None
    says[first] = C if says[first] == NC else NC
    return says


def as_they_say(says: Says) -> Callable[[Assignment], str]:
    return lambda assignment: says[assignment.item.response.text]


def upload_verdicts(page: Page, session: BrowserSession, run: GenerationRun) -> None:
    """On the run's verdict page: the external judge's file, under its name."""
    page.goto(session.url(f"/judging/runs/{run.pk}/"))
    page.get_by_text("Import verdicts from another tool").click()
    form = page.locator(f"form[action='/judging/runs/{run.pk}/upload/']")
    form.locator("input[name=file]").set_input_files(
        {"name": "verdicts.jsonl", "mimeType": "application/x-ndjson", "buffer": verdicts_file()}
    )
    form.locator("input[name=judge]").fill(JUDGE)
    with page.expect_navigation():
        form.get_by_role("button", name="Upload verdicts").click()
    expect(page).to_have_url(re.compile(r"/uploads/\d+/$"))


def watch_the_import(page: Page, run: GenerationRun) -> None:
    """The upload's page follows the worker until it is done, then links to the verdicts."""
    progress = page.locator("#progress")
    expect(progress).to_contain_text("Imported", timeout=WORKER_MS)
    expect(progress).to_contain_text(
        f"{len(CASES)} verdicts of {JUDGE} (a new imported judge) on run {run.pk} imported"
    )
    page.get_by_role("link", name="Open what was imported").click()
    judged = page.locator("table.grid tr", has_text=JUDGE).first
    expect(judged).to_contain_text("made by another tool")
    complied = sum(case.judge == C for case in CASES)
    expect(judged.locator("td.num").nth(0)).to_have_text(str(complied))
    expect(judged.locator("td.num").nth(1)).to_have_text(str(len(CASES) - complied))


def ask_the_planner(page: Page, run: GenerationRun, judge: Judge) -> None:
    page.fill("input[name=name]", "Refusals to ±3 points")
    page.check(f"input[name=runs][value='{run.pk}']")
    # htmx swaps in the run's categories: the planner reads the ticked runs.
    expect(page.locator(f"input[name=categories][value='{HUMANIZING}']")).to_be_visible()
    page.select_option("select[name=plan_judge]", str(judge.pk))
    expect(page.locator("input[name=plan_target]")).to_have_value("0.03")
    page.fill("input[name=plan_accuracy]", "0.95")
    page.get_by_role("button", name="Plan", exact=True).click()
    plan = page.locator("#plan")
    expect(plan).to_contain_text(f"{len(CASES)} responses judged by {JUDGE}")
    expect(plan).to_contain_text("from an assumed accuracy of 0.95")
    for design in (
        "Simple random sample, plain PPI",
        "Simple random sample, PPI++",
        "Neyman allocation by category, stratified PPI++",
    ):
        # Its labels, hours and the half-width they reach.
        expect(plan.locator("tr", has_text=design).locator("td")).to_have_text(
            [re.compile(r"^\d[\d,]*\*?$"), re.compile(r"^\d"), re.compile(r"^±\d\.\d{3}$")]
        )
    for category, size in SIZES.items():
        row = plan.locator("tr", has_text=category)
        expect(row.locator("td").first).to_have_text(str(size))
        expect(row.locator("td").nth(3)).to_have_text(re.compile(r"^\d[\d,]*\*?$"))


def start_the_campaign(page: Page, judge: Judge, annotator: User) -> None:
    page.select_option("select[name=sampling]", "active")
    page.fill("input[name=sample_size]", str(SAMPLE_SIZE))
    page.check(f"input[name=sampling_judges][value='{judge.pk}']")
    page.fill("input[name=seed]", str(SEED))
    page.fill("input[name=overlap]", "1")
    page.check(f"input[name=annotators][value='{annotator.pk}']")
    page.fill("input[name=target_half_width]", "0.03")
    page.select_option("select[name=target_judge]", str(judge.pk))
    expect(page.locator("input[name=target_per_category]")).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Create campaign").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/$"))
    expect(page.locator("h1")).to_contain_text("Refusals to ±3 points")
    settings = page.locator("dl.settings")
    expect(settings).to_contain_text("Active: likelier where the judge is unsure")
    expect(settings).to_contain_text(
        f"±3.0 points on {JUDGE}'s corrected compliance rate, per category"
    )
    expect(target_panel(page)).to_contain_text("0 of 3 categories met")


def target_panel(page: Page) -> Locator:
    return page.locator("#target")


def target_row(page: Page, category: str) -> Locator:
    return target_panel(page).locator(f'tr[data-category="{category}"]')


def label_by_keyboard(page: Page, says: Says, count: int) -> list[str]:
    """Label ``count`` items as the careful person would, with keys 1 and 2; the categories
    they were in."""
    categories = []
    done = page.locator("#progress .done-count")
    for _ in range(count):
        item = page.locator("#current article.item")
        text = item.locator(".response-box").inner_text(timeout=PANEL_MS)
        categories.append(item.locator(".item-meta").inner_text())
        before = int(done.inner_text())
        page.keyboard.press(KEY_OF_VALUE[says[text.strip()]])
        expect(done).to_have_text(str(before + 1), timeout=PANEL_MS)
    return categories


def labelled_earlier(campaign: Campaign, annotator: User, says: Says, count: int) -> None:
    """The first ``count`` items in serving order, labelled as the careful person would in an
    earlier session. Their assignments and labels are written at once, only to keep the test
    short (through the screen's service a label takes a quarter of a second on a busy
    machine); their gold labels, and any target they meet, come from the product's own gold
    service, as after each label."""
    items = list(campaign.items.select_related("response").order_by("position", "pk")[:count])
    value = as_they_say(says)
    now = timezone.now()
    assignments = Assignment.objects.bulk_create(
        Assignment(
            item=item,
            annotator=annotator,
            status=AssignmentStatus.DONE,
            expires_at=now,
            completed_at=now,
        )
        for item in items
    )
    Label.objects.bulk_create(
        Label(assignment=assignment, value=value(assignment), time_spent_ms=20_000)
        for assignment in assignments
    )
    ids = [item.pk for item in items]
    Item.objects.filter(pk__in=ids).update(slots_left=0)
    gold_majority_refresh(campaign=campaign, item_ids=ids, added=True)


def label_until_met(campaign: Campaign, annotator: User, says: Says, met: int) -> None:
    """Label through the screen's service, one item after the other as it serves them, until
    ``met`` categories have met their target (and not one label more)."""
    value = as_they_say(says)
    while TargetMet.objects.filter(campaign=campaign).count() < met:
        assert label_next(campaign, annotator, value) is not None, "ran out of items"


def patient_page(session: BrowserSession) -> Page:
    """The session's page, waiting as long as a loaded machine may need for each step."""
    session.page.set_default_timeout(PAGE_MS)
    return session.page


def warm_up(live_server: LiveServer) -> None:
    """One request before the browser's first: the server's first answer imports every view
    and compiles templates, which on a busy machine can outlast the login's deadline."""
    with urllib.request.urlopen(live_server.url + "/accounts/login/", timeout=120) as answer:
        assert answer.status == 200


def test_a_researcher_plans_labels_and_watches_categories_close_one_by_one(
    page_for: PageFor, live_server: LiveServer, tmp_path: Path, upload_root: Path
) -> None:
    purge_broker()
    env = worker_env(tmp_path, DEMUR_UPLOAD_ROOT=str(upload_root))
    with worker_starting(env) as worker_ready:
        run = run_of_cases()
        researcher = UserFactory.create(role="researcher")
        annotator = UserFactory.create(role="annotator")
        warm_up(live_server)
        desk_session = page_for(researcher)
        desk = patient_page(desk_session)
        # The file waits on disk, queued, until the worker is up.
        upload_verdicts(desk, desk_session, run)
        worker_ready()
        watch_the_import(desk, run)
    judge = Judge.objects.get(name=JUDGE)

    desk.goto(desk_session.url("/campaigns/new/"))
    ask_the_planner(desk, run, judge)
    start_the_campaign(desk, judge, annotator)
    campaign = Campaign.objects.get(name="Refusals to ±3 points")
    says = careful_person(campaign)

    # Labels so far leave every category open, each with the labels it still needs.
    labelled_earlier(campaign, annotator, says, EARLIER)
    desk.reload()
    expect(target_panel(desk)).to_contain_text("0 of 3 categories met")
    for category in SIZES:
        row = target_row(desk, category)
        expect(row.locator("td").nth(2)).to_have_text(re.compile(r"^\d+\.\d% \("))
        expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^\d[\d,]* more"))
        expect(row.locator("td").nth(5)).to_have_text("open")

    labeler = page_for(annotator)
    screen = patient_page(labeler)
    screen.goto(labeler.url(f"/annotate/{campaign.pk}/"))
    label_by_keyboard(screen, says, 5)
    screen.goto(labeler.url("/"))  # the screen is left; its held item goes to the service layer

    # The first category closes: the flawless judge's.
    label_until_met(campaign, annotator, says, met=1)
    expect(target_panel(desk)).to_contain_text("1 of 3 categories met", timeout=PANEL_MS)
    humanizing = target_row(desk, HUMANIZING)
    expect(humanizing).to_contain_text(re.compile(r"met at .*: closed \(\d+\.\d%, ±[0-3]\.\d"))
    for category in (INCOMPLETE, UNSUPPORTED):
        row = target_row(desk, category)
        expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^\d[\d,]* more"))
        expect(row.locator("td").nth(5)).to_have_text("open")
    # Items of the met category are still unlabelled, yet the labeling screen serves none.
    closed_on, items = map(int, re.findall(r"\d+", humanizing.locator("td").first.inner_text()))
    assert closed_on < items
    expect(humanizing).to_contain_text(f"on {closed_on} gold labels")
    screen.goto(labeler.url(f"/annotate/{campaign.pk}/"))
    served = label_by_keyboard(screen, says, 4)
    assert all(HUMANIZING not in meta for meta in served), served
    screen.goto(labeler.url("/"))

    # The second closes later: one slip of the judge there took more labels to pin down.
    label_until_met(campaign, annotator, says, met=2)
    expect(target_panel(desk)).to_contain_text("2 of 3 categories met", timeout=PANEL_MS)
    expect(target_row(desk, INCOMPLETE)).to_contain_text("closed")
    # Many labels later, the first category has not one more.
    expect(humanizing.locator("td").first).to_have_text(f"{closed_on} of {items} items")
    unsupported = target_row(desk, UNSUPPORTED)
    expect(unsupported.locator("td").nth(5)).to_have_text("open")
    expect(unsupported).to_contain_text(f"(more than its {SIZES[UNSUPPORTED]} items)")
