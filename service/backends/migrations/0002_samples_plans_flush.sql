-- 0002: utilization samples, plans, and the flush slots of group commit.
CREATE TABLE fleet_resources.resource_utilization (
    id text PRIMARY KEY,
    pool_id text NOT NULL,
    fleet_id text NOT NULL,
    sampled_at timestamptz NOT NULL,
    used numeric NOT NULL CHECK (used >= 0),
    capacity numeric,
    source text,
    created_at timestamptz NOT NULL,
    doc json NOT NULL
);
CREATE INDEX resource_utilization_by_pool_time
    ON fleet_resources.resource_utilization (pool_id, sampled_at);
CREATE INDEX resource_utilization_by_created
    ON fleet_resources.resource_utilization (created_at, id);

-- Plans (SPEC section 7) arrive with storage methods version 5; the table is here
-- so that their put is a small addition.
CREATE TABLE fleet_resources.resource_planning (
    id text PRIMARY KEY,
    fleet_id text NOT NULL,
    status text NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    doc json NOT NULL
);
CREATE INDEX resource_planning_by_created ON fleet_resources.resource_planning (created_at, id);

-- Group commit: a write transaction commits asynchronously under the writer
-- lock; `sync` then commits a tiny synchronous update of its connection's
-- slot, whose WAL flush covers every earlier commit.  One row per slot so
-- concurrent flushes never wait on each other's row lock.
CREATE TABLE fleet_resources.flush_slots (
    slot integer PRIMARY KEY,
    n bigint NOT NULL DEFAULT 0
);
INSERT INTO fleet_resources.flush_slots (slot) SELECT generate_series(0, 255);
