"""The bridge's logging, as `bridge serve` (production) and the test session set it up.

What must never be written: an INE, a rescue email, a password, an activation key, a token.
The bridge's own messages name accounts by identifier only. Two outside sources would leak:
- the access log prints each request line, and query strings carry a console search (an INE,
  a name) or an OAuth `code`/`state`: the path is logged, the query string is not;
- httpx logs every request URL at INFO, and the admin API's URLs carry attribute searches
  (`q=ine:...`, `email=...`): httpx, httpx2 and httpcore log warnings only.
"""

from __future__ import annotations

import logging
from typing import Any


class DropQueryString(logging.Filter):
    """uvicorn.access records are (client, method, path with query, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"drop_query_string": {"()": DropQueryString}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
        "uvicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "uvicorn.access": {
            "level": "INFO",
            "handlers": [],
            "propagate": True,
            "filters": ["drop_query_string"],
        },
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},  # Authlib's and Starlette's client
        "httpcore": {"level": "WARNING"},
    },
}
