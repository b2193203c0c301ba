#include "kernel/auth/totp.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace ardoise::kernel::auth;

namespace {
// RFC 6238 Appendix B: the SHA1 seed is the ASCII string "12345678901234567890".
const std::string kRfcSecret = base32Encode("12345678901234567890");
}  // namespace

TEST_CASE("TOTP codes match the RFC 6238 Appendix B SHA1 vectors", "[auth][totp]") {
    struct Vector {
        std::int64_t time;
        const char* code;
    };
    const Vector vectors[] = {
        {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
        {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
    };
    for (const auto& v : vectors) {
        INFO("time " << v.time);
        CHECK(totpCode(kRfcSecret, v.time, 8) == v.code);
        CHECK(totpCode(kRfcSecret, v.time) == std::string(v.code).substr(2));
    }
}

TEST_CASE("Base32 encoding matches the RFC 4648 vectors, unpadded", "[auth][totp]") {
    CHECK(base32Encode("") == "");
    CHECK(base32Encode("f") == "MY");
    CHECK(base32Encode("fo") == "MZXQ");
    CHECK(base32Encode("foo") == "MZXW6");
    CHECK(base32Encode("foob") == "MZXW6YQ");
    CHECK(base32Encode("fooba") == "MZXW6YTB");
    CHECK(base32Encode("foobar") == "MZXW6YTBOI");
    CHECK(kRfcSecret == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST_CASE("Base32 decoding accepts padding, lowercase and spaces", "[auth][totp]") {
    CHECK(base32Decode("MZXW6YTBOI======") == std::optional<std::string>("foobar"));
    CHECK(base32Decode("MZXW6YQ=") == std::optional<std::string>("foob"));
    CHECK(base32Decode("mzxw 6ytb oi") == std::optional<std::string>("foobar"));
    CHECK(base32Decode("") == std::optional<std::string>(""));
}

TEST_CASE("Base32 decoding refuses foreign characters, inner padding and impossible lengths", "[auth][totp]") {
    CHECK_FALSE(base32Decode("MZXW0"));     // '0' is not in the alphabet
    CHECK_FALSE(base32Decode("MZXW1"));     // nor '1'
    CHECK_FALSE(base32Decode("MZ=XW6"));    // padding before data
    CHECK_FALSE(base32Decode("M"));         // 1 symbol cannot encode a byte
    CHECK_FALSE(base32Decode("MZX"));       // 3 symbols past a block
    CHECK_FALSE(base32Decode("MZXW6Y"));    // 6 symbols past a block
    CHECK_FALSE(base32Decode("MZXW-6YTB")); // dashes are not spaces
}

TEST_CASE("Base32 round-trips every length of random bytes", "[auth][totp]") {
    std::string bytes;
    for (int i = 0; i < 64; ++i) {
        bytes.push_back(static_cast<char>((i * 37 + 11) & 0xFF));
        const auto back = base32Decode(base32Encode(bytes));
        REQUIRE(back);
        CHECK(*back == bytes);
    }
}

TEST_CASE("A new TOTP secret is 160 random bits in base32", "[auth][totp]") {
    const std::string a = newTotpSecret();
    const std::string b = newTotpSecret();
    CHECK(a.size() == 32);
    CHECK(a != b);
    const auto raw = base32Decode(a);
    REQUIRE(raw);
    CHECK(raw->size() == 20);
}

TEST_CASE("verifyTotp returns the matched time step so the caller can refuse replays", "[auth][totp]") {
    const std::string secret = newTotpSecret();
    const std::int64_t now = 1700000015;  // step 56666667, 15 s into it
    const std::string code = totpCode(secret, now);
    const auto step = verifyTotp(secret, code, now);
    REQUIRE(step);
    CHECK(*step == now / 30);
    // The same code presented again yields the same step, which the caller has stored.
    CHECK(verifyTotp(secret, code, now + 5) == step);
}

TEST_CASE("verifyTotp accepts a code one step away and refuses two steps away with the default window",
          "[auth][totp]") {
    const std::string secret = kRfcSecret;
    const std::int64_t now = 1111111111;
    const std::int64_t step = now / 30;
    CHECK(verifyTotp(secret, totpCode(secret, now - 30), now) == std::optional<std::int64_t>(step - 1));
    CHECK(verifyTotp(secret, totpCode(secret, now + 30), now) == std::optional<std::int64_t>(step + 1));
    CHECK_FALSE(verifyTotp(secret, totpCode(secret, now - 60), now));
    CHECK_FALSE(verifyTotp(secret, totpCode(secret, now + 60), now));
    CHECK(verifyTotp(secret, totpCode(secret, now - 60), now, 2) == std::optional<std::int64_t>(step - 2));
    CHECK_FALSE(verifyTotp(secret, totpCode(secret, now - 30), now, 0));
}

TEST_CASE("verifyTotp refuses malformed codes and secrets", "[auth][totp]") {
    const std::int64_t now = 1234567890;
    const std::string good = totpCode(kRfcSecret, now);
    CHECK_FALSE(verifyTotp(kRfcSecret, "", now));
    CHECK_FALSE(verifyTotp(kRfcSecret, good + "0", now));
    CHECK_FALSE(verifyTotp(kRfcSecret, good.substr(0, 5), now));
    CHECK_FALSE(verifyTotp(kRfcSecret, " " + good.substr(1), now));
    CHECK_FALSE(verifyTotp(kRfcSecret, "89005924", now));  // the 8-digit form is not accepted
    CHECK_FALSE(verifyTotp("not base32!", good, now));
    CHECK_FALSE(verifyTotp("", good, now));
    CHECK(totpCode("", now).empty());
    CHECK(totpCode(kRfcSecret, -1).empty());
}

TEST_CASE("The otpauth URI carries the secret and percent-encodes issuer and account", "[auth][totp]") {
    CHECK(otpauthUri("École Ardoise", "marie+test@example.org", "JBSWY3DPEHPK3PXP") ==
          "otpauth://totp/%C3%89cole%20Ardoise:marie%2Btest%40example.org?secret=JBSWY3DPEHPK3PXP"
          "&issuer=%C3%89cole%20Ardoise&algorithm=SHA1&digits=6&period=30");
}

TEST_CASE("Recovery codes are distinct, shaped abcd-efgh-jk, and normalize from what users type",
          "[auth][totp]") {
    const auto codes = newRecoveryCodes();
    REQUIRE(codes.size() == 10);
    std::set<std::string> unique(codes.begin(), codes.end());
    CHECK(unique.size() == codes.size());
    for (const auto& code : codes) {
        REQUIRE(code.size() == 12);
        CHECK(code[4] == '-');
        CHECK(code[9] == '-');
        const std::string bare = code.substr(0, 4) + code.substr(5, 4) + code.substr(10, 2);
        CHECK(bare.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567") == std::string::npos);
        CHECK(normalizeRecoveryCode(code) == code);
    }
    CHECK(newRecoveryCodes(3).size() == 3);
    CHECK(normalizeRecoveryCode("ABCD EFGH JK") == "abcd-efgh-jk");
    CHECK(normalizeRecoveryCode("abcdefghjk") == "abcd-efgh-jk");
    CHECK(normalizeRecoveryCode("abc") == "abc");
}
