-- Billing: plans sold by the platform, each school's subscription, and the
-- Stripe events received. Platform-wide tables (platform_*, no row-level
-- security): operators and the Stripe webhook act with no tenant.
-- Amounts are integers in the currency's minor unit (XOF has none).

CREATE TABLE platform_plans (
    code TEXT NOT NULL PRIMARY KEY,
    name_fr TEXT NOT NULL,
    name_en TEXT NOT NULL,
    trial_days INTEGER NOT NULL DEFAULT 0,
    -- Limits; NULL is unlimited.
    limit_students BIGINT,
    limit_staff BIGINT,
    limit_storage_mb BIGINT,
    limit_sms_per_month BIGINT,
    limit_api_requests_per_minute BIGINT,
    limit_script_instruction_budget BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One price per currency and interval; per_student = 1 multiplies the amount
-- by the school's students.
CREATE TABLE platform_plan_prices (
    plan_code TEXT NOT NULL REFERENCES platform_plans (code) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    billing_interval TEXT NOT NULL CHECK (billing_interval IN ('month', 'year')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    per_student INTEGER NOT NULL DEFAULT 0,
    stripe_price_id TEXT,
    PRIMARY KEY (plan_code, currency, billing_interval)
);

-- Feature keys a plan includes (plugin names among them).
CREATE TABLE platform_plan_features (
    plan_code TEXT NOT NULL REFERENCES platform_plans (code) ON DELETE CASCADE,
    feature TEXT NOT NULL,
    PRIMARY KEY (plan_code, feature)
);
CREATE INDEX platform_plan_features_feature ON platform_plan_features (feature);

-- Each school's plan and subscription state. state_event_created and
-- state_period_start order the Stripe events applied, so an older event never
-- overwrites a newer state.
CREATE TABLE platform_subscriptions (
    tenant_id TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    plan_code TEXT NOT NULL REFERENCES platform_plans (code),
    currency TEXT NOT NULL,
    billing_interval TEXT NOT NULL CHECK (billing_interval IN ('month', 'year')),
    status TEXT NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'suspended', 'canceled', 'incomplete')),
    trial_ends_at BIGINT,
    current_period_end BIGINT,
    cancel_at_period_end INTEGER NOT NULL DEFAULT 0,
    past_due_since BIGINT,
    stripe_customer_id TEXT UNIQUE,
    stripe_subscription_id TEXT UNIQUE,
    state_event_id TEXT,
    state_event_created BIGINT NOT NULL DEFAULT 0,
    state_period_start BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The last known state of each Stripe invoice: 'paid' is final, so a
-- payment_failed delivered after the invoice was paid changes nothing.
CREATE TABLE platform_stripe_invoices (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    stripe_subscription_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('paid', 'failed')),
    event_created BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Stripe events as received (raw body), once per event id: a redelivery is a
-- no-op. processed_at is set when the event has been applied.
CREATE TABLE platform_stripe_events (
    id TEXT NOT NULL PRIMARY KEY,
    type TEXT NOT NULL,
    created BIGINT NOT NULL,
    livemode INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    processed_at BIGINT,
    outcome TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX platform_stripe_events_pending ON platform_stripe_events (processed_at, received_at);
