#include "kernel/auth/totp.hpp"

#include <Poco/HMACEngine.h>
#include <Poco/SHA1Engine.h>
#include <sodium.h>

#include <array>
#include <stdexcept>

namespace ardoise::kernel::auth {
namespace {

constexpr char kBase32Upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr char kBase32Lower[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::array<std::uint32_t, 9> kPowersOfTen = {1,      10,      100,      1000,     10000,
                                                       100000, 1000000, 10000000, 100000000};

void ensureSodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        throw std::runtime_error("libsodium failed to initialize");
    }
}

int base32Value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a';
    }
    if (c >= '2' && c <= '7') {
        return c - '2' + 26;
    }
    return -1;
}

// RFC 4226 section 5.3: HMAC-SHA1 of the big-endian counter, dynamic truncation.
std::uint32_t hotp(const std::string& key, std::uint64_t counter, int digits) {
    std::array<unsigned char, 8> message{};
    for (int i = 7; i >= 0; --i) {
        message[static_cast<std::size_t>(i)] = static_cast<unsigned char>(counter & 0xFFU);
        counter >>= 8;
    }
    Poco::HMACEngine<Poco::SHA1Engine> hmac(key);
    hmac.update(message.data(), message.size());
    const Poco::DigestEngine::Digest& mac = hmac.digest();
    const std::size_t offset = mac[19] & 0x0FU;
    const std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7FU) << 24) |
                                 (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                                 (static_cast<std::uint32_t>(mac[offset + 2]) << 8) |
                                 static_cast<std::uint32_t>(mac[offset + 3]);
    return binary % kPowersOfTen[static_cast<std::size_t>(digits)];
}

std::string padded(std::uint32_t value, int digits) {
    std::string out(static_cast<std::size_t>(digits), '0');
    for (int i = digits - 1; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return out;
}

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        --q;
    }
    return q;
}

void percentEncode(std::string& out, const std::string& text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : text) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0x0FU]);
        }
    }
}

}  // namespace

std::string base32Encode(const std::string& bytes) {
    std::string out;
    out.reserve((bytes.size() * 8 + 4) / 5);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char byte : bytes) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(kBase32Upper[(buffer >> bits) & 31U]);
        }
    }
    if (bits > 0) {
        out.push_back(kBase32Upper[(buffer << (5 - bits)) & 31U]);
    }
    return out;
}

std::optional<std::string> base32Decode(const std::string& text) {
    std::string out;
    out.reserve(text.size() * 5 / 8);
    std::uint32_t buffer = 0;
    int bits = 0;
    std::size_t symbols = 0;
    bool paddingSeen = false;
    for (char c : text) {
        if (c == ' ') {
            continue;
        }
        if (c == '=') {
            paddingSeen = true;
            continue;
        }
        const int value = base32Value(c);
        if (value < 0 || paddingSeen) {
            return std::nullopt;
        }
        buffer = (buffer << 5) | static_cast<std::uint32_t>(value);
        bits += 5;
        ++symbols;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xFFU));
        }
    }
    const std::size_t tail = symbols % 8;
    if (tail == 1 || tail == 3 || tail == 6) {
        return std::nullopt;
    }
    return out;
}

std::string newTotpSecret() {
    ensureSodium();
    std::string raw(20, '\0');
    randombytes_buf(raw.data(), raw.size());
    std::string secret = base32Encode(raw);
    sodium_memzero(raw.data(), raw.size());
    return secret;
}

std::string totpCode(const std::string& base32Secret, std::int64_t unixSeconds, int digits) {
    if (unixSeconds < 0 || digits < 6 || digits > 8) {
        return "";
    }
    const std::optional<std::string> key = base32Decode(base32Secret);
    if (!key || key->empty()) {
        return "";
    }
    const auto step = static_cast<std::uint64_t>(unixSeconds / kTotpStepSeconds);
    return padded(hotp(*key, step, digits), digits);
}

std::optional<std::int64_t> verifyTotp(const std::string& base32Secret, const std::string& code,
                                       std::int64_t unixSeconds, int window) {
    if (code.size() != static_cast<std::size_t>(kTotpDigits) || window < 0 || window > 10) {
        return std::nullopt;
    }
    for (char c : code) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
    }
    const std::optional<std::string> key = base32Decode(base32Secret);
    if (!key || key->empty()) {
        return std::nullopt;
    }
    const std::int64_t current = floorDiv(unixSeconds, kTotpStepSeconds);
    std::optional<std::int64_t> matched;
    // No early exit: how long this takes must not tell which step matched.
    for (std::int64_t step = current - window; step <= current + window; ++step) {
        if (step < 0) {
            continue;
        }
        const std::string candidate = padded(hotp(*key, static_cast<std::uint64_t>(step), kTotpDigits), kTotpDigits);
        if (sodium_memcmp(candidate.data(), code.data(), candidate.size()) == 0) {
            matched = step;  // the latest matching step wins: replays of it are then refused
        }
    }
    return matched;
}

std::string otpauthUri(const std::string& issuer, const std::string& account, const std::string& base32Secret) {
    std::string uri = "otpauth://totp/";
    percentEncode(uri, issuer);
    uri.push_back(':');
    percentEncode(uri, account);
    uri += "?secret=";
    percentEncode(uri, base32Secret);
    uri += "&issuer=";
    percentEncode(uri, issuer);
    uri += "&algorithm=SHA1&digits=6&period=30";
    return uri;
}

std::vector<std::string> newRecoveryCodes(int n) {
    ensureSodium();
    std::vector<std::string> codes;
    codes.reserve(static_cast<std::size_t>(n > 0 ? n : 0));
    for (int i = 0; i < n; ++i) {
        std::string code;
        code.reserve(12);
        for (int j = 0; j < 10; ++j) {
            if (j == 4 || j == 8) {
                code.push_back('-');
            }
            code.push_back(kBase32Lower[randombytes_uniform(32)]);
        }
        codes.push_back(std::move(code));
    }
    return codes;
}

std::string normalizeRecoveryCode(const std::string& typed) {
    std::string bare;
    bare.reserve(typed.size());
    for (char c : typed) {
        if (c == ' ' || c == '-') {
            continue;
        }
        bare.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
    if (bare.size() != 10) {
        return bare;
    }
    return bare.substr(0, 4) + "-" + bare.substr(4, 4) + "-" + bare.substr(8, 2);
}

}  // namespace ardoise::kernel::auth
