#include "kernel/notify/smtp_mailer.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailRecipient.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StringPartSource.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <exception>
#include <utility>

namespace ardoise::kernel::notify {
namespace {

using Poco::Net::MailMessage;

// Poco writes header values verbatim and leaves pure-ASCII subjects
// unencoded, so a line break here would start a new header.
bool isSafeHeaderValue(const std::string& value) {
    return value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos;
}

// Poco takes the envelope address from the first '<', so a sender has at
// most one and the recipient, a bare address, none.
bool hasValidAddresses(const EmailMessage& m) {
    auto count = [](const std::string& s, char c) { return std::count(s.begin(), s.end(), c); };
    return !m.from.empty() && !m.to.empty() && count(m.from, '<') <= 1 && count(m.from, '>') <= 1 &&
           count(m.to, '<') == 0 && count(m.to, '>') == 0 && m.to.find_first_of(" \t") == std::string::npos;
}

// "Name <address>" with the name made safe for a header: an RFC 2047 word
// when it is not ASCII, a quoted string otherwise.
std::string encodeSender(const std::string& from) {
    auto open = from.find('<');
    if (open == std::string::npos) {
        return from;
    }
    std::string name = from.substr(0, open);
    auto first = name.find_first_not_of(" \t\"");
    auto last = name.find_last_not_of(" \t\"");
    if (first == std::string::npos) {
        return from.substr(open);
    }
    name = name.substr(first, last - first + 1);
    bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!ascii) {
        return MailMessage::encodeWord(name, "UTF-8") + " " + from.substr(open);
    }
    std::string quoted = "\"";
    for (char c : name) {
        if (c == '"' || c == '\\') {
            quoted += '\\';
        }
        quoted += c;
    }
    return quoted + "\" " + from.substr(open);
}

// Poco's quoted-printable encoder copies line breaks as given, and bare LF
// is not allowed in SMTP DATA (RFC 5321 section 2.3.8).
std::string withCrlf(const std::string& text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' || text[i] == '\n') {
            out += "\r\n";
            if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
        } else {
            out += text[i];
        }
    }
    return out;
}

void fillMessage(const EmailMessage& in, MailMessage& out) {
    out.setSender(encodeSender(in.from));
    out.addRecipient(Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, in.to));
    out.setSubject(MailMessage::encodeWord(in.subject, "UTF-8"));
    const std::string textType = "text/plain; charset=UTF-8";
    if (in.htmlBody.empty()) {
        out.setContentType(textType);
        out.setContent(withCrlf(in.textBody), MailMessage::ENCODING_QUOTED_PRINTABLE);
        return;
    }
    // Set before the first part, or Poco makes the message multipart/mixed.
    out.setContentType("multipart/alternative");
    out.addPart("", new Poco::Net::StringPartSource(withCrlf(in.textBody), textType), MailMessage::CONTENT_INLINE,
                MailMessage::ENCODING_QUOTED_PRINTABLE);
    out.addPart("", new Poco::Net::StringPartSource(withCrlf(in.htmlBody), "text/html; charset=UTF-8"),
                MailMessage::CONTENT_INLINE, MailMessage::ENCODING_QUOTED_PRINTABLE);
}

}  // namespace

SmtpMailer::SmtpMailer(std::string host, std::uint16_t port, int timeoutMs,
                       std::optional<SmtpCredentials> credentials)
    : host_(std::move(host)), port_(port), timeoutMs_(timeoutMs), credentials_(std::move(credentials)) {}

Status SmtpMailer::send(const EmailMessage& message) const {
    if (!hasValidAddresses(message) || !isSafeHeaderValue(message.from) ||
        !isSafeHeaderValue(message.to) || !isSafeHeaderValue(message.subject)) {
        return Status(Code::kInvalidArgument, "invalid-email",
                      "The email needs a sender and a recipient, and no header may contain a line break");
    }
    const std::string relay = host_ + ":" + std::to_string(port_);
    const Poco::Timespan timeout(static_cast<Poco::Timespan::TimeDiff>(timeoutMs_) * 1000);
    const char* step = "prepare the message";
    try {
        MailMessage mail;
        fillMessage(message, mail);

        step = "connect";
        Poco::Net::StreamSocket socket;
        socket.connect(Poco::Net::SocketAddress(host_, port_), timeout);
        Poco::Net::SMTPClientSession session(socket);
        session.setTimeout(timeout);

        step = "log in";
        if (credentials_) {
            session.login(Poco::Net::SMTPClientSession::AUTH_LOGIN, credentials_->username, credentials_->password);
        } else {
            session.login();
        }

        step = "send the message";
        session.sendMessage(mail);
        try {
            session.close();
        } catch (const Poco::Exception&) {
            // The relay already accepted the message; a failed QUIT loses nothing.
        }
        return Status::ok();
    } catch (const Poco::Exception& e) {
        return Status(Code::kUnavailable, "smtp-unavailable",
                      "Could not " + std::string(step) + " on the mail relay " + relay + ": " + e.displayText());
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        return Status(Code::kUnavailable, "smtp-unavailable",
                      "Could not " + std::string(step) + " on the mail relay " + relay + ": " + e.what());
    }
}

}  // namespace ardoise::kernel::notify
