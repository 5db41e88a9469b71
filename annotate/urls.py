from __future__ import annotations

from django.urls import path

from annotate import campaign_views, views

app_name = "annotate"
urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
    path("<int:pk>/", views.label_page, name="label"),
    path("<int:pk>/label/", views.label_post, name="label_post"),
    path("<int:pk>/skip/", views.skip_post, name="skip"),
    path("<int:pk>/undo/", views.undo_partial, name="undo"),
]

# Researcher pages, mounted at /campaigns/ under the namespace "campaigns".
campaign_patterns = (
    [
        path("", campaign_views.campaigns, name="list"),
        path("new/", campaign_views.campaign_new, name="new"),
        path("new/picks/", campaign_views.campaign_picks, name="picks"),
        path("<int:pk>/", campaign_views.campaign_detail, name="detail"),
        path("<int:pk>/status/", campaign_views.campaign_status, name="status"),
        path("<int:pk>/review/", campaign_views.review, name="review"),
        path("<int:pk>/items/<int:item_pk>/gold/", campaign_views.gold_post, name="gold"),
    ],
    "campaigns",
)
