"""The exceptions of the fleetres bindings.

Every failure of a library call raises a FleetresError whose ``code`` is the
SPEC error code (``fr_errcode``), ``message`` the library's one human sentence
(``fr_result.message``) and ``details`` the SPEC ``details`` object built from
the ``fr_result`` explanation (``field``, ``index``, and for capacity refusals
``pool_id``, ``at``, ``capacity``, ``free``, ``requested``,
``conflicting_allocation_ids``, ``next_fit_start``).  Bad input caught before
the library is called raises InvalidRequest too (code ``invalid_request``), so
callers handle both the same way; a wrong Python type raises InvalidType, which
is also a TypeError.
"""

__all__ = [
    "FleetresError", "InvalidRequest", "InvalidType", "NotFound", "CapacityExceeded",
    "DoubleBooking", "InvalidState", "PoolInUse", "PlanStale", "Unresolvable",
    "VersionMismatch", "UnknownReference", "OutOfMemory", "Unavailable", "Forbidden",
    "LimitExceeded", "IdempotencyKeyReused", "EngineClosed", "error_class",
]


class FleetresError(Exception):
    """A refused or failed call: nothing was changed."""

    status = None  # the FR_E* number, when the library returned one

    def __init__(self, code, message, details=None, status=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})
        if status is not None:
            self.status = status

    def __str__(self):
        return "%s: %s" % (self.code, self.message)

    def __repr__(self):
        return "%s(%r, %r, %r)" % (type(self).__name__, self.code, self.message, self.details)


class InvalidRequest(FleetresError, ValueError):
    """invalid_request (FR_EINVAL): details["field"] names the offending field."""
    status = 1


class InvalidType(InvalidRequest, TypeError):
    """A Python argument of the wrong type (caught before the library is called)."""


class NotFound(FleetresError, LookupError):
    status = 2


class CapacityExceeded(FleetresError):
    """capacity_exceeded: details carry at, free, next_fit_start, ..."""
    status = 3


class DoubleBooking(FleetresError):
    status = 4


class InvalidState(FleetresError):
    status = 5


class PoolInUse(FleetresError):
    status = 6


class PlanStale(FleetresError):
    """plan_stale: details["stale"] lists the assignments that no longer fit."""
    status = 7


class Unresolvable(FleetresError):
    status = 8


class VersionMismatch(FleetresError):
    status = 9


class UnknownReference(FleetresError):
    status = 10


class OutOfMemory(FleetresError, MemoryError):
    status = 11


class Unavailable(FleetresError):
    """unavailable (FR_ESTORE): the store failed; nothing changed."""
    status = 12


class Forbidden(FleetresError):
    status = 13


class LimitExceeded(FleetresError):
    """FR_ELIMIT: a bound was hit (too many items, overflow)."""
    status = 14


class IdempotencyKeyReused(FleetresError):
    status = 15


class EngineClosed(FleetresError, ValueError):
    """A call on an Engine after close()."""

    def __init__(self):
        super().__init__("engine_closed", "The engine is closed.")


_BY_STATUS = {cls.status: cls for cls in (
    InvalidRequest, NotFound, CapacityExceeded, DoubleBooking, InvalidState, PoolInUse,
    PlanStale, Unresolvable, VersionMismatch, UnknownReference, OutOfMemory, Unavailable,
    Forbidden, LimitExceeded, IdempotencyKeyReused)}


def error_class(status):
    """The exception class of an FR_E* status (FleetresError for unknown ones)."""
    return _BY_STATUS.get(status, FleetresError)
