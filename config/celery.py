from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready

from config.startup import settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("demur")
# The worker reads its configuration before anything else (its command-line options need it):
# a refused secret key is then one sentence, not a traceback.
app.on_configure.connect(lambda sender, **kwargs: settings_or_exit(), weak=False)
# All CELERY_* settings come from config/settings.py, which reads the environment.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def start_chunk_sweeper(sender: Any = None, **kwargs: Any) -> None:
    """Every worker sweeps: a chunk whose worker died is queued again within DEMUR_STALL_SECONDS,
    with no beat process to deploy (runs/chunks.py). Sweeps from many workers are safe."""
    from runs.chunks import Sweeper

    queues = sorted(app.amqp.queues.consume_from or app.amqp.queues)
    Sweeper(queues).start()
