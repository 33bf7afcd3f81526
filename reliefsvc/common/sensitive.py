"""ID numbers and positions never reach a log file or an audit payload in full (issue 15).

Operational logs (``logging``) are read by whoever runs the server, copied to log
collectors and kept for months; they are no place for resident ID numbers (PIPL: sensitive
personal information) or the positions of households. The mask is applied when a log
record is *created*, for every logger — the application's, werkzeug's request lines,
gunicorn's, SQLAlchemy's echo of statement parameters — so that no handler added later
(``logging.basicConfig`` in a command, a syslog handler of the operator) sees the clear
text. The traceback of an exception is formatted and masked at the same moment.

The audit log keeps who did what, not the personal data itself: ``mask_payload`` masks
ID numbers inside an event's fields before they are chained.
"""

from __future__ import annotations

import logging
import re

from reliefsvc.common.formatting import mask_id_number

#: An 18-character resident ID number (GB 11643), not part of a longer run of digits or letters.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
#: A coordinate as written by a phone or a form: up to three integer digits and at least
#: three decimals (about 100 m); seconds and prices do not look like this.
COORDINATE = re.compile(r"(?<![\w.:])-?\d{1,3}\.\d{3,}(?![\w.])")

#: The text a masked coordinate becomes.
MASKED_COORDINATE = "**.****"


def mask_text(text: str) -> str:
    """``text`` with every ID number masked (6229**********123X) and every coordinate hidden."""
    if not text:
        return text
    text = ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    return COORDINATE.sub(_mask_coordinate, text)


def _mask_coordinate(match: re.Match) -> str:
    try:
        value = abs(float(match.group(0)))
    except ValueError:  # pragma: no cover — the pattern only matches numbers
        return match.group(0)
    return MASKED_COORDINATE if value <= 180 else match.group(0)


def mask_ids(value):
    """``value`` (str, list, dict, nested) with every ID number masked; positions are kept.

    For audit payloads: an event may name a place on purpose (a finding's distance), but
    never needs a full ID number — the reveal itself is what is recorded.
    """
    if isinstance(value, str):
        return ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), value)
    if isinstance(value, dict):
        return {k: mask_ids(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_ids(v) for v in value)
    return value


class SensitiveDataFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with ``mask_text``; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def mask_record(record: logging.LogRecord) -> None:
    if getattr(record, "_masked", False):
        return
    record._masked = True
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not fit its format: leave it to logging
        return
    masked = mask_text(message)
    if masked != message or record.args:
        record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)


#: The loggers of the application and of what serves it; the filter is also on each of them.
APP_LOGGERS = ("reliefsvc", "flask.app", "werkzeug", "gunicorn.error", "gunicorn.access", "apscheduler",
               "sqlalchemy.engine")

_FILTER = SensitiveDataFilter()


def install() -> None:
    """Mask every log record at its creation; idempotent."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "_reliefsvc_masking", False):
        def masking_factory(*args, **kwargs):
            record = factory(*args, **kwargs)
            mask_record(record)
            return record

        masking_factory._reliefsvc_masking = True
        logging.setLogRecordFactory(masking_factory)
    for name in APP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
