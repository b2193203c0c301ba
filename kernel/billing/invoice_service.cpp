#include "kernel/billing/invoice_service.hpp"

#include <ardoise/money.hpp>

#include <cstdio>
#include <ctime>
#include <map>

#include "kernel/billing/billing_events.hpp"
#include "kernel/data/ids.hpp"

namespace ardoise::kernel::billing {
namespace {

using nlohmann::json;

json formatted(std::int64_t minor, const std::string& currency) {
    const Money m{minor, currency};
    return {{"fr", formatMoney(m, "fr")}, {"en", formatMoney(m, "en")}};
}

Status invoiceNotFound(const std::string& id) {
    // The same answer for another school's invoice as for a missing one.
    (void)id;
    return Status(Code::kNotFound, "invoice-not-found", "No such invoice.");
}

/// round(amount × bp / 10000), half up (amounts are never negative).
std::int64_t taxOf(std::int64_t amount, std::int64_t bp) { return (amount * bp + 5000) / 10000; }

std::string yearOf(std::int64_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    return std::to_string(tm.tm_year + 1900);
}

json readInvoice(data::Connection& c, const data::Row& r) {
    const std::string id = r.text("id");
    const std::string currency = r.text("currency");
    json lines = json::array();
    for (const auto& l : c.query("SELECT * FROM platform_invoice_lines WHERE invoice_id = ? ORDER BY position", {id})) {
        lines.push_back({{"description", l.text("description")},
                         {"quantity", l.integer("quantity")},
                         {"unit_amount", l.integer("unit_amount_minor")},
                         {"amount", l.integer("amount_minor")},
                         {"tax_rate_bp", l.integer("tax_rate_bp")},
                         {"tax", l.integer("tax_minor")}});
    }
    json payments = json::array();
    for (const auto& p : c.query("SELECT * FROM platform_payments WHERE invoice_id = ? ORDER BY created_at, id", {id})) {
        payments.push_back({{"id", p.text("id")},
                            {"method", p.text("method")},
                            {"amount", p.integer("amount_minor")},
                            {"reference", p.text("reference")},
                            {"note", p.isNull("note") ? json(nullptr) : json(p.text("note"))},
                            {"received_at", p.integer("received_at")}});
    }
    auto optional = [&](const char* column) { return r.isNull(column) ? json(nullptr) : json(r.integer(column)); };
    const std::int64_t total = r.integer("total_minor");
    const std::int64_t paid = r.integer("amount_paid_minor");
    return {{"id", id},
            {"number", r.text("number")},
            {"tenant_id", r.text("tenant_id")},
            {"currency", currency},
            {"status", r.text("status")},
            {"lines", lines},
            {"subtotal", r.integer("subtotal_minor")},
            {"tax", r.integer("tax_minor")},
            {"total", total},
            {"amount_paid", paid},
            {"balance", total - paid},
            {"formatted", {{"total", formatted(total, currency)}, {"balance", formatted(total - paid, currency)}}},
            {"period_start", optional("period_start")},
            {"period_end", optional("period_end")},
            {"issued_at", r.integer("issued_at")},
            {"due_at", optional("due_at")},
            {"paid_at", optional("paid_at")},
            {"payments", payments}};
}

}  // namespace

const json& InvoiceService::createSchema() {
    static const json schema = {
        {"type", "object"},
        {"additionalProperties", false},
        {"required", {"lines"}},
        {"properties",
         {{"currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}},
          {"due_days", {{"type", "integer"}, {"minimum", 0}, {"maximum", 365}}},
          {"period_start", {{"type", "integer"}, {"minimum", 0}}},
          {"period_end", {{"type", "integer"}, {"minimum", 0}}},
          {"lines",
           {{"type", "array"},
            {"minItems", 1},
            {"maxItems", 100},
            {"items",
             {{"type", "object"},
              {"additionalProperties", false},
              {"required", {"description", "unit_amount"}},
              {"properties",
               {{"description", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}},
                {"quantity", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000000}}},
                {"unit_amount",
                 {{"type", "integer"}, {"minimum", 0}, {"maximum", 1000000000000LL},
                  {"description", "in the currency's minor unit"}}},
                {"tax_rate_bp", {{"type", "integer"}, {"minimum", 0}, {"maximum", 10000},
                                 {"description", "basis points: 1800 = 18 %"}}}}}}}}}}}};
    return schema;
}

const json& InvoiceService::paymentSchema() {
    static const json schema = {
        {"type", "object"},
        {"additionalProperties", false},
        {"required", {"method", "amount", "reference"}},
        {"properties",
         {{"method", {{"type", "string"}, {"enum", {"bank_transfer", "mobile_money", "cash", "cheque"}}}},
          {"amount", {{"type", "integer"}, {"minimum", 1}, {"description", "in the currency's minor unit"}}},
          {"currency", {{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}},
          {"reference", {{"type", "string"}, {"minLength", 1}, {"maxLength", 100}}},
          {"note", {{"type", "string"}, {"maxLength", 500}}},
          {"received_at", {{"type", "integer"}, {"minimum", 0}}}}}};
    return schema;
}

const json& InvoiceService::invoiceSchema() {
    static const json schema = {{"type", "object"},
                                {"properties",
                                 {{"id", {{"type", "string"}}},
                                  {"number", {{"type", "string"}}},
                                  {"tenant_id", {{"type", "string"}}},
                                  {"currency", {{"type", "string"}}},
                                  {"status", {{"type", "string"}, {"enum", {"open", "paid", "void"}}}},
                                  {"lines", {{"type", "array"}}},
                                  {"subtotal", {{"type", "integer"}}},
                                  {"tax", {{"type", "integer"}}},
                                  {"total", {{"type", "integer"}}},
                                  {"amount_paid", {{"type", "integer"}}},
                                  {"balance", {{"type", "integer"}}},
                                  {"formatted", {{"type", "object"}}},
                                  {"payments", {{"type", "array"}}}}}};
    return schema;
}

Result<json> InvoiceService::create(const std::string& tenantId, const std::string& tenantCurrency, const json& input,
                                    const std::string& actorId) {
    const std::string currency = input.value("currency", tenantCurrency);
    if (input.contains("period_start") && input.contains("period_end") &&
        input["period_end"].get<std::int64_t>() < input["period_start"].get<std::int64_t>()) {
        return Status(Code::kInvalidArgument, "validation", "The period ends before it starts.")
            .addField({"/period_end", "before-start", "is before period_start"});
    }
    std::int64_t subtotal = 0;
    std::int64_t tax = 0;
    struct Line {
        std::string description;
        std::int64_t quantity, unit, amount, bp, tax;
    };
    std::vector<Line> lines;
    for (const auto& l : input["lines"]) {
        Line line{l["description"], l.value("quantity", std::int64_t{1}), l["unit_amount"], 0,
                  l.value("tax_rate_bp", std::int64_t{0}), 0};
        line.amount = line.quantity * line.unit;
        line.tax = taxOf(line.amount, line.bp);
        subtotal += line.amount;
        tax += line.tax;
        lines.push_back(std::move(line));
    }
    const auto now = data::nowSeconds();
    const std::string id = data::newId();
    auto lease = db_.acquire();
    data::Transaction tx(*lease);
    lease->exec("UPDATE platform_sequences SET value = value + 1 WHERE name = 'invoice'");
    const std::int64_t seq = lease->queryOne("SELECT value FROM platform_sequences WHERE name = 'invoice'")->integer("value");
    char number[48];
    std::snprintf(number, sizeof number, "ARD-%s-%06lld", yearOf(now).c_str(), static_cast<long long>(seq));
    lease->exec("INSERT INTO platform_invoices (id, number, tenant_id, currency, status, subtotal_minor, tax_minor, "
                "total_minor, period_start, period_end, issued_at, due_at, created_by, created_at) "
                "VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                {id, std::string(number), tenantId, currency, subtotal, tax, subtotal + tax,
                 input.contains("period_start") ? data::Value(input["period_start"].get<std::int64_t>()) : data::null(),
                 input.contains("period_end") ? data::Value(input["period_end"].get<std::int64_t>()) : data::null(), now,
                 data::Value(now + input.value("due_days", std::int64_t{30}) * 86400),
                 actorId.empty() ? data::null() : data::Value(actorId), now});
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& l = lines[i];
        lease->exec("INSERT INTO platform_invoice_lines (invoice_id, position, description, quantity, unit_amount_minor, "
                    "amount_minor, tax_rate_bp, tax_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    {id, static_cast<std::int64_t>(i + 1), l.description, l.quantity, l.unit, l.amount, l.bp, l.tax});
    }
    recordBillingFact(*lease, tenantId, "invoice.issued",
                      {{"invoice_id", id}, {"number", number}, {"total", subtotal + tax}, {"currency", currency}}, actorId);
    auto row = lease->queryOne("SELECT * FROM platform_invoices WHERE id = ?", {id});
    json result = readInvoice(*lease, *row);
    tx.commit();
    return result;
}

Result<json> InvoiceService::get(const std::string& invoiceId, const std::string& tenantId) {
    auto lease = db_.acquire();
    auto row = lease->queryOne("SELECT * FROM platform_invoices WHERE id = ?", {invoiceId});
    if (!row || (!tenantId.empty() && row->text("tenant_id") != tenantId)) {
        return invoiceNotFound(invoiceId);
    }
    return readInvoice(*lease, *row);
}

json InvoiceService::list(const std::string& tenantId) {
    auto lease = db_.acquire();
    json items = json::array();
    for (const auto& r :
         lease->query("SELECT * FROM platform_invoices WHERE tenant_id = ? ORDER BY issued_at DESC, number DESC", {tenantId})) {
        items.push_back(readInvoice(*lease, r));
    }
    return {{"items", items}};
}

Result<json> InvoiceService::recordPayment(const std::string& invoiceId, const json& input, const std::string& actorId) {
    auto lease = db_.acquire();
    data::Transaction tx(*lease);
    const std::string lock = lease->dialect() == data::Dialect::kPostgres ? " FOR UPDATE" : "";
    auto invoice = lease->queryOne("SELECT * FROM platform_invoices WHERE id = ?" + lock, {invoiceId});
    if (!invoice) {
        return invoiceNotFound(invoiceId);
    }
    if (invoice->text("status") != "open") {
        return Status(Code::kFailedPrecondition, "invoice-not-open",
                      "The invoice " + invoice->text("number") + " is " + invoice->text("status") + ".")
            .addExtra("number", invoice->text("number"))
            .addExtra("invoice_status", invoice->text("status"));
    }
    const std::string currency = invoice->text("currency");
    if (input.contains("currency") && input["currency"] != currency) {
        return Status(Code::kInvalidArgument, "validation", "The invoice is in " + currency + ".")
            .addField({"/currency", "currency-mismatch", "must be the invoice's currency, " + currency});
    }
    const std::int64_t amount = input["amount"];
    const std::int64_t balance = invoice->integer("total_minor") - invoice->integer("amount_paid_minor");
    if (amount > balance) {
        return Status(Code::kInvalidArgument, "validation",
                      "The amount exceeds the balance of " + formatMoney({balance, currency}, "en") + ".")
            .addField({"/amount", "exceeds-balance", "is more than the balance, " + std::to_string(balance)});
    }
    const std::string method = input["method"];
    const std::string reference = input["reference"];
    if (lease->queryOne("SELECT id FROM platform_payments WHERE method = ? AND reference = ?", {method, reference})) {
        return Status(Code::kConflict, "payment-duplicate",
                      "A " + method + " payment with the reference " + reference + " is already recorded.")
            .addExtra("reference", reference);
    }
    const auto now = data::nowSeconds();
    const std::string tenantId = invoice->text("tenant_id");
    const std::string paymentId = data::newId();
    lease->exec("INSERT INTO platform_payments (id, invoice_id, tenant_id, method, amount_minor, currency, reference, note, "
                "received_at, recorded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                {paymentId, invoiceId, tenantId, method, amount, currency, reference,
                 input.contains("note") ? data::Value(input["note"].get<std::string>()) : data::null(),
                 input.value("received_at", now), actorId.empty() ? data::null() : data::Value(actorId), now});
    const bool paidInFull = amount == balance;
    lease->exec("UPDATE platform_invoices SET amount_paid_minor = amount_paid_minor + ?, status = ?, paid_at = ? "
                "WHERE id = ?",
                {amount, std::string(paidInFull ? "paid" : "open"), paidInFull ? data::Value(now) : data::null(),
                 invoiceId});
    const json fact = {{"invoice_id", invoiceId}, {"number", invoice->text("number")}, {"payment_id", paymentId},
                       {"method", method},        {"amount", amount},                   {"currency", currency},
                       {"reference", reference}};
    recordBillingFact(*lease, tenantId, "payment.recorded", fact, actorId);
    if (paidInFull) {
        recordBillingFact(*lease, tenantId, "invoice.paid", fact, actorId);
        auto sub = lease->queryOne("SELECT status, plan_code FROM platform_subscriptions WHERE tenant_id = ?" + lock,
                                   {tenantId});
        if (sub && (sub->text("status") == "past_due" || sub->text("status") == "suspended")) {
            lease->exec("UPDATE platform_subscriptions SET status = 'active', past_due_since = NULL, updated_at = ? "
                        "WHERE tenant_id = ?",
                        {now, tenantId});
            recordTransition(*lease, tenantId, sub->text("status"), "active",
                             {{"plan", sub->text("plan_code")},
                              {"cause", "manual-payment"},
                              {"invoice_id", invoiceId},
                              {"payment_id", paymentId},
                              {"actor_id", actorId}});
        }
    }
    auto row = lease->queryOne("SELECT * FROM platform_invoices WHERE id = ?", {invoiceId});
    json result = readInvoice(*lease, *row);
    tx.commit();
    return result;
}

json InvoiceService::report() {
    auto lease = db_.acquire();
    json byStatus = json::object();
    for (const auto& r : lease->query("SELECT status, COUNT(*) AS n FROM platform_subscriptions GROUP BY status "
                                      "ORDER BY status")) {
        byStatus[r.text("status")] = r.integer("n");
    }
    byStatus["no_plan"] = lease
                              ->queryOne("SELECT COUNT(*) AS n FROM tenants t WHERE t.status <> 'deleted' AND NOT EXISTS "
                                         "(SELECT 1 FROM platform_subscriptions s WHERE s.tenant_id = t.id)")
                              ->integer("n");
    struct Mrr {
        std::int64_t amount = 0;
        std::int64_t subscriptions = 0;
    };
    std::map<std::string, Mrr> mrr;
    for (const auto& r : lease->query(
             "SELECT s.tenant_id, s.currency, s.billing_interval, p.amount_minor, p.per_student, "
             "COALESCE(u.amount, 0) AS students FROM platform_subscriptions s "
             "JOIN platform_plan_prices p ON p.plan_code = s.plan_code AND p.currency = s.currency "
             "AND p.billing_interval = s.billing_interval "
             "LEFT JOIN platform_usage u ON u.tenant_id = s.tenant_id AND u.period = 'total' AND u.metric = 'students' "
             "WHERE s.status IN ('active', 'past_due')")) {
        std::int64_t amount = r.integer("amount_minor") * (r.integer("per_student") != 0 ? r.integer("students") : 1);
        if (r.text("billing_interval") == "year") {
            amount = (amount + 6) / 12;
        }
        auto& m = mrr[r.text("currency")];
        m.amount += amount;
        ++m.subscriptions;
    }
    json mrrJson = json::array();
    for (const auto& [currency, m] : mrr) {
        mrrJson.push_back({{"currency", currency},
                           {"amount", m.amount},
                           {"formatted", formatted(m.amount, currency)},
                           {"subscriptions", m.subscriptions}});
    }
    json failed = json::array();
    for (const auto& r : lease->query(
             "SELECT i.id, i.tenant_id, t.slug, i.event_created, s.status FROM platform_stripe_invoices i "
             "JOIN tenants t ON t.id = i.tenant_id LEFT JOIN platform_subscriptions s ON s.tenant_id = i.tenant_id "
             "WHERE i.status = 'failed' ORDER BY i.event_created DESC LIMIT 200")) {
        failed.push_back({{"tenant_id", r.text("tenant_id")},
                          {"slug", r.text("slug")},
                          {"stripe_invoice_id", r.text("id")},
                          {"failed_at", r.integer("event_created")},
                          {"subscription_status", r.text("status")}});
    }
    json overdue = json::array();
    for (const auto& r : lease->query(
             "SELECT i.id, i.number, i.tenant_id, t.slug, i.currency, i.total_minor - i.amount_paid_minor AS balance, "
             "i.due_at FROM platform_invoices i JOIN tenants t ON t.id = i.tenant_id "
             "WHERE i.status = 'open' AND i.due_at < ? ORDER BY i.due_at LIMIT 200",
             {data::nowSeconds()})) {
        overdue.push_back({{"invoice_id", r.text("id")},
                           {"number", r.text("number")},
                           {"tenant_id", r.text("tenant_id")},
                           {"slug", r.text("slug")},
                           {"balance", r.integer("balance")},
                           {"formatted", formatted(r.integer("balance"), r.text("currency"))},
                           {"due_at", r.integer("due_at")}});
    }
    return {{"tenants_by_status", byStatus}, {"mrr", mrrJson}, {"failed_payments", failed}, {"overdue_invoices", overdue}};
}

}  // namespace ardoise::kernel::billing
