"""One log line per request fault.

Django logs every 4xx answer (403, 404, a bad request, a refused host) with the exception's
traceback, and a client that went away before its request was read as a 500 with one. Both
are faults of the request, not of the server: they get their one line (what, and the path),
while a real server error keeps its traceback.
"""

from __future__ import annotations

import logging

from django.http import UnreadablePostError


class OneLinePerRequestFault(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info:
            return True
        error = record.exc_info[1]
        if isinstance(error, UnreadablePostError):
            # The socket failed mid-body: a closed tab, a dropped connection.
            record.msg = "Client went away before its request was read (%s): %s"
            record.args = (error, getattr(getattr(record, "request", None), "path", "?"))
            record.exc_info = record.exc_text = None
        elif getattr(record, "status_code", 500) < 500:
            record.exc_info = record.exc_text = None
        return True
