"""Engine: a Python handle on one fr_engine, with every public call wrapped.

Each method converts its keyword arguments (named like SPEC's JSON fields)
into the C params struct and its `set` bitmask, calls the library, and returns
entities as dicts in SPEC's JSON shape, rendered by the library's own
fr_*_to_json.  Every C allocation is released before the method returns
(fr_*_clear, fr_*_free_array, fr_free, fr_result_clear), also on failure.

Threads: ctypes releases the GIL around each C call and the engine serializes
calls with its own mutex, so one Engine may be shared by any number of
threads.  close() waits for the calls in flight, then closes; later calls
raise EngineClosed.  A clock callback runs under the engine's mutex and must
not call back into the engine.
"""

import contextlib
import ctypes
import datetime
import decimal
import hashlib
import json
import os
import threading
import time
import warnings

from . import _convert as cv
from ._native import (
    lib, entity_buffer, ENTITY_SIZES, FR_BATCH_MAX, FR_CURSOR_SIZE, FR_UTILIZATION_BUCKETS_MAX,
    ID, AllocationParams, Bucket, ClockFn,
    ConflictParams, Ctx, EngineCounters, EngineOptions, ListQuery, PlanCapacityChange,
    PlanDemand, PlanMiss, PlanParams, PoolParams, RequestParams, ResolveParams, Result,
    SampleParams, ScheduleEntry, UtilizationBucket,
)
from .errors import EngineClosed, FleetresError, NotFound, error_class

byref = ctypes.byref

# ---------------------------------------------------------------------------
# Field tables: keyword -> (bit in `set`, struct attribute, converter).
# ---------------------------------------------------------------------------


def _hours_ms(field, value):
    """Hours (a number) or a timedelta -> ms."""
    if isinstance(value, datetime.timedelta):
        return cv.duration_ms(field, value)
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        raise cv.wrong_type(field, "hours (a number) or a timedelta", value)
    ms = cv.duration_ms(field, value) * 3600  # checks finiteness; hours -> ms
    if abs(ms) > 2**62:
        raise cv.invalid(field, "%s is out of range." % field)
    return ms


_priority = (lambda f, v: cv.integer(f, v, 0, 1000))
_POOL_FIELDS = {
    "fleet_id": (1 << 0, "fleet_id", cv.text),
    "name": (1 << 1, "name", cv.text),
    "resource_type": (1 << 2, "resource_type", cv.text),
    "unit": (1 << 3, "unit", cv.text),
    "site": (1 << 4, "site", cv.optional_text),
    "labels": (1 << 5, "labels_json", cv.json_object),
    "status": (1 << 6, "status", lambda f, v: cv.enum(f, lib.fr_pool_status_parse, v)),
    "total_capacity": (1 << 7, "total_capacity_milli", cv.quantity),
    "capacity_schedule": (1 << 8, None, None),  # an array: _schedule()
    "exclusive_per_vehicle": (1 << 9, "exclusive_per_vehicle", cv.boolean),
}
_ALLOCATION_FIELDS = {
    "pool_id": (1 << 0, "pool_id", cv.ident),
    "fleet_id": (1 << 1, "fleet_id", cv.text),
    "resource_type": (1 << 2, "resource_type", cv.text),
    "site": (1 << 3, "site", cv.optional_text),
    "vehicle_id": (1 << 4, "vehicle_id", cv.optional_text),
    "operation_id": (1 << 5, "operation_id", cv.optional_text),
    "allocation_type": (1 << 6, "allocation_type", cv.text),
    "quantity": (1 << 7, "quantity_milli", cv.quantity),
    "start": (1 << 8, "start_ms", cv.time_ms),
    "end": (1 << 9, "end_ms", cv.end_ms),
    "priority": (1 << 10, "priority", _priority),
    "status": (1 << 11, "status", lambda f, v: cv.enum(f, lib.fr_allocation_status_parse, v)),
    "hold_seconds": (1 << 12, "hold_ms", cv.duration_ms),
    "metadata": (1 << 13, "metadata_json", cv.json_object),
    "overcommit": (1 << 14, "overcommit", cv.boolean),
}
_REQUEST_FIELDS = {
    "fleet_id": (1 << 0, "fleet_id", cv.text),
    "vehicle_id": (1 << 1, "vehicle_id", cv.optional_text),
    "operation_id": (1 << 2, "operation_id", cv.optional_text),
    "resource_type": (1 << 3, "resource_type", cv.text),
    "pool_id": (1 << 4, "pool_id", cv.optional_text),
    "site": (1 << 5, "site", cv.optional_text),
    "quantity": (1 << 6, "quantity_milli", cv.quantity),
    "duration_seconds": (1 << 7, "duration_ms", cv.duration_ms),
    "earliest_start": (1 << 8, "earliest_start_ms", cv.time_ms),
    "latest_end": (1 << 9, "latest_end_ms", cv.end_ms),
    "priority": (1 << 10, "priority", _priority),
    "preempt": (1 << 11, "preempt", cv.boolean),
    "metadata": (1 << 12, "metadata_json", cv.json_object),
}
_SAMPLE_FIELDS = {
    "pool_id": (1 << 0, "pool_id", cv.ident),
    "timestamp": (1 << 1, "timestamp_ms", cv.time_ms),
    "used": (1 << 2, "used_milli", cv.quantity),
    "source": (1 << 3, "source", cv.optional_text),
}
_PLAN_FIELDS = {
    "fleet_id": (1 << 0, "fleet_id", cv.text),
    "name": (1 << 1, "name", cv.optional_text),
    "horizon_start": (1 << 2, "horizon_start_ms", cv.time_ms),
    "horizon_end": (1 << 3, "horizon_end_ms", cv.time_ms),
    "horizon_hours": (1 << 4, "horizon_ms", _hours_ms),
    "bucket_seconds": (1 << 5, "bucket_ms", cv.duration_ms),
    "include_pending_requests": (1 << 6, "include_pending_requests", cv.boolean),
    "demands": (1 << 7, None, None),           # an array: _demands()
    "capacity_changes": (1 << 8, None, None),  # an array: _capacity_changes()
    "time_budget_ms": (1 << 9, "time_budget_ms", lambda f, v: cv.integer(f, v, 1, 60000)),
}

# Per-call context keywords, accepted by every mutation.
_CTX_KEYS = ("actor", "if_match", "idempotency_key")

# List filters: keyword -> fr_list_query attribute, per list.
_FILTERS = {
    "pool": ("fleet_id", "resource_type", "site", "status"),
    "allocation": ("fleet_id", "pool_id", "resource_type", "vehicle_id", "operation_id",
                   "allocation_type", "request_id", "plan_id", "status", "from", "to"),
    "request": ("fleet_id", "resource_type", "vehicle_id", "operation_id", "site", "pool_id",
                "status", "from", "to"),
    "conflict": ("fleet_id", "pool_id", "vehicle_id", "status", "type", "from", "to"),
    "sample": ("fleet_id", "pool_id", "from", "to"),
    "plan": ("fleet_id", "status"),
}
_STATUS_PARSE = {
    "pool": lib.fr_pool_status_parse, "allocation": lib.fr_allocation_status_parse,
    "request": lib.fr_request_status_parse, "conflict": lib.fr_conflict_status_parse,
    "plan": lib.fr_plan_status_parse,
}


def _fill(struct, table, fields, keep):
    """Sets struct's fields and `set` bits from keyword arguments."""
    bits = 0
    for key, value in fields.items():
        entry = table.get(key)
        if entry is None:
            raise cv.InvalidType("invalid_request", "unknown field %r." % key,
                                 {"field": key}, 1)
        bit, attr, convert = entry
        if attr is not None:
            converted = convert(key, value)
            setattr(struct, attr, converted)
            keep.append(converted)
        bits |= bit
    if hasattr(struct, "set"):
        struct.set = bits
    return bits


def _id_field(field, value):
    """An id into a fixed char[37] (fr_plan_demand.pool_id, ...)."""
    if value is None:
        return b""
    raw = cv.ident(field, value)
    if len(raw) >= ctypes.sizeof(ID):
        raise cv.invalid(field, "%s is not an id." % field)
    return raw


def _schedule(entries, keep):
    if entries is None:
        entries = []
    if not isinstance(entries, (list, tuple)):
        raise cv.wrong_type("capacity_schedule", "a list", entries)
    arr = (ScheduleEntry * max(len(entries), 1))()
    for i, e in enumerate(entries):
        field = "capacity_schedule[%d]" % i
        if not isinstance(e, dict):
            raise cv.wrong_type(field, "a dict", e)
        unknown = set(e) - {"start", "end", "capacity"}
        if unknown or "start" not in e or "capacity" not in e:
            raise cv.invalid(field, "%s needs start, capacity (and end)." % field)
        arr[i].start_ms = cv.time_ms(field + ".start", e["start"])
        arr[i].end_ms = cv.end_ms(field + ".end", e.get("end"))
        arr[i].capacity_milli = cv.quantity(field + ".capacity", e["capacity"])
    keep.append(arr)
    return arr, len(entries)


def _demands(items, keep):
    if not isinstance(items, (list, tuple)):
        raise cv.wrong_type("demands", "a list", items)
    arr = (PlanDemand * max(len(items), 1))()
    keys = {"ref", "resource_type", "site", "pool_id", "vehicle_id", "quantity",
            "duration_seconds", "earliest_start", "latest_end", "priority"}
    for i, d in enumerate(items):
        field = "demands[%d]" % i
        if not isinstance(d, dict):
            raise cv.wrong_type(field, "a dict", d)
        if set(d) - keys:
            raise cv.invalid(field, "%s: unknown fields %s." % (field, sorted(set(d) - keys)))
        x = arr[i]
        for name in ("ref", "resource_type", "site", "vehicle_id"):
            raw = cv.optional_text(field + "." + name, d.get(name))
            keep.append(raw)
            setattr(x, name, raw)
        x.pool_id = _id_field(field + ".pool_id", d.get("pool_id"))
        if "quantity" not in d:
            raise cv.invalid(field + ".quantity", "%s.quantity is required." % field)
        x.quantity_milli = cv.quantity(field + ".quantity", d["quantity"])
        x.duration_ms = cv.duration_ms(field + ".duration_seconds",
                                       d.get("duration_seconds", 0))
        x.earliest_start_ms = cv.optional_time_ms(field + ".earliest_start",
                                                  d.get("earliest_start"))
        x.latest_end_ms = cv.end_ms(field + ".latest_end", d.get("latest_end"))
        x.priority = _priority(field + ".priority", d.get("priority", 0))
    keep.append(arr)
    return arr, len(items)


def _capacity_changes(items, keep):
    if not isinstance(items, (list, tuple)):
        raise cv.wrong_type("capacity_changes", "a list", items)
    arr = (PlanCapacityChange * max(len(items), 1))()
    for i, c in enumerate(items):
        field = "capacity_changes[%d]" % i
        if not isinstance(c, dict):
            raise cv.wrong_type(field, "a dict", c)
        if set(c) - {"pool_id", "start", "end", "delta"} or "delta" not in c:
            raise cv.invalid(field, "%s needs pool_id, delta (start, end)." % field)
        arr[i].pool_id = _id_field(field + ".pool_id", c.get("pool_id"))
        arr[i].start_ms = cv.optional_time_ms(field + ".start", c.get("start"))
        arr[i].end_ms = cv.end_ms(field + ".end", c.get("end"))
        arr[i].delta_milli = cv.quantity(field + ".delta", c["delta"])
    keep.append(arr)
    return arr, len(items)


def _result_error(rc, res, extra=None):
    """The exception for a failed mutation, from its fr_result."""
    code_p = lib.fr_errcode(rc)
    code = code_p.decode() if code_p else "internal"
    message = res.message.decode("utf-8", "replace") if res.message else ""
    if not message:
        errstr = lib.fr_errstr(rc)
        message = errstr.decode() if errstr else "error %d" % rc
    details = {}
    if res.field:
        details["field"] = res.field.decode("utf-8", "replace")
    if res.index >= 0:
        details["index"] = res.index
    ids = [res.conflicting_ids[i].value.decode()
           for i in range(min(res.conflicting_count, len(res.conflicting_ids)))]
    if rc == 3:  # FR_ECAPACITY
        details.update({
            "pool_id": res.pool_id.decode(), "at": cv.ms_to_iso(res.at_ms),
            "capacity": cv.qty_out(res.capacity_milli), "free": cv.qty_out(res.free_milli),
            "requested": cv.qty_out(res.requested_milli),
            "conflicting_allocation_ids": ids,
            "next_fit_start": cv.ms_to_iso(res.next_fit_start_ms),
        })
    elif rc == 4:  # FR_EDOUBLE
        details.update({"vehicle_id": res.vehicle_id.decode("utf-8", "replace"),
                        "conflicting_allocation_ids": ids})
    details.update(extra or {})
    return error_class(rc)(code, message, details, rc)


def _status_error(rc, message=None, details=None):
    """The exception of a call that returns a bare status (no fr_result)."""
    code = lib.fr_errcode(rc)
    text = message or (lib.fr_errstr(rc) or b"error").decode()
    return error_class(rc)(code.decode() if code else "internal", text, details or {}, rc)


def _with_index(exc, index):
    """A Python-side input error of batch item `index`."""
    exc.details.setdefault("index", index)
    return exc


def _render(entity, ptr):
    """One entity (at address ptr) -> dict via fr_<entity>_to_json."""
    raw = ctypes.c_void_p()
    rc = getattr(lib, "fr_%s_to_json" % entity)(ptr, byref(raw))
    if rc != 0:
        raise _status_error(rc, "rendering %s JSON failed" % entity)
    try:
        return json.loads(ctypes.string_at(raw.value).decode("utf-8"))
    finally:
        lib.fr_free(raw)


def _render_owned(entity, buf, n=1):
    """Renders n entities in a caller-owned buffer, then clears each one."""
    size = ENTITY_SIZES[entity]
    base = ctypes.addressof(buf)
    clear = getattr(lib, "fr_%s_clear" % entity)
    try:
        return [_render(entity, base + i * size) for i in range(n)]
    finally:
        for i in range(n):
            clear(base + i * size)


def _ratio(has, value):
    return float("%.15g" % value) if has and value == value and abs(value) != float("inf") \
        else None


def _body_hash(fields):
    text = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class ManualClock:
    """A clock the caller moves (tests, simulations): Engine(clock=ManualClock(t))."""

    def __init__(self, start=None):
        self.now_ms = int(time.time() * 1000) if start is None else cv.time_ms("start", start)
        self._lock = threading.Lock()

    def __call__(self):
        return self.now_ms

    def set(self, when):
        with self._lock:
            self.now_ms = cv.time_ms("when", when)

    def advance(self, seconds=0, ms=0):
        with self._lock:
            self.now_ms += cv.duration_ms("seconds", seconds) + int(ms)
        return self.now_ms


class Engine:
    """An fr_engine on ":memory:", a SQLite path or "sqlite://PATH".

    clock: None (the system clock) or a callable returning int ms or an aware
    datetime; aging_ms: the queue aging step (None: 60 s); seed: fixed id
    randomness (None: from the OS); actor: recorded in events (None:
    "anonymous"); may_overcommit / may_preempt: the permissions of fr_ctx,
    granted by default to an in-process caller (set False to refuse
    `overcommit` / `preempt` like an unprivileged REST principal).
    """

    def __init__(self, uri=":memory:", clock=None, aging_ms=None, seed=None, actor=None,
                 may_overcommit=True, may_preempt=True):
        raw_uri = cv.ident("uri", os.fspath(uri) if hasattr(uri, "__fspath__") else uri)
        opts = EngineOptions()
        self._clock = None
        self._clock_fn = None
        if clock is not None:
            if not callable(clock):
                raise cv.wrong_type("clock", "a callable", clock)
            self._clock = clock
            self._clock_last = int(time.time() * 1000)
            self._clock_fn = ClockFn(self._clock_trampoline)
            opts.clock = self._clock_fn
        if aging_ms is not None:
            opts.aging_ms = cv.integer("aging_ms", aging_ms, 1, 2**63 - 1)
        if seed is not None:
            opts.seed = cv.integer("seed", seed, 0, 2**64 - 1)
        self._actor = cv.optional_text("actor", actor)
        self._may_overcommit = 1 if may_overcommit else 0
        self._may_preempt = 1 if may_preempt else 0
        self._cv = threading.Condition()
        self._inflight = 0
        self._handle = None
        handle = ctypes.c_void_p()
        err = ctypes.create_string_buffer(256)
        rc = lib.fr_engine_open(raw_uri, byref(opts), byref(handle), err, len(err))
        if rc != 0:
            raise _status_error(rc, err.value.decode("utf-8", "replace"), {"uri": uri})
        self._handle = handle.value
        self.uri = uri

    # -- lifetime ------------------------------------------------------------
    def _clock_trampoline(self, _ctx):
        try:
            self._clock_last = cv.time_ms("clock()", self._clock())
        except Exception as exc:  # a C callback must not raise: keep the last time
            warnings.warn("fleetres clock failed (%r); using its last value" % (exc,),
                          RuntimeWarning)
        return self._clock_last

    def close(self):
        """Waits for calls in flight, then closes the engine.  Idempotent."""
        with self._cv:
            handle, self._handle = self._handle, None
            self._cv.wait_for(lambda: self._inflight == 0)
        if handle is not None:
            lib.fr_engine_close(handle)

    @property
    def closed(self):
        return self._handle is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @contextlib.contextmanager
    def _use(self):
        with self._cv:
            if self._handle is None:
                raise EngineClosed()
            self._inflight += 1
            handle = self._handle
        try:
            yield handle
        finally:
            with self._cv:
                self._inflight -= 1
                if self._inflight == 0:
                    self._cv.notify_all()

    # -- plumbing ------------------------------------------------------------
    def _ctx(self, name, opts, fields):
        """fr_ctx of one mutation from its actor / if_match / idempotency_key."""
        ctx = Ctx()
        actor = opts.get("actor")
        ctx.actor = cv.optional_text("actor", actor) if actor is not None else self._actor
        if opts.get("if_match") is not None:
            ctx.if_match_version = cv.integer("if_match", opts["if_match"], 1, 2**63 - 1)
        ctx.may_overcommit = self._may_overcommit
        ctx.may_preempt = self._may_preempt
        key = opts.get("idempotency_key")
        if key is not None:
            ctx.idempotency_key = cv.ident("idempotency_key", key)
            ctx.idempotency_scope = ("python " + name).encode()
            ctx.idempotency_body_hash = _body_hash(fields)
        return ctx

    @staticmethod
    def _split(fields):
        """Separates the call-context keywords from the entity's fields."""
        opts = {k: fields.pop(k) for k in _CTX_KEYS if k in fields}
        return opts, fields

    @staticmethod
    def _only_ctx(opts):
        """Keyword arguments of calls without entity fields: context only."""
        for key in opts:
            if key not in _CTX_KEYS:
                raise cv.InvalidType("invalid_request", "unexpected keyword argument %r."
                                     % key, {"field": key}, 1)
        return opts

    def _mutate(self, fn, ctx, *args, extra=None):
        """Runs fn(engine, ctx, *args, res); returns the fr_result's ids of
        conflicts detected and its replayed flag, raises on failure."""
        res = Result()
        lib.fr_result_init(byref(res))
        try:
            with self._use() as handle:
                rc = fn(handle, byref(ctx), *args, byref(res))
            if rc != 0:
                raise _result_error(rc, res, extra)
            detected = [res.conflicts_detected[i].value.decode()
                        for i in range(res.conflicts_detected_len)]
            return detected, bool(res.replayed)
        finally:
            lib.fr_result_clear(byref(res))

    def _get(self, entity, id):
        raw = cv.ident("id", id)
        out = entity_buffer(entity)
        with self._use() as handle:
            rc = getattr(lib, "fr_%s_get" % entity)(handle, raw, out)
        if rc != 0:
            if rc == 2:
                raise NotFound("not_found", "%s %s not found." % (entity, id), {}, rc)
            raise _status_error(rc)
        return _render_owned(entity, out)[0]

    def _list(self, entity, limit, cursor, filters):
        q = ListQuery()
        lib.fr_list_query_init(byref(q))
        if limit is not None:
            q.limit = cv.integer("limit", limit, 1, 1000)
        if cursor is not None:
            q.cursor = cv.text("cursor", cursor)
        allowed = _FILTERS[entity]
        for key, value in filters.items():
            name = "from" if key == "from_" else key
            if name not in allowed:
                raise cv.InvalidType("invalid_request", "%ss cannot be filtered by %r."
                                     % (entity, key), {"field": key}, 1)
            if value is None:
                continue
            if name == "status":
                q.status = cv.enum("status", _STATUS_PARSE[entity], value)
            elif name == "type":
                q.type = cv.enum("type", lib.fr_conflict_type_parse, value)
            elif name in ("from", "to"):
                setattr(q, name + "_ms", cv.time_ms(name, value))
            else:
                setattr(q, name, cv.text(name, value))
        items = ctypes.c_void_p()
        count = ctypes.c_size_t()
        next_cursor = ctypes.create_string_buffer(FR_CURSOR_SIZE)
        with self._use() as handle:
            rc = getattr(lib, "fr_%s_list" % entity)(handle, byref(q), byref(items),
                                                       byref(count), next_cursor)
        if rc != 0:
            raise _status_error(rc, "%s list: %s" % (entity, lib.fr_errstr(rc).decode()))
        size = ENTITY_SIZES[entity]
        try:
            out = [_render(entity, items.value + i * size) for i in range(count.value)]
        finally:
            getattr(lib, "fr_%s_free_array" % entity)(items, count.value)
        return {"items": out, "next_cursor": next_cursor.value.decode() or None}

    def iterate(self, kind, page_size=None, **filters):
        """Yields every item of a list ("pools", "allocations", "requests",
        "conflicts", "samples", "plans") across pages."""
        kind = cv.text("kind", kind).decode()
        method = getattr(self, "list_" + kind, None)
        if method is None or kind == "events":
            raise cv.invalid("kind", "unknown list %r." % kind)
        cursor = None
        while True:
            page = method(limit=page_size, cursor=cursor, **filters)
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    # -- engine ----------------------------------------------------------------
    def now(self):
        """The engine's current time (its clock), in ms since the epoch."""
        with self._use() as handle:
            return lib.fr_engine_now(handle)

    def tick(self):
        """Applies time-driven changes (hold and request expiry, dispatch)."""
        with self._use() as handle:
            rc = lib.fr_engine_tick(handle)
        if rc != 0:
            raise _status_error(rc)

    def ping(self):
        """True when the store answers; raises Unavailable otherwise."""
        with self._use() as handle:
            rc = lib.fr_engine_ping(handle)
        if rc != 0:
            raise _status_error(rc)
        return True

    def counters(self):
        """Store transactions since open: store_commits, grouped_calls, failed_groups."""
        out = EngineCounters()
        with self._use() as handle:
            rc = lib.fr_engine_counters_get(handle, byref(out))
        if rc != 0:
            raise _status_error(rc)
        return {"store_commits": out.store_commits, "grouped_calls": out.grouped_calls,
                "failed_groups": out.failed_groups}

    # -- pools -------------------------------------------------------------------
    def _pool_params(self, fields):
        p, keep = PoolParams(), []
        _fill(p, _POOL_FIELDS, fields, keep)
        if "capacity_schedule" in fields:
            arr, n = _schedule(fields["capacity_schedule"], keep)
            p.schedule, p.schedule_len = ctypes.cast(arr, ctypes.POINTER(ScheduleEntry)), n
        return p, keep

    def create_pool(self, **fields):
        """fr_pool_create: fleet_id, name, resource_type, total_capacity required;
        unit, site, labels (dict), status, capacity_schedule ([{start, end,
        capacity}]), exclusive_per_vehicle."""
        opts, fields = self._split(fields)
        p, keep = self._pool_params(fields)
        out = entity_buffer("pool")
        self._mutate(lib.fr_pool_create, self._ctx("create_pool", opts, fields), byref(p), out)
        return _render_owned("pool", out)[0]

    def update_pool(self, id, **fields):
        """fr_pool_update (partial); the dict carries conflicts_detected."""
        opts, fields = self._split(fields)
        raw_id = cv.ident("id", id)
        p, keep = self._pool_params(fields)
        out = entity_buffer("pool")
        detected, _ = self._mutate(lib.fr_pool_update, self._ctx("update_pool", opts, fields),
                                   raw_id, byref(p), out)
        pool = _render_owned("pool", out)[0]
        pool["conflicts_detected"] = detected
        return pool

    def delete_pool(self, id, force=False, **opts):
        """fr_pool_delete; force releases / cancels live allocations."""
        self._only_ctx(opts)
        self._mutate(lib.fr_pool_delete, self._ctx("delete_pool", opts, {}),
                     cv.ident("id", id), cv.boolean("force", force))

    def get_pool(self, id):
        return self._get("pool", id)

    def list_pools(self, limit=None, cursor=None, **filters):
        """Filters: fleet_id, resource_type, site, status."""
        return self._list("pool", limit, cursor, filters)

    # -- allocations ---------------------------------------------------------------
    def create_allocation(self, **fields):
        """fr_allocation_create: pool_id (or fleet_id + resource_type [+ site]),
        vehicle_id and/or operation_id, quantity; allocation_type, start, end
        (None: open-ended), priority, status, hold_seconds, metadata, overcommit."""
        opts, fields = self._split(fields)
        p, keep = AllocationParams(), []
        _fill(p, _ALLOCATION_FIELDS, fields, keep)
        out = entity_buffer("allocation")
        self._mutate(lib.fr_allocation_create, self._ctx("create_allocation", opts, fields),
                     byref(p), out)
        return _render_owned("allocation", out)[0]

    def create_allocations(self, items, **opts):
        """fr_allocation_create_batch: all or nothing; on failure
        details["index"] names the failing item."""
        self._only_ctx(opts)
        if not isinstance(items, (list, tuple)):
            raise cv.wrong_type("allocations", "a list of dicts", items)
        if not 1 <= len(items) <= FR_BATCH_MAX:
            raise cv.invalid("allocations", "1..%d allocations per batch." % FR_BATCH_MAX)
        arr, keep = (AllocationParams * len(items))(), []
        for i, fields in enumerate(items):
            if not isinstance(fields, dict):
                raise _with_index(cv.wrong_type("allocations[%d]" % i, "a dict", fields), i)
            try:
                _fill(arr[i], _ALLOCATION_FIELDS, fields, keep)
            except FleetresError as exc:
                raise _with_index(exc, i)
        out = entity_buffer("allocation", len(items))
        self._mutate(lib.fr_allocation_create_batch,
                     self._ctx("create_allocations", opts, list(items)), arr, len(items), out)
        return _render_owned("allocation", out, len(items))

    def update_allocation(self, id, **fields):
        """fr_allocation_update: start, end, quantity, priority, metadata,
        status ("confirmed", "released")."""
        opts, fields = self._split(fields)
        raw_id = cv.ident("id", id)
        p, keep = AllocationParams(), []
        _fill(p, _ALLOCATION_FIELDS, fields, keep)
        out = entity_buffer("allocation")
        self._mutate(lib.fr_allocation_update, self._ctx("update_allocation", opts, fields),
                     raw_id, byref(p), out)
        return _render_owned("allocation", out)[0]

    def delete_allocation(self, id, **opts):
        """fr_allocation_delete: cancels before start, releases in progress."""
        self._only_ctx(opts)
        out = entity_buffer("allocation")
        self._mutate(lib.fr_allocation_delete, self._ctx("delete_allocation", opts, {}),
                     cv.ident("id", id), out)
        return _render_owned("allocation", out)[0]

    def get_allocation(self, id):
        return self._get("allocation", id)

    def list_allocations(self, limit=None, cursor=None, **filters):
        """Filters: fleet_id, pool_id, resource_type, vehicle_id, operation_id,
        allocation_type, request_id, plan_id, status, from_ (or "from"), to."""
        return self._list("allocation", limit, cursor, filters)

    # -- requests -----------------------------------------------------------------
    def create_request(self, **fields):
        """fr_request_create: fleet_id, vehicle_id/operation_id, resource_type,
        quantity, duration_seconds and/or latest_end; pool_id, site,
        earliest_start, priority, preempt, metadata."""
        opts, fields = self._split(fields)
        p, keep = RequestParams(), []
        _fill(p, _REQUEST_FIELDS, fields, keep)
        out = entity_buffer("request")
        self._mutate(lib.fr_request_create, self._ctx("create_request", opts, fields),
                     byref(p), out)
        return _render_owned("request", out)[0]

    def update_request(self, id, **fields):
        """fr_request_update: changes a pending request (re-queued)."""
        opts, fields = self._split(fields)
        raw_id = cv.ident("id", id)
        p, keep = RequestParams(), []
        _fill(p, _REQUEST_FIELDS, fields, keep)
        out = entity_buffer("request")
        self._mutate(lib.fr_request_update, self._ctx("update_request", opts, fields),
                     raw_id, byref(p), out)
        return _render_owned("request", out)[0]

    def cancel_request(self, id, **opts):
        """fr_request_delete: cancels a pending request; returns it, final."""
        self._only_ctx(opts)
        out = entity_buffer("request")
        self._mutate(lib.fr_request_delete, self._ctx("cancel_request", opts, {}),
                     cv.ident("id", id), out)
        return _render_owned("request", out)[0]

    delete_request = cancel_request

    def get_request(self, id):
        return self._get("request", id)

    def list_requests(self, limit=None, cursor=None, **filters):
        """Filters: fleet_id, resource_type, vehicle_id, operation_id, site,
        pool_id, status ("pending" lists in queue order), from_, to."""
        return self._list("request", limit, cursor, filters)

    # -- conflicts ----------------------------------------------------------------
    def create_conflict(self, pool_id, description, start, end=None, allocation_ids=(),
                        **opts):
        """fr_conflict_create: records a manual conflict."""
        self._only_ctx(opts)
        fields = {"pool_id": pool_id, "description": description, "start": start,
                  "end": end, "allocation_ids": allocation_ids}
        p = ConflictParams()
        p.pool_id = cv.ident("pool_id", pool_id)
        p.description = cv.text("description", description)
        p.start_ms = cv.time_ms("start", start)
        p.end_ms = cv.end_ms("end", end)
        if not isinstance(allocation_ids, (list, tuple)):
            raise cv.wrong_type("allocation_ids", "a list of ids", allocation_ids)
        ids = (ctypes.c_char_p * max(len(allocation_ids), 1))()
        for i, a in enumerate(allocation_ids):
            ids[i] = cv.ident("allocation_ids[%d]" % i, a)
        p.allocation_ids = ctypes.cast(ids, ctypes.POINTER(ctypes.c_char_p))
        p.allocation_ids_len = len(allocation_ids)
        out = entity_buffer("conflict")
        self._mutate(lib.fr_conflict_create, self._ctx("create_conflict", opts, fields),
                     byref(p), out)
        return _render_owned("conflict", out)[0]

    def get_conflict(self, id):
        return self._get("conflict", id)

    def list_conflicts(self, limit=None, cursor=None, **filters):
        """Filters: fleet_id, pool_id, vehicle_id, status, type, from_, to."""
        return self._list("conflict", limit, cursor, filters)

    def resolve_conflict(self, id, strategy, note=None, max_delay_seconds=None, dry_run=False,
                         **opts):
        """fr_conflict_resolve: strategy "preempt" | "reschedule" | "reassign" |
        "manual"; all or nothing (Unresolvable); dry_run changes nothing."""
        self._only_ctx(opts)
        raw_id = cv.ident("id", id)
        p = ResolveParams()
        p.strategy = cv.enum("strategy", lib.fr_resolve_strategy_parse, strategy)
        p.note = cv.optional_text("note", note)
        if max_delay_seconds is not None:
            p.max_delay_ms = cv.duration_ms("max_delay_seconds", max_delay_seconds)
        p.dry_run = cv.boolean("dry_run", dry_run)
        fields = {"strategy": strategy, "note": note, "max_delay_seconds": max_delay_seconds,
                  "dry_run": dry_run, "id": id}
        out = entity_buffer("conflict")
        self._mutate(lib.fr_conflict_resolve, self._ctx("resolve_conflict", opts, fields),
                     raw_id, byref(p), out)
        return _render_owned("conflict", out)[0]

    # -- events -------------------------------------------------------------------
    def list_events(self, after=0, limit=100, fleet_id=None):
        """Events with seq > after, in seq order: {"items", "next_after"}."""
        after = cv.integer("after", after, 0, 2**63 - 1)
        limit = cv.integer("limit", limit, 1, 1000)
        fleet = cv.optional_text("fleet_id", fleet_id)
        items = ctypes.c_void_p()
        count = ctypes.c_size_t()
        with self._use() as handle:
            rc = lib.fr_event_list(handle, after, limit, fleet, byref(items), byref(count))
        if rc != 0:
            raise _status_error(rc)
        size = ENTITY_SIZES["event"]
        try:
            out = [_render("event", items.value + i * size) for i in range(count.value)]
        finally:
            lib.fr_event_free_array(items, count.value)
        return {"items": out, "next_after": out[-1]["seq"] if out else None}

    # -- utilization --------------------------------------------------------------
    def create_sample(self, **fields):
        """fr_sample_create: pool_id, used; timestamp (default now), source."""
        opts, fields = self._split(fields)
        p, keep = SampleParams(), []
        _fill(p, _SAMPLE_FIELDS, fields, keep)
        out = entity_buffer("sample")
        self._mutate(lib.fr_sample_create, self._ctx("create_sample", opts, fields),
                     byref(p), out)
        return _render_owned("sample", out)[0]

    def create_samples(self, items, **opts):
        """fr_sample_create_batch: 1..1000 samples, all or nothing."""
        self._only_ctx(opts)
        if not isinstance(items, (list, tuple)):
            raise cv.wrong_type("samples", "a list of dicts", items)
        if not 1 <= len(items) <= FR_BATCH_MAX:
            raise cv.invalid("samples", "1..%d samples per batch." % FR_BATCH_MAX)
        arr, keep = (SampleParams * len(items))(), []
        for i, fields in enumerate(items):
            if not isinstance(fields, dict):
                raise _with_index(cv.wrong_type("samples[%d]" % i, "a dict", fields), i)
            try:
                _fill(arr[i], _SAMPLE_FIELDS, fields, keep)
            except FleetresError as exc:
                raise _with_index(exc, i)
        out = entity_buffer("sample", len(items))
        self._mutate(lib.fr_sample_create_batch,
                     self._ctx("create_samples", opts, list(items)), arr, len(items), out)
        return _render_owned("sample", out, len(items))

    def list_samples(self, limit=None, cursor=None, **filters):
        """Filters: fleet_id, pool_id, from_, to (on the timestamp)."""
        return self._list("sample", limit, cursor, filters)

    def _range(self, from_, to, bucket_seconds):
        to_ms = self.now() if to is None else cv.time_ms("to", to)
        from_ms = to_ms - 86400 * 1000 if from_ is None else cv.time_ms("from", from_)
        bucket_ms = cv.duration_ms("bucket_seconds", bucket_seconds)
        if bucket_ms <= 0 or to_ms <= from_ms:
            raise cv.invalid("bucket_seconds" if bucket_ms <= 0 else "to",
                             "bucket_seconds must be > 0 and to after from.")
        count = -(-(to_ms - from_ms) // bucket_ms)
        if count > FR_UTILIZATION_BUCKETS_MAX:
            raise cv.invalid("bucket_seconds", "bucket_seconds makes more than 10000 buckets "
                             "of [from, to).")
        return from_ms, to_ms, bucket_ms, count

    def utilization(self, pool_id, from_=None, to=None, bucket_seconds=3600):
        """fr_pool_utilization in SPEC §5's shape (default: the last 24 h)."""
        raw_id = cv.ident("pool_id", pool_id)
        from_ms, to_ms, bucket_ms, count = self._range(from_, to, bucket_seconds)
        buckets = (UtilizationBucket * count)()
        summary = UtilizationBucket()
        n = ctypes.c_size_t()
        with self._use() as handle:
            rc = lib.fr_pool_utilization(handle, raw_id, from_ms, to_ms, bucket_ms, buckets,
                                         count, byref(n), byref(summary))
        if rc != 0:
            raise _status_error(rc, "utilization of %s: %s"
                                % (pool_id, lib.fr_errstr(rc).decode()))

        def stats(b, is_summary):
            d = {} if is_summary else {"start": cv.ms_to_iso(b.start_ms)}
            d["capacity_avg" if is_summary else "capacity"] = cv.qty_out(b.capacity_avg_milli)
            d["booked_avg"] = cv.qty_out(b.booked_avg_milli)
            d["booked_peak"] = cv.qty_out(b.booked_peak_milli)
            d["measured_avg"] = cv.qty_out(b.measured_avg_milli) if b.has_measured else None
            d["utilization"] = _ratio(b.has_utilization, b.utilization)
            d["efficiency"] = _ratio(b.has_efficiency, b.efficiency)
            return d

        return {"pool_id": pool_id, "from": cv.ms_to_iso(from_ms), "to": cv.ms_to_iso(to_ms),
                "bucket_seconds": bucket_ms // 1000 if bucket_ms % 1000 == 0
                else bucket_ms / 1000,
                "series": [stats(buckets[i], False) for i in range(n.value)],
                "summary": stats(summary, True)}

    def booked_series(self, pool_id, from_, to, bucket_seconds=3600):
        """fr_pool_booked_series: [{start, end, capacity_avg, booked_avg, booked_peak}]."""
        raw_id = cv.ident("pool_id", pool_id)
        from_ms, to_ms, bucket_ms, count = self._range(
            cv.time_ms("from", from_), cv.time_ms("to", to), bucket_seconds)
        buckets = (Bucket * count)()
        n = ctypes.c_size_t()
        with self._use() as handle:
            rc = lib.fr_pool_booked_series(handle, raw_id, from_ms, to_ms, bucket_ms, buckets,
                                           count, byref(n))
        if rc != 0:
            raise _status_error(rc, "booked series of %s: %s"
                                % (pool_id, lib.fr_errstr(rc).decode()))
        return [{"start": cv.ms_to_iso(b.start_ms), "end": cv.ms_to_iso(b.end_ms),
                 "capacity_avg": cv.qty_out(b.capacity_avg_milli),
                 "booked_avg": cv.qty_out(b.booked_avg_milli),
                 "booked_peak": cv.qty_out(b.booked_peak_milli)}
                for b in buckets[:n.value]]

    # -- plans --------------------------------------------------------------------
    def _plan_params(self, fields):
        p, keep = PlanParams(), []
        _fill(p, _PLAN_FIELDS, fields, keep)
        if "demands" in fields:
            arr, n = _demands(fields["demands"], keep)
            p.demands, p.demands_len = ctypes.cast(arr, ctypes.POINTER(PlanDemand)), n
        if "capacity_changes" in fields:
            arr, n = _capacity_changes(fields["capacity_changes"], keep)
            p.capacity_changes = ctypes.cast(arr, ctypes.POINTER(PlanCapacityChange))
            p.capacity_changes_len = n
        return p, keep

    def create_plan(self, **fields):
        """fr_plan_create: fleet_id, horizon_end or horizon_hours; name,
        horizon_start, bucket_seconds, include_pending_requests, demands
        ([{ref, resource_type, site, pool_id, vehicle_id, quantity,
        duration_seconds, earliest_start, latest_end, priority}]),
        capacity_changes ([{pool_id, start, end, delta}]), time_budget_ms."""
        opts, fields = self._split(fields)
        p, keep = self._plan_params(fields)
        out = entity_buffer("plan")
        self._mutate(lib.fr_plan_create, self._ctx("create_plan", opts, fields), byref(p), out)
        return _render_owned("plan", out)[0]

    def update_plan(self, id, **fields):
        """fr_plan_update: new inputs for a draft, re-planned."""
        opts, fields = self._split(fields)
        raw_id = cv.ident("id", id)
        p, keep = self._plan_params(fields)
        out = entity_buffer("plan")
        self._mutate(lib.fr_plan_update, self._ctx("update_plan", opts, fields), raw_id,
                     byref(p), out)
        return _render_owned("plan", out)[0]

    def commit_plan(self, id, **opts):
        """fr_plan_commit: books every assignment or none (PlanStale with
        details["stale"] = [{ref | request_id, pool_id, reason}])."""
        self._only_ctx(opts)
        raw_id = cv.ident("id", id)
        out = entity_buffer("plan")
        stale = ctypes.POINTER(PlanMiss)()
        stale_len = ctypes.c_size_t()
        res = Result()
        lib.fr_result_init(byref(res))
        try:
            ctx = self._ctx("commit_plan", opts, {"id": id})
            with self._use() as handle:
                rc = lib.fr_plan_commit(handle, byref(ctx), raw_id, out, byref(stale),
                                        byref(stale_len), byref(res))
            if rc != 0:
                misses = []
                for i in range(stale_len.value if stale else 0):
                    m = stale[i]
                    item = ({"ref": m.ref.decode()} if m.ref
                            else {"request_id": m.request_id.decode()})
                    if m.pool_id:
                        item["pool_id"] = m.pool_id.decode()
                    item["reason"] = m.reason.decode()
                    misses.append(item)
                raise _result_error(rc, res, {"stale": misses} if rc == 7 else None)
        finally:
            if stale:
                lib.fr_plan_miss_free_array(stale, stale_len.value)
            lib.fr_result_clear(byref(res))
        return _render_owned("plan", out)[0]

    def discard_plan(self, id, **opts):
        """fr_plan_discard: draft -> discarded."""
        self._only_ctx(opts)
        out = entity_buffer("plan")
        self._mutate(lib.fr_plan_discard, self._ctx("discard_plan", opts, {"id": id}),
                     cv.ident("id", id), out)
        return _render_owned("plan", out)[0]

    def delete_plan(self, id, **opts):
        """fr_plan_delete: a draft or discarded plan (InvalidState if committed)."""
        self._only_ctx(opts)
        self._mutate(lib.fr_plan_delete, self._ctx("delete_plan", opts, {"id": id}),
                     cv.ident("id", id))

    def get_plan(self, id):
        return self._get("plan", id)

    def list_plans(self, limit=None, cursor=None, **filters):
        """Filters: fleet_id, status."""
        return self._list("plan", limit, cursor, filters)

    def plan_accuracy(self):
        """fr_plan_accuracy: {"planned", "used"} over committed, ended plans."""
        planned, used = ctypes.c_int64(), ctypes.c_int64()
        with self._use() as handle:
            rc = lib.fr_plan_accuracy(handle, byref(planned), byref(used))
        if rc != 0:
            raise _status_error(rc)
        return {"planned": planned.value, "used": used.value}
