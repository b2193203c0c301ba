#pragma once
#include <string>

namespace ardoise::kernel::data {

/// A new random identifier: 20 lowercase base32 characters (100 bits), so ids
/// cannot be guessed or enumerated across tenants.
std::string newId();

/// A request id: like newId() but from a per-thread generator seeded once
/// from the system, so it costs no system call. Unique, not secret.
std::string newRequestId();

/// True when `id` has the shape newId() produces (guards path parameters).
bool isWellFormedId(const std::string& id);

/// Random bytes encoded as unpadded base64url, for opaque tokens.
std::string randomToken(std::size_t bytes = 32);

/// Hex SHA-256 of `text`, used to store opaque tokens.
std::string sha256Hex(const std::string& text);

}  // namespace ardoise::kernel::data
