from __future__ import annotations

from django.urls import path

from uploads import views

app_name = "uploads"
urlpatterns = [
    path("", views.uploads, name="list"),
    path("<int:pk>/", views.upload_detail, name="detail"),
    path("<int:pk>/progress/", views.upload_progress_partial, name="progress"),
]
