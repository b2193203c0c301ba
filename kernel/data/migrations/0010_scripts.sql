-- School scripts (Lua workflows): the current version, every version, the
-- run log, and the schedules the platform's scheduler scans.
CREATE TABLE scripts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    version INTEGER NOT NULL,
    source TEXT NOT NULL,
    settings TEXT NOT NULL,
    workflow TEXT,
    triggers TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE script_versions (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    script_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    source TEXT NOT NULL,
    settings TEXT NOT NULL,
    author_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, script_id, version),
    FOREIGN KEY (tenant_id, script_id) REFERENCES scripts (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE script_runs (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    script_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    trigger_kind TEXT NOT NULL,
    trigger_key TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status TEXT NOT NULL,
    duration_us BIGINT NOT NULL,
    instructions BIGINT NOT NULL,
    memory_peak BIGINT NOT NULL,
    error TEXT,
    line INTEGER,
    at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX script_runs_recent ON script_runs (tenant_id, script_id, at, id);

-- Every cron trigger of an enabled script, for the platform's scheduler
-- (platform-wide: it scans all schools). last_minute claims a minute once.
CREATE TABLE platform_script_schedules (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    script_id TEXT NOT NULL,
    cron TEXT NOT NULL,
    last_minute BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, script_id, cron)
);
