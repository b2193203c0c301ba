#pragma once
// Ardoise's own invoices to schools (numbered platform-wide, with lines,
// taxes and a currency), the payments recorded against them (manual: bank
// transfer, mobile money at the office, cash, cheque), and the operators'
// reports (schools by status, MRR by currency, failed payments).

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "kernel/data/database.hpp"

namespace ardoise::kernel::billing {

class InvoiceService {
public:
    explicit InvoiceService(data::Database& db) : db_(db) {}

    static const nlohmann::json& createSchema();   ///< POST …/tenants/{id}/invoices
    static const nlohmann::json& paymentSchema();  ///< POST …/invoices/{id}/payments
    static const nlohmann::json& invoiceSchema();  ///< what the API returns

    /// Issues an invoice to the school: number ARD-<year>-<6 digits> from
    /// the platform-wide sequence (no gaps: taken in the invoice's
    /// transaction), lines with quantity × unit amount and a tax rate in
    /// basis points (tax rounded half up per line), in `input.currency` or
    /// the school's. `input` passed createSchema().
    Result<nlohmann::json> create(const std::string& tenantId, const std::string& tenantCurrency,
                                  const nlohmann::json& input, const std::string& actorId);
    /// kNotFound "invoice-not-found"; with `tenantId`, another school's invoice is not found either.
    Result<nlohmann::json> get(const std::string& invoiceId, const std::string& tenantId = "");
    /// The school's invoices, newest first.
    nlohmann::json list(const std::string& tenantId);

    /// Records a payment received outside Stripe against an open invoice, in
    /// one transaction: the payment, the invoice's amount paid (and `paid`
    /// when the balance reaches 0), the events billing.payment.recorded and
    /// billing.invoice.paid, and a school past_due or suspended back to
    /// active (billing.subscription.active). Errors: 404; 409
    /// "invoice-not-open"; 422 for a currency other than the invoice's or an
    /// amount above the balance; 409 "payment-duplicate" for a (method,
    /// reference) already recorded.
    Result<nlohmann::json> recordPayment(const std::string& invoiceId, const nlohmann::json& input,
                                         const std::string& actorId);

    /// {tenants_by_status: {<status>: n, "no_plan": n}, mrr: [{currency,
    /// amount, formatted, subscriptions}], failed_payments: [...]}. MRR: the
    /// price of each active or past_due subscription, a yearly price / 12
    /// (rounded), per-student prices × the students metered.
    nlohmann::json report();

private:
    data::Database& db_;
};

}  // namespace ardoise::kernel::billing
