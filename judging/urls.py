from __future__ import annotations

from django.urls import path

from judging import views

app_name = "judging"
urlpatterns = [
    path("runs/<int:pk>/", views.run_verdicts, name="run"),
    path("runs/<int:pk>/judge/", views.judge_run_start, name="start"),
    path("runs/<int:pk>/judges/new/", views.judge_create, name="create"),
    path("runs/<int:pk>/upload/", views.verdicts_upload, name="upload"),
    path("judge-runs/<int:pk>/progress/", views.judge_run_progress, name="progress"),
    path("judge-runs/<int:pk>/cancel/", views.judge_run_stop, name="cancel"),
    path("judge-runs/<int:pk>/resume/", views.judge_run_restart, name="resume"),
]
