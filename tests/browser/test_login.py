from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.conftest import BrowserSession
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_annotator_logs_in_and_lands_on_their_campaigns(
    page_for: Callable[..., BrowserSession],
) -> None:
    annotator = UserFactory.create(role="annotator")

    session = page_for(annotator)

    assert session.page.get_by_role("heading", name="Your campaigns").is_visible()
    assert "Your campaigns" in session.page.content()
    assert session.errors == []
