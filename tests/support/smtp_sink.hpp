#pragma once
// A real SMTP server (tests/tools/smtp_sink.py, aiosmtpd) on a free loopback
// port, writing each message it receives to <dir>/<n>.eml.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <Poco/Net/MailMessage.h>

#include "support/child_process.hpp"

namespace ardoise::test {

// tests/tools/smtp_sink.py on a free loopback port, writing into its own
// temporary directory.
struct SmtpSink {
    TempDir dir;
    std::uint16_t port = freeLoopbackPort();
    ChildProcess process{{"/usr/bin/python3", std::string(ARDOISE_TESTS_DIR) + "/tools/smtp_sink.py", "--port",
                          std::to_string(port), "--dir", dir.path(), "--exit-on-stdin-eof"}};

    SmtpSink() {
        if (!process.waitForLine("ready", std::chrono::seconds(15))) {
            FAIL("smtp_sink.py did not start (is python3-aiosmtpd installed?); stdout: " << process.output());
        }
    }

    // The n-th message received (1-based); empty if it does not appear in time.
    std::string message(int n, std::chrono::seconds wait = std::chrono::seconds(5)) const {
        auto path = dir.path() + "/" + std::to_string(n) + ".eml";
        auto deadline = std::chrono::steady_clock::now() + wait;
        while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        std::ifstream in(path, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
};

/// The decoded text of a received message (quoted-printable undone).
inline std::string mailText(const std::string& eml) {
    std::istringstream in(eml);
    Poco::Net::MailMessage message;
    message.read(in);
    return message.getSubject() + "\n" + message.getContent();
}

}  // namespace ardoise::test
