"""The Content-Security-Policy in Chromium: the labeling screen (htmx swaps included), the run
report and the agreement report (inline SVG charts), Swagger UI and the admin all work under it,
and the browser reports no violation. A page that broke the policy would show it twice: as a
`securitypolicyviolation` event, recorded here, and as a console error, which fails any browser
test (tests/browser/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import (
    annotators,
    campaign_over,
    label_all,
    rubric_for,
    run_with_responses,
)
from tests.browser.conftest import BrowserSession
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PageFor = Callable[..., BrowserSession]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " blocked " + event.blockedURI);
});
"""


def watched(session: BrowserSession) -> Page:
    """The session's page, recording every CSP violation of each document it loads."""
    session.page.context.add_init_script(RECORD_VIOLATIONS)
    return session.page


def violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__cspViolations || []")
    return found


def visit(session: BrowserSession, path: str) -> Page:
    page = session.page
    answer = page.goto(session.url(path))
    assert answer is not None and answer.ok, f"{path}: {answer.status if answer else 'nothing'}"
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    return page


def test_the_labeling_screen_swaps_with_htmx_under_the_policy(page_for: PageFor) -> None:
    person = annotators(1)[0]
    run = run_with_responses(3, text="Answer {n}.")
    rubric_for(run.benchmark)
    campaign = campaign_over(run, people=[person], overlap=1)
    session = page_for(person)
    page = watched(session)
    visit(session, f"/annotate/{campaign.pk}/")
    expect(page.locator("#current article.item")).to_be_visible()
    first = page.locator("#current .response-box").inner_text()
    page.keyboard.press("1")
    expect(page.locator("#progress .done-count")).to_have_text("1")
    expect(page.locator("#current .response-box")).not_to_have_text(first)
    assert violations(page) == []
    # htmx's indicator styles come from demur.css, not an inline <style> it would add.
    assert page.evaluate("document.querySelectorAll('style').length") == 0


def test_the_reports_with_their_svg_charts_show_under_the_policy(page_for: PageFor) -> None:
    people = annotators(2)
    run = run_with_responses(8)
    campaign = campaign_over(run, people=people, overlap=2)
    for person in people:
        label_all(campaign, person)
    judge = Judge.objects.create(name="keyword-for-csp", kind="keyword")
    judge_run = JudgeRun.objects.create(judge=judge, run=run, status="done")
    Verdict.objects.bulk_create(
        Verdict(judge_run=judge_run, response=response, label="complied")
        for response in run.responses.all()
    )
    session = page_for(UserFactory.create(role="researcher"))
    page = watched(session)
    visit(session, f"/analysis/runs/?run={run.pk}")
    expect(page.locator("svg").first).to_be_visible()
    assert violations(page) == []
    visit(session, f"/analysis/campaigns/{campaign.pk}/")
    expect(page.locator("h1")).to_be_visible()
    assert violations(page) == []


def test_swagger_ui_loads_the_schema_under_the_policy(page_for: PageFor) -> None:
    session = page_for(UserFactory.create(role="researcher"))
    page = watched(session)
    visit(session, "/api/docs/")
    # Swagger UI has fetched the schema and drawn its operations.
    expect(page.locator(".opblock-tag").first).to_be_visible()
    expect(page.get_by_text("Demur API").first).to_be_visible()
    assert violations(page) == []


def test_the_admin_works_under_the_policy(page_for: PageFor) -> None:
    session = page_for(UserFactory.create(role="admin"))
    page = watched(session)
    visit(session, "/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    visit(session, "/admin/auth/user/")
    expect(page.locator("#result_list")).to_be_visible()
    page.locator("#action-toggle").check()  # the changelist's script runs
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
    visit(session, "/admin/auth/user/add/")
    expect(page.locator("#id_username")).to_be_visible()
    assert violations(page) == []
