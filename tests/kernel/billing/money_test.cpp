// Money: ISO 4217 minor units, parsing and locale formatting.

#include <ardoise/money.hpp>

#include <catch2/catch.hpp>

using ardoise::Money;

TEST_CASE("Minor-unit digits follow ISO 4217 for zero-, two- and three-decimal currencies", "[billing][money]") {
    for (const char* c : {"XOF", "XAF", "JPY", "KRW", "GNF", "RWF", "XPF", "VND"}) {
        CHECK(ardoise::currencyDigits(c) == 0);
    }
    for (const char* c : {"EUR", "USD", "GBP", "MAD", "NGN", "GHS"}) {
        CHECK(ardoise::currencyDigits(c) == 2);
    }
    for (const char* c : {"BHD", "JOD", "KWD", "OMR", "TND", "IQD", "LYD"}) {
        CHECK(ardoise::currencyDigits(c) == 3);
    }
}

TEST_CASE("Decimal strings parse into minor units of their currency", "[billing][money]") {
    CHECK(*ardoise::parseMoney("125000", "XOF") == Money{125000, "XOF"});
    CHECK(*ardoise::parseMoney("125000.00", "XOF") == Money{125000, "XOF"});  // zeros past the unit are exact
    CHECK(*ardoise::parseMoney("12.5", "EUR") == Money{1250, "EUR"});
    CHECK(*ardoise::parseMoney("12.50", "EUR") == Money{1250, "EUR"});
    CHECK(*ardoise::parseMoney("0.01", "USD") == Money{1, "USD"});
    CHECK(*ardoise::parseMoney("-3", "USD") == Money{-300, "USD"});
    CHECK(*ardoise::parseMoney("1.234", "KWD") == Money{1234, "KWD"});
    CHECK(*ardoise::parseMoney("92233720368547758.07", "EUR") == Money{INT64_MAX, "EUR"});
}

TEST_CASE("An amount with too many decimals, not a number or too large is refused with a clear reason",
          "[billing][money]") {
    auto precise = ardoise::parseMoney("10.5", "XOF");
    REQUIRE_FALSE(precise);
    CHECK(precise.status().type() == "amount-too-precise");
    CHECK(precise.status().message().find("XOF has 0 decimal") != std::string::npos);
    CHECK(ardoise::parseMoney("12.345", "EUR").status().type() == "amount-too-precise");
    CHECK(ardoise::parseMoney("1.2345", "TND").status().type() == "amount-too-precise");
    for (const char* bad : {"", "-", ".5", "1.", "1,50", "1e3", "+1", " 1", "1 000", "abc", "0x10", "1.2.3"}) {
        INFO(bad);
        CHECK(ardoise::parseMoney(bad, "EUR").status().type() == "amount-not-a-number");
    }
    CHECK(ardoise::parseMoney("92233720368547758.08", "EUR").status().type() == "amount-out-of-range");
    CHECK(ardoise::parseMoney("99999999999999999999", "XOF").status().type() == "amount-out-of-range");
    CHECK(ardoise::parseMoney("1", "eur").status().type() == "invalid-currency");
    CHECK(ardoise::parseMoney("1", "EURO").status().type() == "invalid-currency");
}

TEST_CASE("The decimal string of an amount round-trips through parsing", "[billing][money]") {
    CHECK(ardoise::toDecimalString({1250, "EUR"}) == "12.50");
    CHECK(ardoise::toDecimalString({5, "EUR"}) == "0.05");
    CHECK(ardoise::toDecimalString({-5, "KWD"}) == "-0.005");
    CHECK(ardoise::toDecimalString({125000, "XOF"}) == "125000");
    CHECK(ardoise::toDecimalString({INT64_MIN, "XOF"}) == "-9223372036854775808");
    for (const Money& m : {Money{1250, "EUR"}, Money{-7, "USD"}, Money{125000, "XOF"}, Money{1001, "TND"}}) {
        CHECK(*ardoise::parseMoney(ardoise::toDecimalString(m), m.currency) == m);
    }
}

TEST_CASE("Amounts are formatted the French and the English way", "[billing][money]") {
    // U+202F groups digits in French; U+00A0 separates the symbol.
    CHECK(ardoise::formatMoney({125000, "XOF"}, "fr") == "125\u202F000\u00A0F\u00A0CFA");
    CHECK(ardoise::formatMoney({125000, "XAF"}, "fr") == "125\u202F000\u00A0F\u00A0CFA");
    CHECK(ardoise::formatMoney({1250, "EUR"}, "fr") == "12,50\u00A0\u20AC");
    CHECK(ardoise::formatMoney({1250, "USD"}, "fr") == "12,50\u00A0$US");
    CHECK(ardoise::formatMoney({123456789, "GBP"}, "fr") == "1\u202F234\u202F567,89\u00A0GBP");
    CHECK(ardoise::formatMoney({-1250, "EUR"}, "fr") == "-12,50\u00A0\u20AC");
    CHECK(ardoise::formatMoney({999, "XOF"}, "fr-CI") == "999\u00A0F\u00A0CFA");

    CHECK(ardoise::formatMoney({125000, "XOF"}, "en") == "XOF\u00A0125,000");
    CHECK(ardoise::formatMoney({1250, "EUR"}, "en") == "\u20AC12.50");
    CHECK(ardoise::formatMoney({1250, "USD"}, "en-US") == "$12.50");
    CHECK(ardoise::formatMoney({1000000000, "XOF"}, "en") == "XOF\u00A01,000,000,000");
    CHECK(ardoise::formatMoney({-5, "USD"}, "en") == "-$0.05");
    CHECK(ardoise::formatMoney({1500, "KWD"}, "en") == "KWD\u00A01.500");

    CHECK(ardoise::formatMoney({1250, "EUR"}, "de") == ardoise::formatMoney({1250, "EUR"}, "fr"));  // default: French
}
