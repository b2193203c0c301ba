#include "kernel/billing/invoice_pdf.hpp"

#include <ardoise/money.hpp>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernel/notify/outbox.hpp"

namespace ardoise::kernel::billing {
namespace {

using nlohmann::json;

constexpr std::size_t kWrap = 95;
constexpr std::size_t kLinesPerPage = 52;

/// UTF-8 → Windows-1252 (what /WinAnsiEncoding means), '?' for the rest.
std::string toWinAnsi(const std::string& utf8) {
    static const std::pair<char32_t, unsigned char> kHigh[] = {
        {0x20AC, 0x80}, {0x201A, 0x82}, {0x0192, 0x83}, {0x201E, 0x84}, {0x2026, 0x85}, {0x2020, 0x86},
        {0x2021, 0x87}, {0x02C6, 0x88}, {0x2030, 0x89}, {0x0160, 0x8A}, {0x2039, 0x8B}, {0x0152, 0x8C},
        {0x017D, 0x8E}, {0x2018, 0x91}, {0x2019, 0x92}, {0x201C, 0x93}, {0x201D, 0x94}, {0x2022, 0x95},
        {0x2013, 0x96}, {0x2014, 0x97}, {0x02DC, 0x98}, {0x2122, 0x99}, {0x0161, 0x9A}, {0x203A, 0x9B},
        {0x0153, 0x9C}, {0x017E, 0x9E}, {0x0178, 0x9F}};
    std::string out;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        char32_t cp = 0;
        std::size_t len = 1;
        if (c < 0x80) {
            cp = c;
        } else if ((c >> 5) == 0x6 && i + 1 < utf8.size()) {
            cp = ((c & 0x1F) << 6) | (utf8[i + 1] & 0x3F);
            len = 2;
        } else if ((c >> 4) == 0xE && i + 2 < utf8.size()) {
            cp = ((c & 0x0F) << 12) | ((utf8[i + 1] & 0x3F) << 6) | (utf8[i + 2] & 0x3F);
            len = 3;
        } else if ((c >> 3) == 0x1E && i + 3 < utf8.size()) {
            cp = 0xFFFD;
            len = 4;
        } else {
            cp = 0xFFFD;
        }
        i += len;
        if (cp == 0x202F || cp == 0x2009) {
            cp = 0xA0;  // narrow and thin no-break spaces of French amounts
        }
        if (cp < 0x80 || (cp >= 0xA0 && cp <= 0xFF)) {
            out += static_cast<char>(cp);
            continue;
        }
        char mapped = '?';
        for (const auto& [u, b] : kHigh) {
            if (u == cp) {
                mapped = static_cast<char>(b);
            }
        }
        out += mapped;
    }
    return out;
}

std::string escapePdf(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '(' || c == ')' || c == '\\') {
            out += '\\';
        }
        out += c == '\t' ? ' ' : c;
    }
    return out;
}

std::vector<std::string> wrap(const std::string& line) {
    std::vector<std::string> out;
    std::string rest = line;
    while (rest.size() > kWrap) {
        std::size_t cut = rest.rfind(' ', kWrap);
        if (cut == std::string::npos || cut == 0) {
            cut = kWrap;
        }
        out.push_back(rest.substr(0, cut));
        rest = rest.substr(cut + (rest[cut] == ' ' ? 1 : 0));
    }
    out.push_back(rest);
    return out;
}

std::string date(std::int64_t t, const std::string& locale) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, locale == "fr" ? "%d/%m/%Y" : "%Y-%m-%d", &tm);
    return buf;
}

}  // namespace

std::string textToPdf(const std::vector<std::string>& lines, const std::string& title) {
    std::vector<std::string> encoded;
    for (const auto& l : lines) {
        for (auto& w : wrap(toWinAnsi(l))) {
            encoded.push_back(std::move(w));
        }
    }
    if (encoded.empty()) {
        encoded.emplace_back();
    }
    const std::size_t pages = (encoded.size() + kLinesPerPage - 1) / kLinesPerPage;
    // Objects: 1 catalog, 2 pages, 3 font, 4 info, then per page: page, contents.
    std::vector<std::string> objects(4 + 2 * pages);
    objects[0] = "<< /Type /Catalog /Pages 2 0 R >>";
    std::string kids;
    for (std::size_t p = 0; p < pages; ++p) {
        kids += std::to_string(5 + 2 * p) + " 0 R ";
    }
    objects[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages) + " >>";
    objects[2] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
    objects[3] = "<< /Title (" + escapePdf(toWinAnsi(title)) + ") /Producer (Ardoise) >>";
    for (std::size_t p = 0; p < pages; ++p) {
        std::string stream = "BT /F1 10 Tf 14 TL 50 792 Td\n";
        for (std::size_t i = p * kLinesPerPage; i < std::min(encoded.size(), (p + 1) * kLinesPerPage); ++i) {
            stream += "(" + escapePdf(encoded[i]) + ") Tj T*\n";
        }
        stream += "ET";
        objects[4 + 2 * p] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> "
                             ">> /Contents " +
                             std::to_string(6 + 2 * p) + " 0 R >>";
        objects[5 + 2 * p] = "<< /Length " + std::to_string(stream.size()) + " >>\nstream\n" + stream + "\nendstream";
    }
    std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < objects.size(); ++i) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const std::size_t xref = pdf.size();
    pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (auto off : offsets) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "%010zu 00000 n \n", off);
        pdf += buf;
    }
    pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R /Info 4 0 R >>\nstartxref\n" +
           std::to_string(xref) + "\n%%EOF\n";
    return pdf;
}

Result<std::string> renderInvoicePdf(const json& invoice, const std::string& schoolName, const std::string& locale,
                                     const std::string& templatesDir) {
    const std::string loc = locale == "en" ? "en" : "fr";
    const auto path = std::filesystem::path(templatesDir) / "pdf" / ("invoice." + loc + ".mustache");
    std::ifstream in(path);
    if (!in) {
        return Status(Code::kInternal, "template-missing", "No invoice template at " + path.string());
    }
    std::stringstream text;
    text << in.rdbuf();
    const std::string currency = invoice["currency"];
    auto money = [&](const json& minor) { return formatMoney({minor.get<std::int64_t>(), currency}, loc); };
    json lines = json::array();
    for (const auto& l : invoice["lines"]) {
        const std::int64_t bp = l["tax_rate_bp"];
        char rate[24];
        if (bp % 100 == 0) {
            std::snprintf(rate, sizeof rate, "%lld %%", static_cast<long long>(bp / 100));
        } else {
            std::snprintf(rate, sizeof rate, "%.2f %%", static_cast<double>(bp) / 100.0);
        }
        lines.push_back({{"description", l["description"]},
                         {"quantity", std::to_string(l["quantity"].get<std::int64_t>())},
                         {"unit", money(l["unit_amount"])},
                         {"amount", money(l["amount"])},
                         {"tax_rate", std::string(rate)},
                         {"tax", money(l["tax"])}});
    }
    json payments = json::array();
    for (const auto& p : invoice["payments"]) {
        payments.push_back({{"received", date(p["received_at"], loc)},
                            {"method", p["method"]},
                            {"reference", p["reference"]},
                            {"amount", money(p["amount"])}});
    }
    json values = {{"platform", "Ardoise"},
                   {"number", invoice["number"]},
                   {"school", schoolName},
                   {"issued", date(invoice["issued_at"], loc)},
                   {"due", invoice["due_at"].is_null() ? "-" : date(invoice["due_at"], loc)},
                   {"lines", lines},
                   {"subtotal", money(invoice["subtotal"])},
                   {"tax", money(invoice["tax"])},
                   {"total", money(invoice["total"])},
                   {"paid", money(invoice["amount_paid"])},
                   {"balance", money(invoice["balance"])},
                   {"payments", payments}};
    if (!invoice["period_start"].is_null() && !invoice["period_end"].is_null()) {
        values["period"] = {{"start", date(invoice["period_start"], loc)}, {"end", date(invoice["period_end"], loc)}};
    }
    auto rendered = notify::renderMustache(text.str(), values);
    if (!rendered) {
        return rendered.status();
    }
    std::vector<std::string> out;
    std::stringstream ss(*rendered);
    for (std::string line; std::getline(ss, line);) {
        out.push_back(line);
    }
    return textToPdf(out, invoice["number"].get<std::string>());
}

}  // namespace ardoise::kernel::billing
