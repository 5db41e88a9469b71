from __future__ import annotations

import pytest
from django.test import Client
from django.urls import resolve

from annotate.services.serving import assignment_next
from tests.annotate.builders import annotators, campaign_over, label_next, run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_list_counts_what_is_left_for_this_annotator() -> None:
    me, first, second = annotators(3)
    campaign = campaign_over(run_with_responses(4), people=[me, first, second], overlap=2)
    label_next(campaign, me)  # item 1: mine, not left for me
    label_next(campaign, first)  # item 1 again: now full
    label_next(campaign, first)  # item 2: one label of two, still left for me
    label_next(campaign, second)  # item 2: full
    assert assignment_next(campaign=campaign, user=second) is not None  # item 3: held
    client = Client()
    client.force_login(me)
    page = client.get("/annotate/").content.decode()
    cells = [cell.strip() for cell in page.split('<td class="num">')[1:4]]
    # 4 items; 1 labelled by me; left: item 3 (one slot free) and item 4.
    assert [cell.split("<")[0] for cell in cells] == ["4", "1", "2"]


def test_campaigns_of_other_annotators_are_not_listed() -> None:
    campaign = campaign_over(run_with_responses(1), people=annotators(1), overlap=1)
    client = Client()
    client.force_login(annotators(1)[0])
    assert campaign.name not in client.get("/annotate/").content.decode()


@pytest.mark.parametrize(
    ("path", "role", "heading"),
    [
        ("/annotate/", "annotator", "<h1>Your campaigns</h1>"),
        ("/campaigns/", "researcher", "<h1>Annotation campaigns</h1>"),
    ],
)
def test_each_campaign_list_is_served_by_the_view_named_after_its_page(
    path: str, role: str, heading: str
) -> None:
    # The annotators' and the researchers' lists once each rendered the other's template name.
    client = Client()
    client.force_login(UserFactory.create(role=role))
    response = client.get(path)
    view = resolve(path).func.__name__
    assert response.status_code == 200
    assert heading in response.content.decode()
    assert f"annotate/{view}.html" in [template.name for template in response.templates]
