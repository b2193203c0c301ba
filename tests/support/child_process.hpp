#pragma once
// Helpers for tests that run a real server as a child process.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ardoise::test {

/// A child process whose stdout is read by the test. Its stdin is a pipe the
/// test holds open, so a child that watches stdin can exit if the test dies;
/// stderr is inherited. Not thread-safe.
class ChildProcess {
public:
    /// Starts `argv[0]` (an absolute path, not looked up in PATH) with `argv`
    /// and the test's environment. Throws std::runtime_error if it cannot.
    explicit ChildProcess(const std::vector<std::string>& argv);
    /// Stops the child (see stop()).
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }

    /// Reads stdout until a line equal to `line` (without its newline) has
    /// been read. False on timeout or when stdout closes first. Lines read
    /// along the way are kept in output().
    bool waitForLine(const std::string& line, std::chrono::milliseconds timeout);

    /// Everything read from stdout so far.
    const std::string& output() const { return output_; }

    /// Sends SIGTERM, waits up to two seconds, then SIGKILL; reaps the child.
    /// Returns the raw wait status, or -1 if already stopped. Idempotent.
    int stop();

private:
    pid_t pid_ = -1;
    int stdoutFd_ = -1;
    int stdinFd_ = -1;
    std::string output_;
    std::size_t scanned_ = 0;
};

struct CommandResult {
    int exitCode = -1;
    std::string output;  ///< stdout and stderr together
};

/// Runs a shell command line and waits for it.
CommandResult runCommand(const std::string& command);

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
/// released). Another process may take it before the caller binds it.
std::uint16_t freeLoopbackPort();

/// A new empty directory under $TMPDIR (or /tmp), removed on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace ardoise::test
