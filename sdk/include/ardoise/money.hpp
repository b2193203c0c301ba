#pragma once
// Money: an integer amount in the currency's minor unit with its ISO 4217
// code. Never a floating-point number: 125000 XOF is {125000, "XOF"} (XOF has
// no minor unit), 12.50 EUR is {1250, "EUR"}.
//
// Header-only; depends on the standard library and <ardoise/status.hpp> only.

#include <ardoise/status.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ardoise {

/// An amount in minor units (cents, or whole francs for XOF) and its
/// upper-case ISO 4217 currency code.
struct Money {
    std::int64_t minor = 0;
    std::string currency;

    friend bool operator==(const Money&, const Money&) = default;
};

/// True when `code` has the shape of an ISO 4217 code: three letters A–Z.
/// Whether the code is assigned is not checked.
inline bool isCurrencyCode(std::string_view code) {
    if (code.size() != 3) {
        return false;
    }
    for (char c : code) {
        if (c < 'A' || c > 'Z') {
            return false;
        }
    }
    return true;
}

/// Digits of the minor unit of `currency`: 0 for the zero-decimal currencies
/// Stripe lists (BIF, CLP, DJF, GNF, JPY, KMF, KRW, MGA, PYG, RWF, UGX, VND,
/// VUV, XAF, XOF, XPF), 3 for BHD, IQD, JOD, KWD, LYD, OMR and TND, else 2.
inline int currencyDigits(std::string_view currency) {
    static constexpr std::array<std::string_view, 16> kZero = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF",
                                                               "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                                                               "VUV", "XAF", "XOF", "XPF"};
    static constexpr std::array<std::string_view, 7> kThree = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
    for (auto c : kZero) {
        if (c == currency) {
            return 0;
        }
    }
    for (auto c : kThree) {
        if (c == currency) {
            return 3;
        }
    }
    return 2;
}

/// Parses a decimal amount written with a '.' ("12.50", "-3", "125000") into
/// minor units of `currency`.
///
/// Accepted: an optional '-', digits, then optionally '.' and digits. No
/// spaces, '+', grouping or exponent. Digits past the currency's minor unit
/// are accepted only when they are zeros ("125000.00" XOF is 125000).
///
/// Errors (Code::kInvalidArgument), by type:
///  * "invalid-currency": `currency` is not three upper-case letters;
///  * "amount-not-a-number": the text is not such a decimal;
///  * "amount-too-precise": more non-zero decimals than the currency has
///    (e.g. "12.345" EUR, "10.5" XOF);
///  * "amount-out-of-range": the minor amount does not fit in int64.
inline Result<Money> parseMoney(std::string_view text, std::string_view currency) {
    if (!isCurrencyCode(currency)) {
        return Status(Code::kInvalidArgument, "invalid-currency",
                      "The currency must be an ISO 4217 code of three upper-case letters.");
    }
    const int digits = currencyDigits(currency);
    const auto notNumber = [&] {
        return Status(Code::kInvalidArgument, "amount-not-a-number",
                      "The amount \"" + std::string(text.substr(0, 40)) + "\" is not a decimal number such as 12.50.");
    };
    std::size_t i = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (negative) {
        ++i;
    }
    const std::size_t intStart = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        ++i;
    }
    const std::string_view whole = text.substr(intStart, i - intStart);
    std::string_view fraction;
    if (i < text.size() && text[i] == '.') {
        const std::size_t fracStart = ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            ++i;
        }
        fraction = text.substr(fracStart, i - fracStart);
        if (fraction.empty()) {
            return notNumber();
        }
    }
    if (whole.empty() || i != text.size()) {
        return notNumber();
    }
    for (std::size_t k = static_cast<std::size_t>(digits); k < fraction.size(); ++k) {
        if (fraction[k] != '0') {
            return Status(Code::kInvalidArgument, "amount-too-precise",
                          std::string(currency) + " has " + std::to_string(digits) +
                              " decimal digit(s); the amount \"" + std::string(text.substr(0, 40)) + "\" has more.");
        }
    }
    std::uint64_t value = 0;
    constexpr std::uint64_t kMax = static_cast<std::uint64_t>(INT64_MAX);
    const auto push = [&](char c) {
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (value > (kMax - d) / 10) {
            return false;
        }
        value = value * 10 + d;
        return true;
    };
    bool fits = true;
    for (char c : whole) {
        fits = fits && push(c);
    }
    for (int k = 0; k < digits; ++k) {
        fits = fits && push(static_cast<std::size_t>(k) < fraction.size() ? fraction[static_cast<std::size_t>(k)] : '0');
    }
    if (!fits) {
        return Status(Code::kInvalidArgument, "amount-out-of-range", "The amount is too large.");
    }
    const auto signedValue = static_cast<std::int64_t>(value);
    return Money{negative ? -signedValue : signedValue, std::string(currency)};
}

/// The amount as a plain decimal with '.' and exactly the currency's digits
/// ("12.50", "125000", "-0.005"): the inverse of parseMoney().
inline std::string toDecimalString(const Money& money) {
    const int digits = currencyDigits(money.currency);
    // Through uint64 so INT64_MIN has a magnitude.
    const std::uint64_t magnitude =
        money.minor < 0 ? ~static_cast<std::uint64_t>(money.minor) + 1 : static_cast<std::uint64_t>(money.minor);
    std::string s = std::to_string(magnitude);
    if (digits > 0) {
        if (s.size() <= static_cast<std::size_t>(digits)) {
            s.insert(0, static_cast<std::size_t>(digits) + 1 - s.size(), '0');
        }
        s.insert(s.size() - static_cast<std::size_t>(digits), 1, '.');
    }
    return money.minor < 0 ? "-" + s : s;
}

/// The amount for people, in `locale` ("fr…" or "en…"; anything else is
/// French, the platform's default language).
///
/// French: digits grouped by three with U+202F NARROW NO-BREAK SPACE (as
/// CLDR's fr locale does), ',' before the decimals, then U+00A0 NO-BREAK
/// SPACE and the symbol: "125 000 F CFA" (XOF and XAF; the space inside
/// "F CFA" is U+00A0 too), "12,50 €", "12,50 $US", else the ISO code
/// ("12,50 GBP").
/// English: ',' groups and '.' decimals; "€12.50", "$12.50", else the code
/// and U+00A0 before the amount ("XOF 125,000").
/// Negative amounts start with '-'. Thread-safe; never throws except
/// std::bad_alloc.
inline std::string formatMoney(const Money& money, std::string_view locale) {
    const bool english = locale.size() >= 2 && (locale.substr(0, 2) == "en" || locale.substr(0, 2) == "EN");
    const std::string group = english ? "," : "\u202F";
    const std::string point = english ? "." : ",";
    const std::string nbsp = "\u00A0";

    std::string decimal = toDecimalString(money);
    const bool negative = !decimal.empty() && decimal[0] == '-';
    if (negative) {
        decimal.erase(0, 1);
    }
    const auto dot = decimal.find('.');
    const std::string whole = decimal.substr(0, dot);
    std::string number;
    for (std::size_t k = 0; k < whole.size(); ++k) {
        if (k > 0 && (whole.size() - k) % 3 == 0) {
            number += group;
        }
        number += whole[k];
    }
    if (dot != std::string::npos) {
        number += point + decimal.substr(dot + 1);
    }
    const std::string sign = negative ? "-" : "";
    const std::string& code = money.currency;
    if (english) {
        if (code == "EUR") {
            return sign + "\u20AC" + number;
        }
        if (code == "USD") {
            return sign + "$" + number;
        }
        return sign + code + nbsp + number;
    }
    std::string symbol = code;
    if (code == "XOF" || code == "XAF") {
        symbol = "F" + nbsp + "CFA";
    } else if (code == "EUR") {
        symbol = "\u20AC";
    } else if (code == "USD") {
        symbol = "$US";
    }
    return sign + number + nbsp + symbol;
}

}  // namespace ardoise
