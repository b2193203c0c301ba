-- The school core: years and terms, subjects, rooms, staff, students,
-- guardians, classes, enrollments and custom field definitions.
-- Conventions: ids are 20-character base32 text from newId(); dates are ISO
-- 'YYYY-MM-DD' text; times are BIGINT Unix seconds; `custom` holds the
-- values of custom fields as a JSON object; `source_id` is the OneRoster
-- sourcedId an object was imported with (NULL when created here);
-- `search_key` is the folded name (lower-case, Latin accents stripped) that
-- name search and ordering use.
CREATE TABLE school_years (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    status TEXT NOT NULL,
    source_id TEXT,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_id)
);

CREATE TABLE school_terms (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    year_id TEXT NOT NULL,
    name TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    source_id TEXT,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_id),
    FOREIGN KEY (tenant_id, year_id) REFERENCES school_years (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX school_terms_dates ON school_terms (tenant_id, starts_on, ends_on);

CREATE TABLE school_subjects (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    colour TEXT,
    source_id TEXT,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code),
    UNIQUE (tenant_id, source_id)
);

CREATE TABLE school_rooms (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    capacity BIGINT,
    source_id TEXT,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_id)
);

CREATE TABLE school_staff (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    number TEXT,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL,
    subject_ids TEXT NOT NULL,
    user_id TEXT,
    custom TEXT NOT NULL,
    source_id TEXT,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_id)
);
CREATE INDEX school_staff_user ON school_staff (tenant_id, user_id);
CREATE INDEX school_staff_search ON school_staff (tenant_id, search_key, id);

CREATE TABLE school_students (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    number TEXT,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    birth_date TEXT,
    sex TEXT,
    email TEXT,
    status TEXT NOT NULL,
    user_id TEXT,
    custom TEXT NOT NULL,
    source_id TEXT,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    UNIQUE (tenant_id, source_id)
);
CREATE INDEX school_students_user ON school_students (tenant_id, user_id);
CREATE INDEX school_students_search ON school_students (tenant_id, search_key, id);

CREATE TABLE school_guardians (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    user_id TEXT,
    custom TEXT NOT NULL,
    source_id TEXT,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_id)
);
CREATE INDEX school_guardians_user ON school_guardians (tenant_id, user_id);
CREATE INDEX school_guardians_search ON school_guardians (tenant_id, search_key, id);

CREATE TABLE school_student_guardians (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    student_id TEXT NOT NULL,
    guardian_id TEXT NOT NULL,
    relationship TEXT NOT NULL,
    PRIMARY KEY (tenant_id, student_id, guardian_id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES school_students (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, guardian_id) REFERENCES school_guardians (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX school_student_guardians_guardian ON school_student_guardians (tenant_id, guardian_id);

CREATE TABLE school_classes (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    year_id TEXT NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    section TEXT,
    homeroom_staff_id TEXT,
    room_id TEXT,
    capacity BIGINT,
    custom TEXT NOT NULL,
    source_id TEXT,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_id),
    FOREIGN KEY (tenant_id, year_id) REFERENCES school_years (tenant_id, id),
    FOREIGN KEY (tenant_id, homeroom_staff_id) REFERENCES school_staff (tenant_id, id),
    FOREIGN KEY (tenant_id, room_id) REFERENCES school_rooms (tenant_id, id)
);
CREATE INDEX school_classes_homeroom ON school_classes (tenant_id, homeroom_staff_id);

-- Teachers of a class other than its homeroom teacher (OneRoster teacher enrollments).
CREATE TABLE school_class_teachers (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    class_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    source_id TEXT,
    PRIMARY KEY (tenant_id, class_id, staff_id),
    FOREIGN KEY (tenant_id, class_id) REFERENCES school_classes (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, staff_id) REFERENCES school_staff (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX school_class_teachers_staff ON school_class_teachers (tenant_id, staff_id);

CREATE TABLE school_enrollments (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    student_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    year_id TEXT NOT NULL,
    starts_on TEXT,
    ends_on TEXT,
    source_id TEXT,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, student_id, class_id),
    UNIQUE (tenant_id, source_id),
    FOREIGN KEY (tenant_id, student_id) REFERENCES school_students (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, class_id) REFERENCES school_classes (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, year_id) REFERENCES school_years (tenant_id, id)
);
CREATE INDEX school_enrollments_class ON school_enrollments (tenant_id, class_id);

-- Typed custom fields: entity is student, guardian, staff or class; type is
-- text, integer, date, boolean or enum (with `options`, a JSON array).
CREATE TABLE school_fields (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    entity TEXT NOT NULL,
    field_key TEXT NOT NULL,
    label TEXT NOT NULL,
    type TEXT NOT NULL,
    options TEXT NOT NULL,
    required BIGINT NOT NULL,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, entity, field_key)
);

-- The OneRoster org the school was imported as (at most one row per school).
CREATE TABLE school_orgs (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    identifier TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source_id)
);

-- OneRoster files waiting for their import job.
CREATE TABLE school_uploads (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    files TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
