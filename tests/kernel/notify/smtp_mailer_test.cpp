#include "kernel/notify/smtp_mailer.hpp"

#include "support/child_process.hpp"
#include "support/smtp_sink.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

using ardoise::Code;
using ardoise::kernel::notify::EmailMessage;
using ardoise::kernel::notify::SmtpMailer;
using ardoise::test::ChildProcess;
using ardoise::test::freeLoopbackPort;
using ardoise::test::SmtpSink;
using ardoise::test::TempDir;

namespace {

constexpr int kTimeoutMs = 3000;


// SMTP requires CRLF: a bare LF in stored mail means a line break was sent wrong.
bool hasBareLf(const std::string& raw) {
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) {
            return true;
        }
    }
    return false;
}

// Poco always ends DATA with its own CRLF, adding a line after the body.
std::string withoutTrailingNewlines(std::string text) {
    while (!text.empty() && text.back() == '\n') {
        text.pop_back();
    }
    return text;
}

std::string withoutCr(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c != '\r') {
            out += c;
        }
    }
    return out;
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return std::toupper(static_cast<unsigned char>(c)) - 'A' + 10;
}

// Quoted-printable body (RFC 2045); `header` switches to the RFC 2047 "Q"
// variant, where "_" is a space.
std::string decodeQuotedPrintable(const std::string& text, bool header = false) {
    std::string in = withoutCr(text);
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '=' && i + 1 < in.size() && in[i + 1] == '\n') {
            ++i;  // soft line break
        } else if (in[i] == '=' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
            out += static_cast<char>(hexValue(in[i + 1]) * 16 + hexValue(in[i + 2]));
            i += 2;
        } else if (header && in[i] == '_') {
            out += ' ';
        } else {
            out += in[i];
        }
    }
    return out;
}

// A header value made of RFC 2047 "Q" encoded words and/or plain text.
// Whitespace between two encoded words is dropped, as the RFC says.
std::string decodeHeader(const std::string& value) {
    std::string out;
    std::size_t pos = 0;
    bool lastWasEncoded = false;
    while (pos < value.size()) {
        auto start = value.find("=?", pos);
        std::string between = value.substr(pos, start == std::string::npos ? std::string::npos : start - pos);
        bool blank = between.find_first_not_of(" \t\r\n") == std::string::npos;
        if (!(lastWasEncoded && blank)) {
            out += between;
        }
        if (start == std::string::npos) {
            break;
        }
        auto q1 = value.find('?', start + 2);
        auto q2 = value.find('?', q1 + 1);
        auto end = value.find("?=", q2 + 1);
        REQUIRE(end != std::string::npos);
        std::string encoding = value.substr(q1 + 1, q2 - q1 - 1);
        REQUIRE((encoding == "q" || encoding == "Q"));
        out += decodeQuotedPrintable(value.substr(q2 + 1, end - q2 - 1), true);
        pos = end + 2;
        lastWasEncoded = true;
    }
    return out;
}

struct ParsedMail {
    std::map<std::string, std::string> headers;  // lower-case names, unfolded values
    std::string body;
};

ParsedMail parseMail(const std::string& raw) {
    std::string text = withoutCr(raw);
    auto split = text.find("\n\n");
    REQUIRE(split != std::string::npos);
    ParsedMail mail;
    mail.body = text.substr(split + 2);
    std::istringstream lines(text.substr(0, split));
    std::string line;
    std::string name;
    while (std::getline(lines, line)) {
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
            mail.headers[name] += line;  // folded continuation
            continue;
        }
        auto colon = line.find(':');
        REQUIRE(colon != std::string::npos);
        name = line.substr(0, colon);
        for (auto& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        auto value = line.substr(colon + 1);
        mail.headers[name] = value.substr(value.find_first_not_of(' ') == std::string::npos
                                              ? value.size()
                                              : value.find_first_not_of(' '));
    }
    return mail;
}

EmailMessage frenchMessage() {
    EmailMessage m;
    m.from = "Ardoise <no-reply@ecole.example.sn>";
    m.to = "fatou.sow@example.sn";
    m.subject = "Réinitialisation du mot de passe";
    m.textBody =
        "Bonjour Fatou,\n\nPour réinitialiser votre mot de passe, suivez ce lien : "
        "https://ecole.example.sn/r/abc\n\nÀ bientôt, l'équipe de l'école.\n";
    return m;
}

}  // namespace

TEST_CASE("A French email reaches a real SMTP server with recipient, subject and body intact", "[smtp]") {
    SmtpSink sink;
    SmtpMailer mailer("127.0.0.1", sink.port, kTimeoutMs);
    auto message = frenchMessage();

    auto status = mailer.send(message);
    REQUIRE(status.message() == "");
    REQUIRE(status.isOk());

    auto raw = sink.message(1);
    CHECK_FALSE(hasBareLf(raw));
    auto mail = parseMail(raw);
    CHECK(mail.headers["x-envelope-to"] == "fatou.sow@example.sn");
    CHECK(mail.headers["x-envelope-from"] == "no-reply@ecole.example.sn");
    CHECK(mail.headers["to"].find("fatou.sow@example.sn") != std::string::npos);
    CHECK(mail.headers["subject"] != message.subject);  // really encoded on the wire
    CHECK(decodeHeader(mail.headers["subject"]) == message.subject);
    CHECK(mail.headers["content-type"].find("text/plain") != std::string::npos);
    CHECK(mail.headers["content-type"].find("UTF-8") != std::string::npos);
    CHECK(mail.headers["content-transfer-encoding"] == "quoted-printable");
    CHECK(withoutTrailingNewlines(decodeQuotedPrintable(mail.body)) == withoutTrailingNewlines(message.textBody));
}

TEST_CASE("An accented sender name is encoded and the envelope uses the bare address", "[smtp]") {
    SmtpSink sink;
    SmtpMailer mailer("127.0.0.1", sink.port, kTimeoutMs);
    auto message = frenchMessage();
    message.from = "École Jean-Mermoz <secretariat@ecole.example.sn>";
    REQUIRE(mailer.send(message).isOk());
    auto mail = parseMail(sink.message(1));
    CHECK(mail.headers["x-envelope-from"] == "secretariat@ecole.example.sn");
    CHECK(mail.headers["from"].find("É") == std::string::npos);
    CHECK(decodeHeader(mail.headers["from"]) == message.from);
}

TEST_CASE("A long accented subject survives header folding", "[smtp]") {
    SmtpSink sink;
    SmtpMailer mailer("127.0.0.1", sink.port, kTimeoutMs);
    auto message = frenchMessage();
    message.subject =
        "Conseil de classe du 3e trimestre : résultats, appréciations et décisions d'orientation "
        "pour les élèves de 3ème — réunion avec les parents d'élèves à l'école élémentaire";

    REQUIRE(mailer.send(message).isOk());
    auto raw = sink.message(1);
    auto mail = parseMail(raw);
    CHECK(decodeHeader(mail.headers["subject"]) == message.subject);
    // No line of the message exceeds the SMTP limit of 998 characters.
    std::istringstream lines(raw);
    std::string line;
    while (std::getline(lines, line)) {
        CHECK(line.size() <= 998);
    }
}

TEST_CASE("An email with an HTML part is sent as multipart/alternative", "[smtp]") {
    SmtpSink sink;
    SmtpMailer mailer("127.0.0.1", sink.port, kTimeoutMs);
    auto message = frenchMessage();
    message.htmlBody = "<p>Bonjour Fatou, <a href=\"https://ecole.example.sn/r/abc\">réinitialiser</a></p>";

    REQUIRE(mailer.send(message).isOk());
    auto raw = sink.message(1);
    CHECK_FALSE(hasBareLf(raw));
    auto mail = parseMail(raw);
    CHECK(mail.headers["content-type"].find("multipart/alternative") != std::string::npos);
    auto body = withoutCr(mail.body);
    CHECK(body.find("text/plain; charset=UTF-8") != std::string::npos);
    CHECK(body.find("text/html; charset=UTF-8") != std::string::npos);
    CHECK(decodeQuotedPrintable(body).find("réinitialiser</a>") != std::string::npos);
}

TEST_CASE("Several messages are stored one file each", "[smtp]") {
    SmtpSink sink;
    SmtpMailer mailer("127.0.0.1", sink.port, kTimeoutMs);
    auto message = frenchMessage();
    for (int i = 1; i <= 3; ++i) {
        message.to = "parent" + std::to_string(i) + "@example.sn";
        REQUIRE(mailer.send(message).isOk());
    }
    for (int i = 1; i <= 3; ++i) {
        CHECK(parseMail(sink.message(i)).headers["x-envelope-to"] == "parent" + std::to_string(i) + "@example.sn");
    }
}

TEST_CASE("A mailer pointed at a closed port returns kUnavailable promptly", "[smtp]") {
    SmtpMailer mailer("127.0.0.1", freeLoopbackPort(), kTimeoutMs);
    auto start = std::chrono::steady_clock::now();
    auto status = mailer.send(frenchMessage());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK(status.code() == Code::kUnavailable);
    CHECK(status.type() == "smtp-unavailable");
    CHECK(status.message().find("connect") != std::string::npos);
}

TEST_CASE("A relay that accepts the connection but never greets times out as kUnavailable", "[smtp]") {
    // A listening socket whose backlog completes the handshake, then silence.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });

    SmtpMailer mailer("127.0.0.1", ntohs(addr.sin_port), 300);
    auto start = std::chrono::steady_clock::now();
    auto status = mailer.send(frenchMessage());
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(status.code() == Code::kUnavailable);
    CHECK(status.type() == "smtp-unavailable");
    CHECK(elapsed >= std::chrono::milliseconds(250));
    CHECK(elapsed < std::chrono::seconds(3));
}

TEST_CASE("A line break in a header field is refused before anything is sent", "[smtp]") {
    SmtpMailer mailer("127.0.0.1", freeLoopbackPort(), kTimeoutMs);
    auto message = frenchMessage();
    message.subject = "Hello\r\nBcc: everyone@example.com";
    auto status = mailer.send(message);
    CHECK(status.code() == Code::kInvalidArgument);
    CHECK(status.type() == "invalid-email");

    message = frenchMessage();
    message.to = "a@example.sn\nBcc: b@example.sn";
    CHECK(mailer.send(message).type() == "invalid-email");
    message = frenchMessage();
    message.to = "";
    CHECK(mailer.send(message).type() == "invalid-email");
    message = frenchMessage();
    message.to = "Fatou <fatou@example.sn>";
    CHECK(mailer.send(message).type() == "invalid-email");
}
