"""Researcher pages, mounted at /campaigns/ under the namespace "campaigns" (``campaign_views``).
The annotators' pages are ``annotate.urls`` (namespace "annotate")."""

from __future__ import annotations

from django.urls import path

from annotate import campaign_views

app_name = "campaigns"
urlpatterns = [
    path("", campaign_views.campaign_list, name="list"),
    path("new/", campaign_views.campaign_new, name="new"),
    path("new/picks/", campaign_views.campaign_picks, name="picks"),
    path("<int:pk>/", campaign_views.campaign_detail, name="detail"),
    path("<int:pk>/status/", campaign_views.campaign_status, name="status"),
    path("<int:pk>/review/", campaign_views.review, name="review"),
    path("<int:pk>/items/<int:item_pk>/gold/", campaign_views.gold_post, name="gold"),
]
