#pragma once
// Runs the npm cross-check scripts of tests/js with node. A missing
// node_modules is a failure, not a skip: a skipped cross-check checks nothing.

#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace ardoise::test {

inline const std::string kJsDir = std::string(ARDOISE_TESTS_DIR) + "/js";

struct NodeRun {
    int exitCode = -1;
    std::string output;
};

inline std::string shellQuote(const std::string& arg) {
    std::string out = "'";
    for (char c : arg) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out.push_back(c);
        }
    }
    return out + "'";
}

inline void requireNodeModules() {
    for (const char* package : {"jose", "otplib", "@seriousme/openapi-schema-validator", "ical.js"}) {
        const auto path = std::filesystem::path(kJsDir) / "node_modules" / package / "package.json";
        if (!std::filesystem::exists(path)) {
            FAIL("the cross-check dependency '" << package << "' is missing from " << kJsDir
                                                << "/node_modules: run `npm ci` in tests/js");
        }
    }
}

inline NodeRun node(const std::string& script, const std::vector<std::string>& args) {
    requireNodeModules();
    std::string command = "node " + shellQuote(kJsDir + "/" + script);
    for (const auto& arg : args) {
        command += " " + shellQuote(arg);
    }
    command += " 2>&1";
    NodeRun run;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
        run.output.append(buffer.data(), n);
    }
    const int status = pclose(pipe);
    run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (run.exitCode == 127) {
        FAIL("`node` was not found on PATH; the cross-checks need Node.js: " << run.output);
    }
    while (!run.output.empty() && (run.output.back() == '\n' || run.output.back() == '\r')) {
        run.output.pop_back();
    }
    return run;
}

}  // namespace ardoise::test
