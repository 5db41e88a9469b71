from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from config.startup import GUNICORN_APP_LOAD_ERROR, settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
settings_or_exit(GUNICORN_APP_LOAD_ERROR)
application = get_wsgi_application()
