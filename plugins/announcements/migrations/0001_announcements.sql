-- Announcements of a school and who read them. `audience_roles` is a
-- comma-separated list of roles (",parent,student,"), or "" for everyone.
CREATE TABLE announcements_items (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    audience_roles TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    posted_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- Newest first by posted_us (microseconds): two announcements of one second keep their order.
CREATE INDEX announcements_items_recent ON announcements_items (tenant_id, posted_us, id);

CREATE TABLE announcements_receipts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    announcement_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, announcement_id, user_id),
    FOREIGN KEY (tenant_id, announcement_id) REFERENCES announcements_items (tenant_id, id) ON DELETE CASCADE
);
