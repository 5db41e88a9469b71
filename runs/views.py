"""What the pages of every kind of run share."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# htmx stops polling when a response has this status (htmx docs: "286 Stop Polling").
HTMX_STOP_POLLING = 286


def polling_partial(
    request: HttpRequest, template: str, context: dict[str, Any], finished: bool
) -> HttpResponse:
    """A partial that htmx polls; once the run is finished it answers 286 and polling stops."""
    response = render(request, template, context)
    if finished:
        response.status_code = HTMX_STOP_POLLING
    return response
