#pragma once
// Hand-crafting JWT pieces for attack tests: base64url and HMAC from
// libsodium, independent of the code under test.

#include <catch2/catch.hpp>
#include <sodium.h>

#include <string>

namespace ardoise::test::token_craft {

inline std::string b64url(const std::string& bytes) {
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(out.size() - 1);
    return out;
}

inline std::string unb64url(const std::string& text) {
    std::string out(text.size(), '\0');
    std::size_t length = 0;
    REQUIRE(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                              nullptr, &length, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
    out.resize(length);
    return out;
}

inline std::string hs256(const std::string& key, const std::string& input) {
    std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
    return mac;
}

inline std::string hs512(const std::string& key, const std::string& input) {
    std::string mac(crypto_auth_hmacsha512_BYTES, '\0');
    crypto_auth_hmacsha512_state state;
    crypto_auth_hmacsha512_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha512_update(&state, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    crypto_auth_hmacsha512_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
    return mac;
}

}  // namespace ardoise::test::token_craft
