"""Loading libfleetres and declaring its C API for ctypes.

The shared library is looked up, in order: the path in the environment
variable FLEETRES_LIB (a file, or a directory holding libfleetres.so*), a
libfleetres.so* next to this package, then the system loader.  On load the
sizes of the structs mirrored here are checked against fr_struct_size(), so a
header change that moves a field fails loudly instead of corrupting memory.

Only structs the bindings write (params, queries, context, options) or read
field by field (fr_result, buckets, plan misses) are mirrored.  Entities are
handled as opaque, correctly sized and aligned buffers: the library fills
them, fr_*_to_json renders them, fr_*_clear releases them.
"""

import ctypes
import ctypes.util
import glob
import os


c_char_p = ctypes.c_char_p
c_int = ctypes.c_int
c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_uint32 = ctypes.c_uint32
c_uint64 = ctypes.c_uint64
c_size_t = ctypes.c_size_t
c_void_p = ctypes.c_void_p
POINTER = ctypes.POINTER

FR_ID_SIZE = 37
FR_CLIENT_ID_MAX = 128
FR_CONFLICTING_MAX = 20
FR_CURSOR_SIZE = 64
FR_PLAN_REASON_SIZE = 32
FR_TIME_INF = 2**63 - 1
FR_TIME_NULL = -2**63
FR_BATCH_MAX = 1000
FR_LIST_LIMIT_MAX = 1000
FR_UTILIZATION_BUCKETS_MAX = 10000

ID = ctypes.c_char * FR_ID_SIZE


class ScheduleEntry(ctypes.Structure):
    _fields_ = [("start_ms", c_int64), ("end_ms", c_int64), ("capacity_milli", c_int64)]


class PoolParams(ctypes.Structure):
    _fields_ = [
        ("set", c_uint32), ("fleet_id", c_char_p), ("name", c_char_p),
        ("resource_type", c_char_p), ("unit", c_char_p), ("site", c_char_p),
        ("labels_json", c_char_p), ("status", c_int), ("total_capacity_milli", c_int64),
        ("schedule", POINTER(ScheduleEntry)), ("schedule_len", c_size_t),
        ("exclusive_per_vehicle", c_int),
    ]


class AllocationParams(ctypes.Structure):
    _fields_ = [
        ("set", c_uint32), ("pool_id", c_char_p), ("fleet_id", c_char_p),
        ("resource_type", c_char_p), ("site", c_char_p), ("vehicle_id", c_char_p),
        ("operation_id", c_char_p), ("allocation_type", c_char_p),
        ("quantity_milli", c_int64), ("start_ms", c_int64), ("end_ms", c_int64),
        ("priority", c_int32), ("status", c_int), ("hold_ms", c_int64),
        ("metadata_json", c_char_p), ("overcommit", c_int),
    ]


class RequestParams(ctypes.Structure):
    _fields_ = [
        ("set", c_uint32), ("fleet_id", c_char_p), ("vehicle_id", c_char_p),
        ("operation_id", c_char_p), ("resource_type", c_char_p), ("pool_id", c_char_p),
        ("site", c_char_p), ("quantity_milli", c_int64), ("duration_ms", c_int64),
        ("earliest_start_ms", c_int64), ("latest_end_ms", c_int64), ("priority", c_int32),
        ("preempt", c_int), ("metadata_json", c_char_p),
    ]


class ConflictParams(ctypes.Structure):
    _fields_ = [
        ("pool_id", c_char_p), ("description", c_char_p), ("start_ms", c_int64),
        ("end_ms", c_int64), ("allocation_ids", POINTER(c_char_p)),
        ("allocation_ids_len", c_size_t),
    ]


class ResolveParams(ctypes.Structure):
    _fields_ = [("strategy", c_int), ("note", c_char_p), ("max_delay_ms", c_int64),
                ("dry_run", c_int)]


class SampleParams(ctypes.Structure):
    _fields_ = [("set", c_uint32), ("pool_id", c_char_p), ("timestamp_ms", c_int64),
                ("used_milli", c_int64), ("source", c_char_p)]


class PlanDemand(ctypes.Structure):
    _fields_ = [
        ("ref", c_char_p), ("resource_type", c_char_p), ("site", c_char_p),
        ("pool_id", ID), ("vehicle_id", c_char_p), ("quantity_milli", c_int64),
        ("duration_ms", c_int64), ("earliest_start_ms", c_int64),
        ("latest_end_ms", c_int64), ("priority", c_int32),
    ]


class PlanCapacityChange(ctypes.Structure):
    _fields_ = [("pool_id", ID), ("start_ms", c_int64), ("end_ms", c_int64),
                ("delta_milli", c_int64)]


class PlanParams(ctypes.Structure):
    _fields_ = [
        ("set", c_uint32), ("fleet_id", c_char_p), ("name", c_char_p),
        ("horizon_start_ms", c_int64), ("horizon_end_ms", c_int64), ("horizon_ms", c_int64),
        ("bucket_ms", c_int64), ("include_pending_requests", c_int),
        ("demands", POINTER(PlanDemand)), ("demands_len", c_size_t),
        ("capacity_changes", POINTER(PlanCapacityChange)), ("capacity_changes_len", c_size_t),
        ("time_budget_ms", c_int64),
    ]


class PlanMiss(ctypes.Structure):
    _fields_ = [("ref", c_char_p), ("request_id", ID), ("pool_id", ID),
                ("reason", ctypes.c_char * FR_PLAN_REASON_SIZE)]


class ListQuery(ctypes.Structure):
    _fields_ = [
        ("limit", c_size_t), ("cursor", c_char_p), ("fleet_id", c_char_p),
        ("pool_id", c_char_p), ("resource_type", c_char_p), ("site", c_char_p),
        ("vehicle_id", c_char_p), ("operation_id", c_char_p), ("request_id", c_char_p),
        ("plan_id", c_char_p), ("allocation_type", c_char_p), ("status", c_int),
        ("type", c_int), ("from_ms", c_int64), ("to_ms", c_int64),
    ]


class Ctx(ctypes.Structure):
    _fields_ = [
        ("actor", c_char_p), ("if_match_version", c_int64), ("may_overcommit", c_int),
        ("may_preempt", c_int), ("idempotency_scope", c_char_p),
        ("idempotency_key", c_char_p), ("idempotency_body_hash", c_uint64),
    ]


class Result(ctypes.Structure):
    _fields_ = [
        ("status", c_int), ("message", ctypes.c_char * 256), ("field", ctypes.c_char * 64),
        ("index", c_int64), ("pool_id", ID), ("at_ms", c_int64),
        ("capacity_milli", c_int64), ("free_milli", c_int64), ("requested_milli", c_int64),
        ("next_fit_start_ms", c_int64), ("conflicting_ids", ID * FR_CONFLICTING_MAX),
        ("conflicting_count", c_size_t), ("vehicle_id", ctypes.c_char * (FR_CLIENT_ID_MAX + 1)),
        ("conflicts_detected", POINTER(ID)), ("conflicts_detected_len", c_size_t),
        ("replayed", c_int),
    ]


ClockFn = ctypes.CFUNCTYPE(c_int64, c_void_p)


class EngineOptions(ctypes.Structure):
    _fields_ = [("clock", ClockFn), ("clock_ctx", c_void_p), ("aging_ms", c_int64),
                ("seed", c_uint64)]


class EngineCounters(ctypes.Structure):
    _fields_ = [("store_commits", c_uint64), ("grouped_calls", c_uint64),
                ("failed_groups", c_uint64)]


class Bucket(ctypes.Structure):
    _fields_ = [("start_ms", c_int64), ("end_ms", c_int64), ("capacity_avg_milli", c_int64),
                ("booked_avg_milli", c_int64), ("booked_peak_milli", c_int64)]


class UtilizationBucket(ctypes.Structure):
    _fields_ = [
        ("start_ms", c_int64), ("end_ms", c_int64), ("capacity_avg_milli", c_int64),
        ("booked_avg_milli", c_int64), ("booked_peak_milli", c_int64),
        ("measured_avg_milli", c_int64), ("measured_count", c_int64),
        ("has_measured", c_int), ("has_utilization", c_int), ("has_efficiency", c_int),
        ("utilization", ctypes.c_double), ("efficiency", ctypes.c_double),
    ]


# Mirrored structs checked against fr_struct_size() when the library loads.
MIRRORED = {
    "fr_schedule_entry": ScheduleEntry, "fr_pool_params": PoolParams,
    "fr_allocation_params": AllocationParams, "fr_request_params": RequestParams,
    "fr_conflict_params": ConflictParams, "fr_resolve_params": ResolveParams,
    "fr_sample_params": SampleParams, "fr_plan_demand": PlanDemand,
    "fr_plan_capacity_change": PlanCapacityChange, "fr_plan_params": PlanParams,
    "fr_plan_miss": PlanMiss, "fr_list_query": ListQuery, "fr_ctx": Ctx,
    "fr_result": Result, "fr_engine_options": EngineOptions, "fr_bucket": Bucket,
    "fr_utilization_bucket": UtilizationBucket,
}
# Entities handled as opaque buffers of fr_struct_size(name) bytes.
ENTITIES = ("pool", "allocation", "request", "conflict", "event", "sample", "plan")

P = c_void_p  # an opaque pointer: engine, entity buffer, entity array
PP = POINTER(c_void_p)
SZ = POINTER(c_size_t)

# name: (restype, argtypes).  Every call the bindings make is declared here.
PROTOTYPES = {
    "fr_errstr": (c_char_p, [c_int]),
    "fr_errcode": (c_char_p, [c_int]),
    "fr_version": (c_char_p, []),
    "fr_time_parse": (c_int, [c_char_p, POINTER(c_int64)]),
    "fr_time_format": (c_size_t, [c_int64, c_char_p, c_size_t]),
    "fr_qty_parse": (c_int, [c_char_p, POINTER(c_int64)]),
    "fr_qty_format": (c_size_t, [c_int64, c_char_p, c_size_t]),
    "fr_pool_status_parse": (c_int, [c_char_p]),
    "fr_allocation_status_parse": (c_int, [c_char_p]),
    "fr_request_status_parse": (c_int, [c_char_p]),
    "fr_conflict_type_parse": (c_int, [c_char_p]),
    "fr_conflict_status_parse": (c_int, [c_char_p]),
    "fr_plan_status_parse": (c_int, [c_char_p]),
    "fr_resolve_strategy_parse": (c_int, [c_char_p]),
    "fr_free": (None, [c_void_p]),
    "fr_result_init": (None, [POINTER(Result)]),
    "fr_result_clear": (None, [POINTER(Result)]),
    "fr_struct_size": (c_size_t, [c_char_p]),
    "fr_list_query_init": (None, [POINTER(ListQuery)]),
    "fr_engine_open": (c_int, [c_char_p, POINTER(EngineOptions), PP, c_char_p, c_size_t]),
    "fr_engine_close": (None, [P]),
    "fr_engine_now": (c_int64, [P]),
    "fr_engine_tick": (c_int, [P]),
    "fr_engine_ping": (c_int, [P]),
    "fr_engine_counters_get": (c_int, [P, POINTER(EngineCounters)]),
    "fr_pool_create": (c_int, [P, POINTER(Ctx), POINTER(PoolParams), P, POINTER(Result)]),
    "fr_pool_update": (c_int, [P, POINTER(Ctx), c_char_p, POINTER(PoolParams), P,
                               POINTER(Result)]),
    "fr_pool_delete": (c_int, [P, POINTER(Ctx), c_char_p, c_int, POINTER(Result)]),
    "fr_pool_get": (c_int, [P, c_char_p, P]),
    "fr_allocation_create": (c_int, [P, POINTER(Ctx), POINTER(AllocationParams), P,
                                     POINTER(Result)]),
    "fr_allocation_create_batch": (c_int, [P, POINTER(Ctx), POINTER(AllocationParams),
                                           c_size_t, P, POINTER(Result)]),
    "fr_allocation_update": (c_int, [P, POINTER(Ctx), c_char_p, POINTER(AllocationParams),
                                     P, POINTER(Result)]),
    "fr_allocation_delete": (c_int, [P, POINTER(Ctx), c_char_p, P, POINTER(Result)]),
    "fr_allocation_get": (c_int, [P, c_char_p, P]),
    "fr_request_create": (c_int, [P, POINTER(Ctx), POINTER(RequestParams), P,
                                  POINTER(Result)]),
    "fr_request_update": (c_int, [P, POINTER(Ctx), c_char_p, POINTER(RequestParams), P,
                                  POINTER(Result)]),
    "fr_request_delete": (c_int, [P, POINTER(Ctx), c_char_p, P, POINTER(Result)]),
    "fr_request_get": (c_int, [P, c_char_p, P]),
    "fr_conflict_create": (c_int, [P, POINTER(Ctx), POINTER(ConflictParams), P,
                                   POINTER(Result)]),
    "fr_conflict_get": (c_int, [P, c_char_p, P]),
    "fr_conflict_resolve": (c_int, [P, POINTER(Ctx), c_char_p, POINTER(ResolveParams), P,
                                    POINTER(Result)]),
    "fr_pool_booked_series": (c_int, [P, c_char_p, c_int64, c_int64, c_int64,
                                      POINTER(Bucket), c_size_t, SZ]),
    "fr_event_list": (c_int, [P, c_int64, c_size_t, c_char_p, PP, SZ]),
    "fr_sample_create": (c_int, [P, POINTER(Ctx), POINTER(SampleParams), P,
                                 POINTER(Result)]),
    "fr_sample_create_batch": (c_int, [P, POINTER(Ctx), POINTER(SampleParams), c_size_t, P,
                                       POINTER(Result)]),
    "fr_pool_utilization": (c_int, [P, c_char_p, c_int64, c_int64, c_int64,
                                    POINTER(UtilizationBucket), c_size_t, SZ,
                                    POINTER(UtilizationBucket)]),
    "fr_plan_create": (c_int, [P, POINTER(Ctx), POINTER(PlanParams), P, POINTER(Result)]),
    "fr_plan_update": (c_int, [P, POINTER(Ctx), c_char_p, POINTER(PlanParams), P,
                               POINTER(Result)]),
    "fr_plan_commit": (c_int, [P, POINTER(Ctx), c_char_p, P, POINTER(POINTER(PlanMiss)), SZ,
                               POINTER(Result)]),
    "fr_plan_discard": (c_int, [P, POINTER(Ctx), c_char_p, P, POINTER(Result)]),
    "fr_plan_delete": (c_int, [P, POINTER(Ctx), c_char_p, POINTER(Result)]),
    "fr_plan_get": (c_int, [P, c_char_p, P]),
    "fr_plan_accuracy": (c_int, [P, POINTER(c_int64), POINTER(c_int64)]),
    "fr_plan_miss_free_array": (None, [POINTER(PlanMiss), c_size_t]),
}
for _e in ENTITIES:
    # fr_<e>_to_json returns malloc'd text: restype stays a raw pointer
    # (c_void_p) so that it can be handed back to fr_free.
    PROTOTYPES["fr_%s_to_json" % _e] = (c_int, [P, PP])
    PROTOTYPES["fr_%s_clear" % _e] = (None, [P])
    PROTOTYPES["fr_%s_free_array" % _e] = (None, [P, c_size_t])
for _e in ("pool", "allocation", "request", "conflict", "sample", "plan"):
    PROTOTYPES["fr_%s_list" % _e] = (c_int, [P, POINTER(ListQuery), PP, SZ, c_char_p])


def _candidates():
    env = os.environ.get("FLEETRES_LIB")
    if env:
        if os.path.isdir(env):
            yield from sorted(glob.glob(os.path.join(env, "libfleetres.so*")))
        else:
            yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in (here, os.path.dirname(here)):
        yield from sorted(glob.glob(os.path.join(folder, "libfleetres.so*")))
    found = ctypes.util.find_library("fleetres")
    if found:
        yield found
    yield "libfleetres.so"


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as exc:
            errors.append("%s: %s" % (path, exc))
    raise ImportError("libfleetres not found (set FLEETRES_LIB to the built "
                      "build/lib/libfleetres.so): " + "; ".join(errors))


def _declare(lib):
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError as exc:
            raise ImportError("libfleetres lacks %s (older library?)" % name) from exc
        fn.restype = restype
        fn.argtypes = argtypes
    for cname, struct in MIRRORED.items():
        size = lib.fr_struct_size(cname.encode())
        if size != ctypes.sizeof(struct):
            raise ImportError("fleetres bindings: %s is %d bytes in the library, %d here"
                              % (cname, size, ctypes.sizeof(struct)))
    sizes = {}
    for entity in ENTITIES:
        sizes[entity] = lib.fr_struct_size(("fr_" + entity).encode())
        if sizes[entity] == 0:
            raise ImportError("fleetres bindings: fr_struct_size(fr_%s) is 0" % entity)
    return sizes


lib = _load()
ENTITY_SIZES = _declare(lib)


def entity_buffer(entity, n=1):
    """A zeroed, 8-byte aligned buffer for n entities of a kind."""
    size = ENTITY_SIZES[entity] * n
    return (c_int64 * ((size + 7) // 8))()
