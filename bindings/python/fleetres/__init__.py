"""fleetres — Python bindings (ctypes) for libfleetres.

    import fleetres
    with fleetres.Engine("depot.db") as engine:
        pool = engine.create_pool(fleet_id="depot-north", name="Bay row A",
                                  resource_type="charging_bay", total_capacity=2)

Entities come back as dicts in SPEC's JSON shape; failures raise
FleetresError subclasses (fleetres.errors).  The shared library is found via
FLEETRES_LIB, next to this package, or the system loader (see _native.py).
"""

import ctypes as _ctypes

from . import _convert
from ._native import lib as _lib, FR_TIME_INF, FR_TIME_NULL
from .engine import Engine, ManualClock
from .errors import (
    FleetresError, InvalidRequest, InvalidType, NotFound, CapacityExceeded, DoubleBooking,
    InvalidState, PoolInUse, PlanStale, Unresolvable, VersionMismatch, UnknownReference,
    OutOfMemory, Unavailable, Forbidden, LimitExceeded, IdempotencyKeyReused, EngineClosed,
    error_class,
)

__all__ = [
    "Engine", "ManualClock", "version", "errstr", "errcode", "parse_time", "format_time",
    "parse_quantity", "format_quantity", "FR_TIME_INF", "FR_TIME_NULL",
    "FleetresError", "InvalidRequest", "InvalidType", "NotFound", "CapacityExceeded",
    "DoubleBooking", "InvalidState", "PoolInUse", "PlanStale", "Unresolvable",
    "VersionMismatch", "UnknownReference", "OutOfMemory", "Unavailable", "Forbidden",
    "LimitExceeded", "IdempotencyKeyReused", "EngineClosed", "error_class",
]


def version():
    """fr_version(): the library's version string."""
    return _lib.fr_version().decode()


def errstr(status):
    """fr_errstr(status): a status's English description."""
    raw = _lib.fr_errstr(_convert.integer("status", status, -2**31, 2**31 - 1))
    return raw.decode() if raw else None


def errcode(status):
    """fr_errcode(status): a status's SPEC error code ("capacity_exceeded")."""
    raw = _lib.fr_errcode(_convert.integer("status", status, -2**31, 2**31 - 1))
    return raw.decode() if raw else None


def parse_time(value):
    """An RFC 3339 string, aware datetime or int ms -> int ms (fr_time_parse)."""
    return _convert.time_ms("time", value)


def format_time(ms):
    """int ms -> "YYYY-MM-DDTHH:MM:SS.mmmZ" (fr_time_format)."""
    ms = _convert.integer("ms", ms)
    text = _convert.ms_to_iso(ms)
    if text is None:
        raise _convert.invalid("ms", "ms is outside the accepted range.")
    return text


def parse_quantity(value):
    """A quantity (int, float, Decimal, str) -> int milli-units (fr_qty_parse)."""
    return _convert.quantity("quantity", value)


def format_quantity(milli):
    """int milli-units -> the shortest exact decimal text (fr_qty_format)."""
    buf = _ctypes.create_string_buffer(40)
    _lib.fr_qty_format(_convert.integer("milli", milli), buf, len(buf))
    return buf.value.decode()
