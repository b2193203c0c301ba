#include "kernel/data/ids.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace ardoise::kernel::data {
namespace {
constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford, lowercase

void ensureSodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        throw std::runtime_error("libsodium failed to initialize");
    }
}
}  // namespace

std::string newId() {
    ensureSodium();
    std::array<unsigned char, 20> raw{};
    randombytes_buf(raw.data(), raw.size());
    std::string id(raw.size(), '0');
    for (std::size_t i = 0; i < raw.size(); ++i) {
        id[i] = kAlphabet[raw[i] & 31U];
    }
    return id;
}

std::string newRequestId() {
    thread_local std::uint64_t state = [] {
        std::uint64_t seed = 0;
        ensureSodium();
        randombytes_buf(&seed, sizeof seed);
        return seed;
    }();
    std::string id(20, '0');
    for (std::size_t i = 0; i < id.size(); i += 10) {
        // splitmix64: 64 bits give ten 5-bit characters (two draws per id).
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        for (std::size_t j = 0; j < 10; ++j) {
            id[i + j] = kAlphabet[(z >> (5 * j)) & 31U];
        }
    }
    return id;
}

bool isWellFormedId(const std::string& id) {
    if (id.size() != 20) {
        return false;
    }
    for (char c : id) {
        bool ok = false;
        for (const char* a = kAlphabet; *a != '\0'; ++a) {
            ok = ok || (*a == c);
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::string randomToken(std::size_t bytes) {
    ensureSodium();
    std::string raw(bytes, '\0');
    randombytes_buf(raw.data(), raw.size());
    std::string out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(out.size() - 1);  // drop the terminating NUL
    return out;
}

std::string sha256Hex(const std::string& text) {
    ensureSodium();
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
    std::string hex(digest.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    hex.pop_back();
    return hex;
}

}  // namespace ardoise::kernel::data
