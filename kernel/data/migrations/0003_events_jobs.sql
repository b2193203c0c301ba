-- Durable events and the job queue. Platform-wide tables (no row-level
-- security): the dispatcher and the job workers serve every school, and
-- every row still names its tenant. Rows go away with their tenant.

-- Published events, dispatched in `seq` order (a per-process monotonic
-- microsecond clock). `pending` until every subscriber had it once.
CREATE TABLE platform_events (
    id TEXT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'dispatched')),
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    dispatched_at BIGINT
);
CREATE INDEX platform_events_pending ON platform_events (status, seq);

-- Background jobs. A job is claimed by moving it to `running` with a lease
-- (`locked_until`), renewed by progress reports; an expired lease puts it
-- back in the queue (the worker died). Failed attempts wait with backoff.
CREATE TABLE platform_jobs (
    id TEXT NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'canceled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    unique_key TEXT,
    serial_key TEXT,
    run_at BIGINT NOT NULL,
    locked_until BIGINT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    progress TEXT,
    result TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX platform_jobs_due ON platform_jobs (status, run_at, seq);
CREATE INDEX platform_jobs_tenant ON platform_jobs (tenant_id, created_at, id);
CREATE INDEX platform_jobs_unique ON platform_jobs (tenant_id, unique_key, status);
