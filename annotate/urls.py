"""Annotator pages, mounted at /annotate/ under the namespace "annotate" (``views``). The
researchers' campaign pages are ``campaign_urls`` (namespace "campaigns"): two namespaces for
the two audiences of one app, so that a URL name says whose page it is."""

from __future__ import annotations

from django.urls import path

from annotate import views

app_name = "annotate"
urlpatterns = [
    path("", views.your_campaigns, name="campaigns"),
    path("<int:pk>/", views.label_page, name="label"),
    path("<int:pk>/label/", views.label_post, name="label_post"),
    path("<int:pk>/skip/", views.skip_post, name="skip"),
    path("<int:pk>/undo/", views.undo_partial, name="undo"),
]
