-- Timetables per term. The model (teachers, subjects, student sets, rooms,
-- activities, other constraints) is one table of typed JSON documents per
-- term: each kind has its JSON Schema in src/model.cpp. School ids
-- (staff, classes, subjects, rooms) are referenced inside the documents.
CREATE TABLE timetable_terms (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE timetable_items (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    term_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, term_id, kind, name),
    FOREIGN KEY (tenant_id, term_id) REFERENCES timetable_terms (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE timetable_timetables (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    term_id TEXT NOT NULL,
    run_id TEXT,
    status TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    published_us BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES timetable_terms (tenant_id, id) ON DELETE CASCADE
);

-- One row per lesson (an activity split in N lessons a week has N rows).
CREATE TABLE timetable_lessons (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    timetable_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    lesson INTEGER NOT NULL,
    day INTEGER NOT NULL,
    period INTEGER NOT NULL,
    room TEXT NOT NULL,
    locked INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, timetable_id, activity_id, lesson),
    FOREIGN KEY (tenant_id, timetable_id) REFERENCES timetable_timetables (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE timetable_runs (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    term_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    progress TEXT NOT NULL,
    result TEXT NOT NULL,
    cancel_requested INTEGER NOT NULL,
    timetable_id TEXT,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, term_id) REFERENCES timetable_terms (tenant_id, id) ON DELETE CASCADE
);

-- A dated change of one lesson: a substitute teaches it instead of an absent teacher.
CREATE TABLE timetable_overrides (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    timetable_id TEXT NOT NULL,
    on_date TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    lesson INTEGER NOT NULL,
    absent_id TEXT NOT NULL,
    substitute_id TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, timetable_id, on_date, activity_id, lesson, absent_id),
    FOREIGN KEY (tenant_id, timetable_id) REFERENCES timetable_timetables (tenant_id, id) ON DELETE CASCADE
);

-- iCalendar subscriptions: the secret in the URL is the only credential.
CREATE TABLE timetable_feeds (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    secret TEXT NOT NULL,
    user_id TEXT NOT NULL,
    term_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, secret),
    FOREIGN KEY (tenant_id, term_id) REFERENCES timetable_terms (tenant_id, id) ON DELETE CASCADE
);
