-- The @name@ plugin's first table. Rules: the table name starts with
-- "@name@_"; tenant_id comes first in the primary key and in every unique
-- and foreign key; it references tenants (id) ON DELETE CASCADE. Never edit
-- this file once shipped: add 0002_what.sql instead.
CREATE TABLE @name@_items (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
