"""Structured logs: one JSON object per line, for an operator's log pipeline.

A record carries the time (UTC, ISO 8601), level, logger and message, and whatever ids the
call site passed in `extra` (`message_id`, `sha256`, `supplier`, `channel`, `exception_id`,
`task_id` ...). Logs carry ids and hashes, never payloads or prices (docs/architecture.md, "Caps
and limits"): only scalar extras are written, and bytes are never written at all, so a raw message
handed to `extra` by mistake does not reach the log. Installed by `bootstrap.configure_logging`,
never at import.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import orjson

# The attributes every LogRecord has; anything else on a record came in through `extra`.
# uvicorn adds `color_message`, the message again with terminal colour codes.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message"}
# A longer string in `extra` is cut: an id or a hash is never this long, a payload might be.
_EXTRA_TEXT_LIMIT = 200


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name not in entry:
                scalar = _scalar(value)
                if scalar is not _DROPPED:
                    entry[name] = scalar
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        return _json_line(entry)


def _json_line(entry: dict[str, Any]) -> str:
    """orjson: a web process writes one line a request (uvicorn's access log), so the encoder's
    cost counts. What orjson refuses (a lone surrogate in a message, an integer beyond 64
    bits) is written by the standard library instead of being lost."""
    try:
        return orjson.dumps(entry, default=str).decode()
    except orjson.JSONEncodeError:
        return json.dumps(entry, ensure_ascii=False, default=str)


_DROPPED = object()


def _scalar(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value[:_EXTRA_TEXT_LIMIT]
    return _DROPPED
