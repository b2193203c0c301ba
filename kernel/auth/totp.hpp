#pragma once
// Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s step, T0 = 0),
// base32 (RFC 4648) and single-use recovery codes for second-factor login.
//
// All functions are pure or use only libsodium's thread-safe random source:
// they may be called from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ardoise::kernel::auth {

/// Length of a TOTP time step, in seconds.
inline constexpr std::int64_t kTotpStepSeconds = 30;
/// Digits of the codes Ardoise issues and accepts.
inline constexpr int kTotpDigits = 6;

/// RFC 4648 base32 of `bytes`, uppercase, without '=' padding.
std::string base32Encode(const std::string& bytes);

/// Decodes RFC 4648 base32. Accepts lowercase, spaces and trailing '='
/// padding (authenticator apps show secrets grouped and in either case).
/// Returns nullopt for any other character, '=' before the end, or a length
/// no encoder produces (1, 3 or 6 characters past a multiple of 8).
std::optional<std::string> base32Decode(const std::string& text);

/// A fresh secret: 20 random bytes (160 bits, the RFC 4226 recommendation),
/// base32 without padding (32 characters).
std::string newTotpSecret();

/// The code for `unixSeconds`, zero-padded to `digits` (6 to 8) characters.
/// Returns "" when the secret is not valid base32, decodes to nothing, when
/// `unixSeconds` is negative or `digits` is out of range.
std::string totpCode(const std::string& base32Secret, std::int64_t unixSeconds, int digits = kTotpDigits);

/// Checks a 6-digit `code` against the steps from `window` steps before to
/// `window` steps after the one containing `unixSeconds` (clock drift).
/// `window` is 0 to 10 (anything else matches nothing). Every candidate is
/// computed and compared in constant time.
///
/// Returns the matched time step (unixSeconds / 30), or nullopt. The caller
/// must store the last step it accepted for the account and refuse any step
/// less than or equal to it, or a code can be replayed within its window.
std::optional<std::int64_t> verifyTotp(const std::string& base32Secret, const std::string& code,
                                       std::int64_t unixSeconds, int window = 1);

/// The otpauth:// URI authenticator apps read from a QR code:
/// otpauth://totp/Issuer:account?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30
/// Issuer and account are percent-encoded (RFC 3986 unreserved kept).
std::string otpauthUri(const std::string& issuer, const std::string& account, const std::string& base32Secret);

/// `n` random recovery codes shaped "abcd-efgh-jk": 10 characters of
/// lowercase base32, 50 bits each. Store only their hashes (data::sha256Hex)
/// and compare after normalizeRecoveryCode().
std::vector<std::string> newRecoveryCodes(int n = 10);

/// A typed recovery code in the canonical form: lowercase, spaces removed,
/// a dash added after the 4th and 8th characters when the user left them out.
std::string normalizeRecoveryCode(const std::string& typed);

}  // namespace ardoise::kernel::auth
