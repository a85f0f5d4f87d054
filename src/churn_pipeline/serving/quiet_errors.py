"""One WARNING line, without the request's values, for a request BentoML refuses.

BentoML answers a request that fails validation with 400, but first logs it
with ``log_exception`` (``bentoml._internal.server.http_app``): an ERROR with the
whole traceback, whose pydantic message quotes the offending input values. A
caller can so write its data, or megabytes of anything, into the log, and every
bad request reads as a server fault. :class:`RefusedRequestFilter` turns such a
record into one WARNING line with the method, the path, the number of errors
and where they are (field locations and error types), never the values.
Requests refused with another 4xx BentoML exception get one WARNING line with
the status. Everything else BentoML logs is left as it is.
"""

from __future__ import annotations

import logging
import re

from bentoml.exceptions import BentoMLException
from pydantic import ValidationError

BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"
MAX_LOGGED_ERRORS = 10
# Location parts that are not plain names (a key the caller made up) are masked.
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [
        str(part) if isinstance(part, int) or _PLAIN_NAME.fullmatch(part) else "?"
        for part in loc
    ]
    return ".".join(parts) or "body"


def describe_validation_error(error: ValidationError) -> str:
    """Where ``error``'s problems are, without the input: ``a.0.b (type), ...``."""
    found = [
        f"{_location(e['loc'])} ({e['type']})"
        for e in error.errors(include_input=False, include_context=False)
    ]
    more = len(found) - MAX_LOGGED_ERRORS
    shown = ", ".join(found[:MAX_LOGGED_ERRORS])
    return f"{shown} and {more} more" if more > 0 else shown


class RefusedRequestFilter(logging.Filter):
    """Rewrite BentoML's error record for a refused request into a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record if it is about a 4xx; always keep it."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ValidationError):
            message = "%s %s refused (400): %d validation error(s): %s"
            detail: tuple[object, ...] = (
                error.error_count(),
                describe_validation_error(error),
            )
        elif isinstance(error, BentoMLException) and error.error_code < 500:
            message, detail = "%s %s refused (%d)", (int(error.error_code),)
        else:
            return True
        path, method = (record.args or ("?", "?"))[:2]  # type: ignore[index]
        record.msg, record.args = message, (method, path, *detail)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


_FILTER = RefusedRequestFilter()


def quiet_validation_errors() -> None:
    """Install :class:`RefusedRequestFilter` on BentoML's HTTP logger (once)."""
    logging.getLogger(BENTOML_HTTP_LOGGER).addFilter(_FILTER)
