-- Usage metering per school and period (kernel/billing/usage_service.hpp).
-- Platform-wide like platform_subscriptions (no row-level security): the
-- billing sweep and operators read and write it with no tenant bound.
-- Gauges (students, staff, storage_mb) are running totals under the period
-- 'total'; counters (sms, api_calls) count per month, period 'YYYY-MM' (UTC).
CREATE TABLE platform_usage (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    period TEXT NOT NULL,
    metric TEXT NOT NULL,
    amount BIGINT NOT NULL DEFAULT 0 CHECK (amount >= 0),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, period, metric)
);
