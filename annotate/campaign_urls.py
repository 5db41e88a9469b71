"""Researcher pages, mounted at /campaigns/ under the namespace "campaigns" (``campaign_views``).
The annotators' pages are ``annotate.urls`` (namespace "annotate")."""

from __future__ import annotations

from django.urls import path

from annotate import campaign_views, check_views

app_name = "campaigns"
urlpatterns = [
    path("", campaign_views.campaign_list, name="list"),
    path("new/", campaign_views.campaign_new, name="new"),
    path("new/picks/", campaign_views.campaign_picks, name="picks"),
    path("new/plan/", campaign_views.campaign_plan, name="plan"),
    path("<int:pk>/", campaign_views.campaign_detail, name="detail"),
    path("<int:pk>/status/", campaign_views.campaign_status, name="status"),
    path("<int:pk>/target/", campaign_views.campaign_target, name="target"),
    path("<int:pk>/review/", campaign_views.review, name="review"),
    path(
        "<int:pk>/annotators/<int:user_pk>/standing/",
        campaign_views.standing_post,
        name="standing",
    ),
    path("<int:pk>/items/<int:item_pk>/gold/", campaign_views.gold_post, name="gold"),
    path("<int:pk>/checks/", check_views.checks_page, name="checks"),
    path("<int:pk>/checks/gold/", check_views.gold_checks_post, name="checks_gold"),
    path("<int:pk>/checks/attention/", check_views.attention_checks_post, name="checks_attention"),
    path("<int:pk>/checks/written/", check_views.written_checks_post, name="checks_written"),
    path("<int:pk>/checks/settings/", check_views.quality_settings_post, name="quality_settings"),
]
