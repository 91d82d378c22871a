-- 0001: the core schema of fleetres on PostgreSQL (docs/storage.md).
--
-- Each entity is one row: real columns for what SQL filters and checks
-- (fleet, pool, status, quantity, time range) and `doc`, the entity as the
-- codec's JSON, which is what the service loads.  doc is `json`, not
-- `jsonb`: jsonb reorders object keys, and labels/metadata are client data
-- that must come back exactly as given (the JSON operators work on both).  Quantities are exact
-- numerics (quantity) next to the engine's integer thousandths; times are
-- timestamptz with millisecond precision; an open end is NULL.
CREATE SCHEMA IF NOT EXISTS fleet_resources;

CREATE TABLE fleet_resources.resource_pools (
    id text PRIMARY KEY,
    fleet_id text NOT NULL,
    name text,
    resource_type text NOT NULL,
    site text,
    status text NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    total_capacity numeric NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    doc json NOT NULL
);
CREATE INDEX resource_pools_by_created ON fleet_resources.resource_pools (created_at, id);
CREATE INDEX resource_pools_by_fleet ON fleet_resources.resource_pools (fleet_id, resource_type);

CREATE TABLE fleet_resources.resource_allocations (
    id text PRIMARY KEY,
    fleet_id text NOT NULL,
    pool_id text NOT NULL,
    vehicle_id text,
    request_id text,
    status text NOT NULL,
    quantity numeric NOT NULL CHECK (quantity >= 0),
    start_at timestamptz NOT NULL,
    end_at timestamptz,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    doc json NOT NULL,
    CHECK (end_at IS NULL OR end_at >= start_at)
);
CREATE INDEX resource_allocations_by_created
    ON fleet_resources.resource_allocations (created_at, id);
CREATE INDEX resource_allocations_by_pool
    ON fleet_resources.resource_allocations (pool_id, status, start_at);

CREATE TABLE fleet_resources.resource_requests (
    id text PRIMARY KEY,
    fleet_id text NOT NULL,
    resource_type text NOT NULL,
    status text NOT NULL,
    priority integer NOT NULL,
    quantity numeric NOT NULL,
    allocation_id text,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    doc json NOT NULL
);
CREATE INDEX resource_requests_by_created ON fleet_resources.resource_requests (created_at, id);
CREATE INDEX resource_requests_by_status
    ON fleet_resources.resource_requests (fleet_id, resource_type, status);

CREATE TABLE fleet_resources.resource_conflicts (
    id text PRIMARY KEY,
    fleet_id text NOT NULL,
    pool_id text,
    type text NOT NULL,
    status text NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    doc json NOT NULL
);
CREATE INDEX resource_conflicts_by_created ON fleet_resources.resource_conflicts (created_at, id);

-- The event log is the replication stream between instances: seq is
-- assigned under the writer lock, so it is gap-free and in commit order.
-- data is kept as text, byte for byte what the engine wrote.
CREATE TABLE fleet_resources.events (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    id text NOT NULL,
    type text NOT NULL,
    entity_type text NOT NULL,
    entity_id text,
    fleet_id text,
    occurred_at_ms bigint NOT NULL,
    actor text,
    data text
);
CREATE INDEX events_by_fleet ON fleet_resources.events (fleet_id, seq);

CREATE TABLE fleet_resources.idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    created_at timestamptz NOT NULL,
    doc text NOT NULL,
    PRIMARY KEY (scope, key)
);

-- One row: the highest committed event seq.  Its row lock is the writer
-- lock every instance takes at the start of a write transaction.
CREATE TABLE fleet_resources.head (
    id integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL CHECK (seq >= 0)
);
INSERT INTO fleet_resources.head (id, seq) VALUES (1, 0);

-- Milliseconds since the epoch as a timestamptz, exactly.
CREATE FUNCTION fleet_resources.ms_to_ts(ms bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT timestamptz 'epoch' + ms * interval '1 millisecond' $$;
