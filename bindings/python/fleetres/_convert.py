"""Python values -> the C library's inputs, checked before any call.

Quantities (int, float, Decimal, str) become int64 milli-units through the
library's own fr_qty_parse, so they are exact and follow the same rules as the
REST service (at most 3 decimals, |q| <= 1e12, no NaN/Inf).  Times are aware
datetimes, RFC 3339 strings (fr_time_parse) or int milliseconds since the
epoch.  Durations are seconds (int, float, Decimal) or timedeltas.  Anything
else raises InvalidType / InvalidRequest naming the field, so the library is
never handed a NULL or a value it would misread.
"""

import ctypes
import datetime
import decimal
import json
import numbers

from ._native import lib, FR_TIME_INF, FR_TIME_NULL
from .errors import InvalidRequest, InvalidType

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_TIME_MIN_MS = -62167219200000
_TIME_MAX_MS = 253402300799999


def invalid(field, message):
    return InvalidRequest("invalid_request", message, {"field": field}, 1)


def wrong_type(field, expected, value):
    return InvalidType("invalid_request", "%s must be %s, not %s."
                       % (field, expected, type(value).__name__), {"field": field}, 1)


def text(field, value):
    """A str -> NUL-free UTF-8 bytes for a const char * parameter."""
    if not isinstance(value, str):
        raise wrong_type(field, "a string", value)
    if "\x00" in value:
        raise invalid(field, "%s must not contain NUL characters." % field)
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise invalid(field, "%s is not valid Unicode text." % field) from exc


def ident(field, value):
    """An entity id: a non-empty string."""
    raw = text(field, value)
    if not raw:
        raise invalid(field, "%s must not be empty." % field)
    return raw


def optional_text(field, value):
    return None if value is None else text(field, value)


def json_object(field, value):
    """A dict (labels, metadata) -> its JSON text."""
    if not isinstance(value, dict):
        raise wrong_type(field, "a dict", value)
    try:
        return text(field, json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise invalid(field, "%s is not JSON-serializable: %s" % (field, exc)) from exc


def quantity(field, value):
    """An exact quantity -> milli-units (fr_qty_parse)."""
    if isinstance(value, bool) or value is None:
        raise wrong_type(field, "a number", value)
    if isinstance(value, numbers.Integral):
        raw = str(int(value))
    elif isinstance(value, float):
        raw = repr(value)  # shortest repr: 0.1 -> "0.1", exact for <= 15 digits
    elif isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise invalid(field, "%s must be a finite number." % field)
        raw = format(value, "f")
    elif isinstance(value, str):
        raw = value.strip()
    else:
        raise wrong_type(field, "an int, float, Decimal or str", value)
    out = ctypes.c_int64()
    if len(raw) > 64 or lib.fr_qty_parse(text(field, raw), ctypes.byref(out)) != 0:
        raise invalid(field, "%s must be a number with at most 3 decimals, |q| <= 1e12 "
                      "(got %r)." % (field, value))
    return out.value


def integer(field, value, low=-2**63, high=2**63 - 1):
    """An int in [low, high] (by default the int64 range of the C side)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise wrong_type(field, "an int", value)
    value = int(value)
    if value < low or value > high:
        raise invalid(field, "%s must be in %s..%s." % (field, low, high))
    return value


def boolean(field, value):
    if not isinstance(value, bool):
        raise wrong_type(field, "a bool", value)
    return 1 if value else 0


def time_ms(field, value):
    """An instant -> ms since the epoch."""
    if isinstance(value, bool):
        raise wrong_type(field, "a datetime, RFC 3339 string or int ms", value)
    if isinstance(value, numbers.Integral):
        ms = int(value)
    elif isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise invalid(field, "%s must be an aware datetime (with a tzinfo)." % field)
        delta = value - _EPOCH
        ms = (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    elif isinstance(value, str):
        out = ctypes.c_int64()
        if len(value) > 64 or lib.fr_time_parse(text(field, value), ctypes.byref(out)) != 0:
            raise invalid(field, "%s must be an RFC 3339 timestamp (got %r)." % (field, value))
        ms = out.value
    else:
        raise wrong_type(field, "a datetime, RFC 3339 string or int ms", value)
    if not _TIME_MIN_MS <= ms <= _TIME_MAX_MS:
        raise invalid(field, "%s is outside years 0000..9999." % field)
    return ms


def end_ms(field, value):
    """An interval end or deadline: None is open-ended (FR_TIME_INF)."""
    return FR_TIME_INF if value is None else time_ms(field, value)


def optional_time_ms(field, value):
    """An optional instant: None is absent (FR_TIME_NULL)."""
    return FR_TIME_NULL if value is None else time_ms(field, value)


def duration_ms(field, value):
    """Seconds (int, float, Decimal) or a timedelta -> whole ms."""
    if isinstance(value, datetime.timedelta):
        return (value.days * 86400 + value.seconds) * 1000 + value.microseconds // 1000
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        raise wrong_type(field, "seconds (a number) or a timedelta", value)
    try:
        ms = decimal.Decimal(repr(value) if isinstance(value, float) else value) * 1000
    except (decimal.InvalidOperation, ValueError) as exc:
        raise invalid(field, "%s must be a finite number of seconds." % field) from exc
    if not ms.is_finite() or abs(ms) > 2**62:
        raise invalid(field, "%s must be a finite number of seconds." % field)
    return int(ms)


def enum(field, parse, value):
    """A SPEC enum name ("held") -> its C value via fr_*_parse."""
    raw = text(field, value)
    code = parse(raw)
    if code < 0:
        raise invalid(field, "%s: unknown value %r." % (field, value))
    return code


def ms_to_iso(ms):
    """ms -> "YYYY-MM-DDTHH:MM:SS.mmmZ" (None for absent / open-ended)."""
    if ms in (FR_TIME_INF, FR_TIME_NULL):
        return None
    buf = ctypes.create_string_buffer(40)
    n = lib.fr_time_format(ms, buf, len(buf))
    return buf.value.decode() if n else None


def qty_out(milli):
    """milli-units -> the JSON number the library prints (int when whole)."""
    buf = ctypes.create_string_buffer(40)
    lib.fr_qty_format(milli, buf, len(buf))
    raw = buf.value.decode()
    return float(raw) if "." in raw or "e" in raw else int(raw)
