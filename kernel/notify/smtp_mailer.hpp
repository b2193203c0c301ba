#pragma once
// Sends email over SMTP, one connection per message.

#include <ardoise/status.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace ardoise::kernel::notify {

/// One email. All text is UTF-8.
struct EmailMessage {
    std::string from;      ///< address, optionally with a UTF-8 display name: "École <no-reply@ecole.sn>"
    std::string to;        ///< one bare recipient address, no display name
    std::string subject;   ///< any UTF-8; encoded as an RFC 2047 word when needed
    std::string textBody;  ///< plain-text part, sent quoted-printable
    std::string htmlBody;  ///< optional; when set, sent as multipart/alternative with textBody
};

/// Credentials for AUTH LOGIN.
struct SmtpCredentials {
    std::string username;
    std::string password;
};

/// An SMTP client for one relay. Holds no connection between sends, so one
/// instance may be used from several threads at once.
class SmtpMailer {
public:
    /// `timeoutMs` (> 0) bounds the connect and each wait for a server reply.
    /// Without credentials no AUTH is attempted. No TLS: point this at a
    /// local or trusted relay.
    SmtpMailer(std::string host, std::uint16_t port, int timeoutMs,
               std::optional<SmtpCredentials> credentials = std::nullopt);

    /// Delivers `message` to the relay. Never throws (except std::bad_alloc).
    ///
    /// Errors:
    ///  * kInvalidArgument "invalid-email": empty sender or recipient, a
    ///    recipient with a display name or blanks, more than one '<' in the
    ///    sender, or from/to/subject containing CR, LF or NUL (header
    ///    injection). Addresses are not otherwise checked.
    ///  * kUnavailable "smtp-unavailable": cannot resolve or connect, timeout,
    ///    or the server refused a command (the message names the step).
    ardoise::Status send(const EmailMessage& message) const;

private:
    std::string host_;
    std::uint16_t port_;
    int timeoutMs_;
    std::optional<SmtpCredentials> credentials_;
};

}  // namespace ardoise::kernel::notify
