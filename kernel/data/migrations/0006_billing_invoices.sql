-- Ardoise's own invoices to schools, their lines and the payments received
-- (Stripe or manual: bank transfer, mobile money at the office, cash,
-- cheque). Platform-wide (no row-level security): operators write them.
-- Amounts in the currency's minor unit (XOF has none).

-- Named counters of the platform; 'invoice' numbers invoices without gaps.
CREATE TABLE platform_sequences (
    name TEXT NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO platform_sequences (name, value) VALUES ('invoice', 0);

CREATE TABLE platform_invoices (
    id TEXT NOT NULL PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'void')),
    subtotal_minor BIGINT NOT NULL CHECK (subtotal_minor >= 0),
    tax_minor BIGINT NOT NULL CHECK (tax_minor >= 0),
    total_minor BIGINT NOT NULL CHECK (total_minor >= 0),
    amount_paid_minor BIGINT NOT NULL DEFAULT 0 CHECK (amount_paid_minor >= 0),
    period_start BIGINT,
    period_end BIGINT,
    issued_at BIGINT NOT NULL,
    due_at BIGINT,
    paid_at BIGINT,
    created_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX platform_invoices_tenant ON platform_invoices (tenant_id, issued_at);

-- tax_rate_bp: basis points (1800 = 18 %); tax = round(amount × rate).
CREATE TABLE platform_invoice_lines (
    invoice_id TEXT NOT NULL REFERENCES platform_invoices (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit_amount_minor BIGINT NOT NULL CHECK (unit_amount_minor >= 0),
    amount_minor BIGINT NOT NULL,
    tax_rate_bp INTEGER NOT NULL DEFAULT 0,
    tax_minor BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

-- A (method, reference) pair is recorded once: the same bank transfer or
-- mobile money transaction entered twice is refused.
CREATE TABLE platform_payments (
    id TEXT NOT NULL PRIMARY KEY,
    invoice_id TEXT NOT NULL REFERENCES platform_invoices (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    method TEXT NOT NULL CHECK (method IN ('bank_transfer', 'mobile_money', 'cash', 'cheque')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    reference TEXT NOT NULL,
    note TEXT,
    received_at BIGINT NOT NULL,
    recorded_by TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (method, reference)
);
CREATE INDEX platform_payments_invoice ON platform_payments (invoice_id, created_at);
