-- Which plugins each school may use (allowed: operators, until plans decide)
-- and has turned on (enabled: school admins), with its validated settings.
-- Disabling keeps the plugin's data.
CREATE TABLE tenant_plugins (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin TEXT NOT NULL,
    allowed INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 0,
    settings TEXT NOT NULL DEFAULT '{}',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, plugin)
);
