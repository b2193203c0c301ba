#pragma once
// Invoices as PDF: the text comes from templates/pdf/invoice.<locale>.mustache
// (amounts formatted per locale: 125 000 F CFA, €39.00), laid out by a small
// PDF writer (A4, Helvetica, WinAnsi encoding: French text and the euro sign
// render; characters outside Windows-1252 become '?'). No dependency.

#include <ardoise/status.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ardoise::kernel::billing {

/// A PDF document of the given lines of UTF-8 text (wrapped at 95
/// characters, 52 lines per A4 page).
std::string textToPdf(const std::vector<std::string>& lines, const std::string& title);

/// The invoice (InvoiceService's JSON) to the school `schoolName` as PDF in
/// `locale` ("fr" or "en"), from `templatesDir`/pdf/invoice.<locale>.mustache.
/// Errors: kInternal when the template is missing or invalid.
Result<std::string> renderInvoicePdf(const nlohmann::json& invoice, const std::string& schoolName,
                                     const std::string& locale, const std::string& templatesDir);

}  // namespace ardoise::kernel::billing
