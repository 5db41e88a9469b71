from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Who may do what (roles as groups, the researcher admin, the login lock-out page) and the
    small helpers every app stands on: storable text, whole numbers, the client's address, text
    messages, the API's JSON parser, one log line per request fault."""

    name = "accounts"
    verbose_name = "Accounts"
