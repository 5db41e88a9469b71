from __future__ import annotations

from django.urls import path

from annotate import views

app_name = "annotate"
urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
]
