// What the kernel costs per request: the real `ardoise` server answering
// GET /api/v1/me (token verified, tenant resolved, user and session read from
// SQLite) against a bare Poco HTTPServer that returns the same bytes with the
// same server parameters. wrk drives both, alternating, and the server CPU per
// request comes from /proc/<pid>/stat.
//
//   api_vs_bare_poco [--smoke] [--seconds N] [--connections 64,256] [--rounds N]
//                    [--wrk-threads N] [--http-threads N] [--keep]
//   api_vs_bare_poco --bare-server PORT BODYFILE [CONTENT_TYPE] [THREADS] [QUEUED]
//
// It exits non-zero only when something fails to start: a missed target is a
// figure to read, not a failure.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Ardoise's own defaults (kernel/app/config.hpp), given to both servers.
constexpr int kDefaultHttpThreads = 512;
constexpr int kDefaultMaxQueued = 1024;
constexpr int kKeepAliveSeconds = 15;

// The targets this benchmark is read against.
constexpr double kTargetRatio = 0.60;
constexpr double kTargetP99Ms = 10.0;
constexpr long kTargetErrors = 0;

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ------------------------------------------------------------ bare server

class BareHandler : public Poco::Net::HTTPRequestHandler {
public:
    BareHandler(const std::string& body, const std::string& type) : body_(body), type_(type) {}
    void handleRequest(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& out) override {
        out.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
        out.setContentType(type_);
        out.setContentLength(static_cast<std::streamsize>(body_.size()));
        out.sendBuffer(body_.data(), body_.size());
    }

private:
    const std::string& body_;
    const std::string& type_;
};

class BareFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    BareFactory(std::string body, std::string type) : body_(std::move(body)), type_(std::move(type)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new BareHandler(body_, type_);
    }

private:
    std::string body_;
    std::string type_;
};

// Mirrors kernel/http/server.cpp: the same socket backlog, server parameters
// and thread pool, so the only difference left is the work per request.
int bareServer(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: " << argv[0] << " --bare-server PORT BODYFILE [CONTENT_TYPE] [THREADS] [QUEUED]\n";
        return 2;
    }
    const int port = std::atoi(argv[2]);
    std::ifstream in(argv[3], std::ios::binary);
    if (!in) {
        std::cerr << "bare server: cannot read " << argv[3] << "\n";
        return 1;
    }
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string type = argc > 4 ? argv[4] : "application/json";
    const int threads = argc > 5 ? std::atoi(argv[5]) : kDefaultHttpThreads;
    const int queued = argc > 6 ? std::atoi(argv[6]) : kDefaultMaxQueued;

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), true);
    socket.listen(std::max(64, queued));
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(threads);
    params->setMaxQueued(queued);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);
    params->setKeepAliveTimeout(Poco::Timespan(kKeepAliveSeconds, 0));
    params->setServerName("Bare");
    Poco::ThreadPool pool(4, threads, 60, 256 * 1024);
    Poco::Net::HTTPServer server(new BareFactory(std::move(body), type), pool, socket, params);
    server.start();
    std::cout << "bare server listening on http://127.0.0.1:" << server.port() << std::endl;
    int sig = 0;
    sigwait(&signals, &sig);
    server.stopAll(true);
    pool.joinAll();
    return 0;
}

// ------------------------------------------------------------ child processes

struct Child {
    pid_t pid = -1;
    int stdoutFd = -1;
};

Child spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::string& stderrFile) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        throw Failure(std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrFile.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    // The child's environment: ours, with `env` set on top.
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        if (eq != std::string::npos) {
            merged[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    for (const auto& [k, v] : env) {
        merged[k] = v;
    }
    std::vector<std::string> envStrings;
    for (const auto& [k, v] : merged) {
        envStrings.push_back(k + "=" + v);
    }
    std::vector<char*> envp;
    for (auto& s : envStrings) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    for (auto& a : args) {
        argp.push_back(a.data());
    }
    argp.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argp[0], &actions, nullptr, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
        ::close(out[0]);
        throw Failure("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
    return {pid, out[0]};
}

/// Reads the child's stdout until a line contains `marker`; returns that line.
std::optional<std::string> waitForLine(const Child& child, const std::string& marker, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string buffer;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{child.stdoutFd, POLLIN, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(1, left.count()))) <= 0) {
            continue;
        }
        char chunk[512];
        const ssize_t n = ::read(child.stdoutFd, chunk, sizeof chunk);
        if (n <= 0) {
            return std::nullopt;  // the child closed stdout: it exited
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = buffer.find('\n')) != std::string::npos) {
            std::string line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            if (line.find(marker) != std::string::npos) {
                return line;
            }
        }
    }
    return std::nullopt;
}

std::string readAll(int fd) {
    std::string out;
    char chunk[4096];
    ssize_t n;
    while ((n = ::read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) {
            out.append(chunk, static_cast<std::size_t>(n));
        }
    }
    return out;
}

int waitExit(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Runs a command to completion; returns its stdout, throws when it fails.
std::string runOrFail(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                      const std::string& stderrFile) {
    Child c = spawn(argv, env, stderrFile);
    std::string out = readAll(c.stdoutFd);
    ::close(c.stdoutFd);
    if (int rc = waitExit(c.pid); rc != 0) {
        std::ifstream err(stderrFile);
        std::stringstream text;
        text << err.rdbuf();
        std::string cmd;
        for (const auto& a : argv) {
            cmd += (cmd.empty() ? "" : " ") + a;
        }
        throw Failure("`" + cmd + "` exited with " + std::to_string(rc) + "\n" + out + text.str());
    }
    return out;
}

void stopChild(Child& c) {
    if (c.pid > 0) {
        ::kill(c.pid, SIGTERM);
        waitExit(c.pid);
        c.pid = -1;
    }
    if (c.stdoutFd >= 0) {
        ::close(c.stdoutFd);
        c.stdoutFd = -1;
    }
}

int portFromLine(const std::string& line) {
    const auto colon = line.rfind(':');
    return colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
}

/// utime + stime of a process, in clock ticks.
long long cpuTicks(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces; count fields after its ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos) {
        return 0;
    }
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    long long utime = 0;
    long long stime = 0;
    for (int i = 3; rest >> field; ++i) {
        if (i == 14) {
            utime = std::stoll(field);
        } else if (i == 15) {
            stime = std::stoll(field);
            break;
        }
    }
    return utime + stime;
}

// ------------------------------------------------------------ HTTP client

struct Reply {
    int status = 0;
    std::string contentType;
    std::string body;
};

Reply httpCall(int port, const std::string& method, const std::string& path,
               const std::map<std::string, std::string>& headers, const std::string& body = "") {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) {
        request.set(k, v);
    }
    if (!body.empty()) {
        request.setContentType("application/json");
        request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply r;
    r.status = static_cast<int>(response.getStatus());
    r.contentType = response.getContentType();
    r.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return r;
}

// ------------------------------------------------------------ wrk

struct RunResult {
    std::string target;
    int connections = 0;
    long long requests = 0;
    long long durationUs = 0;
    long connectErrors = 0;
    long readErrors = 0;
    long writeErrors = 0;
    long timeouts = 0;
    long badStatus = 0;
    long long p50Us = 0;
    long long p99Us = 0;
    long long cpuTicks = 0;

    double rps() const { return durationUs > 0 ? static_cast<double>(requests) * 1e6 / static_cast<double>(durationUs) : 0; }
    long errors() const { return connectErrors + readErrors + writeErrors + timeouts + badStatus; }
    double cpuUsPerRequest() const {
        return requests > 0 ? static_cast<double>(cpuTicks) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK)) /
                                  static_cast<double>(requests)
                            : 0;
    }
};

// The `done` callback prints one line the benchmark parses; no `response`
// callback, so wrk keeps its fast path (it would otherwise hand every
// response to Lua).
std::string wrkScript(const std::string& token) {
    return "wrk.method = \"GET\"\n"
           "wrk.headers[\"Authorization\"] = \"Bearer " + token + "\"\n"
           "wrk.headers[\"X-Tenant\"] = \"demo\"\n"
           "done = function(summary, latency, requests)\n"
           "  local e = summary.errors\n"
           "  io.write(string.format(\"WRKRESULT requests=%d duration_us=%d connect=%d read=%d write=%d "
           "timeout=%d status=%d p50_us=%d p99_us=%d\\n\",\n"
           "    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,\n"
           "    latency:percentile(50), latency:percentile(99)))\n"
           "end\n";
}

long long field(const std::string& line, const std::string& name) {
    const std::string key = " " + name + "=";
    const auto at = line.find(key);
    if (at == std::string::npos) {
        throw Failure("wrk output lacks " + name + ": " + line);
    }
    return std::stoll(line.substr(at + key.size()));
}

struct Options {
    bool smoke = false;
    int seconds = 10;
    std::vector<int> connections{64, 256};
    int rounds = 2;
    int wrkThreads = 2;
    int httpThreads = kDefaultHttpThreads;
    int warmupSeconds = 2;
    bool keep = false;
};

RunResult runWrk(const Options& o, const std::string& target, pid_t server, int port, int connections, int seconds,
                 const std::string& script, const std::string& scratch) {
    const int threads = std::min(o.wrkThreads, connections);
    const long long before = cpuTicks(server);
    Child wrk = spawn({"wrk", "-t", std::to_string(threads), "-c", std::to_string(connections), "-d",
                       std::to_string(seconds) + "s", "--timeout", "5s", "-s", script,
                       "http://127.0.0.1:" + std::to_string(port) + "/api/v1/me"},
                      {}, scratch + "/wrk.stderr");
    const std::string out = readAll(wrk.stdoutFd);
    ::close(wrk.stdoutFd);
    const int rc = waitExit(wrk.pid);
    const long long after = cpuTicks(server);
    const auto at = out.find("WRKRESULT");
    if (rc != 0 || at == std::string::npos) {
        throw Failure("wrk failed (exit " + std::to_string(rc) + "):\n" + out);
    }
    const std::string line = " " + out.substr(at + 10, out.find('\n', at) - at - 10);
    RunResult r;
    r.target = target;
    r.connections = connections;
    r.requests = field(line, "requests");
    r.durationUs = field(line, "duration_us");
    r.connectErrors = static_cast<long>(field(line, "connect"));
    r.readErrors = static_cast<long>(field(line, "read"));
    r.writeErrors = static_cast<long>(field(line, "write"));
    r.timeouts = static_cast<long>(field(line, "timeout"));
    r.badStatus = static_cast<long>(field(line, "status"));
    r.p50Us = field(line, "p50_us");
    r.p99Us = field(line, "p99_us");
    r.cpuTicks = after - before;
    return r;
}

/// Several rounds of one target at one connection count, as one row:
/// throughput over the summed time, the worst p99, the mean p50.
RunResult combine(const std::vector<RunResult>& runs) {
    RunResult c = runs.front();
    c.requests = c.durationUs = c.cpuTicks = c.p50Us = c.p99Us = 0;
    c.connectErrors = c.readErrors = c.writeErrors = c.timeouts = c.badStatus = 0;
    for (const auto& r : runs) {
        c.requests += r.requests;
        c.durationUs += r.durationUs;
        c.cpuTicks += r.cpuTicks;
        c.connectErrors += r.connectErrors;
        c.readErrors += r.readErrors;
        c.writeErrors += r.writeErrors;
        c.timeouts += r.timeouts;
        c.badStatus += r.badStatus;
        c.p50Us += r.p50Us;
        c.p99Us = std::max(c.p99Us, r.p99Us);
    }
    c.p50Us /= static_cast<long long>(runs.size());
    return c;
}

std::string fixed(double v, int digits) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

void printRow(const RunResult& r, const std::string& label) {
    std::cout << std::left << std::setw(9) << label << std::right << std::setw(6) << r.connections
              << std::setw(11) << fixed(r.rps(), 0) << std::setw(9) << fixed(static_cast<double>(r.p50Us) / 1000, 2)
              << std::setw(9) << fixed(static_cast<double>(r.p99Us) / 1000, 2) << "   " << std::left << std::setw(22)
              << (std::to_string(r.connectErrors) + "/" + std::to_string(r.readErrors) + "/" +
                  std::to_string(r.writeErrors) + "/" + std::to_string(r.timeouts) + "/" +
                  std::to_string(r.badStatus))
              << std::right << std::setw(9) << fixed(r.cpuUsPerRequest(), 1) << "\n";
}

void printHeader() {
    std::cout << std::left << std::setw(9) << "target" << std::right << std::setw(6) << "conns" << std::setw(11)
              << "req/s" << std::setw(9) << "p50 ms" << std::setw(9) << "p99 ms" << "   " << std::left
              << std::setw(22) << "errors c/r/w/t/http" << std::right << std::setw(9) << "cpu us/r" << "\n";
}

Options parseOptions(int argc, char** argv) {
    Options o;
    bool secondsGiven = false;
    bool connectionsGiven = false;
    bool roundsGiven = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw Failure("missing value after " + a);
            }
            return argv[++i];
        };
        if (a == "--smoke") {
            o.smoke = true;
        } else if (a == "--seconds") {
            o.seconds = std::max(1, std::stoi(next()));
            secondsGiven = true;
        } else if (a == "--connections") {
            o.connections.clear();
            std::stringstream list(next());
            for (std::string item; std::getline(list, item, ',');) {
                o.connections.push_back(std::max(1, std::stoi(item)));
            }
            connectionsGiven = true;
        } else if (a == "--rounds") {
            o.rounds = std::max(1, std::stoi(next()));
            roundsGiven = true;
        } else if (a == "--wrk-threads") {
            o.wrkThreads = std::max(1, std::stoi(next()));
        } else if (a == "--http-threads") {
            o.httpThreads = std::max(1, std::stoi(next()));
        } else if (a == "--warmup") {
            o.warmupSeconds = std::max(0, std::stoi(next()));
        } else if (a == "--keep") {
            o.keep = true;
        } else {
            throw Failure("unknown option " + a +
                          " (options: --smoke --seconds N --connections A,B --rounds N --wrk-threads N "
                          "--http-threads N --warmup N --keep)");
        }
    }
    if (o.smoke) {
        o.seconds = secondsGiven ? o.seconds : 1;
        o.connections = connectionsGiven ? o.connections : std::vector<int>{8, 32};
        o.rounds = roundsGiven ? o.rounds : 1;
        o.warmupSeconds = 0;
    }
    return o;
}

std::string selfPath() {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        throw Failure("cannot locate this executable: " + ec.message());
    }
    return p.string();
}

int benchmark(int argc, char** argv) {
    const Options o = parseOptions(argc, argv);
    const std::string ardoise = ARDOISE_BINARY;
    if (!fs::exists(ardoise)) {
        throw Failure(ardoise + " does not exist: build the `ardoise` target first");
    }
    char tmpl[] = "/tmp/ardoise-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
        throw Failure(std::string("mkdtemp: ") + std::strerror(errno));
    }
    const std::string scratch = tmpl;
    struct Cleanup {
        std::string dir;
        bool keep;
        Child ardoise;
        Child bare;
        ~Cleanup() {
            stopChild(ardoise);
            stopChild(bare);
            if (!keep) {
                std::error_code ec;
                fs::remove_all(dir, ec);
            }
        }
    } cleanup{scratch, o.keep, {}, {}};

    // Access log off: it writes one JSON line per request to stderr, which
    // would measure the disk. The tenant limiter raised far above what wrk can
    // send, or the benchmark would measure 429s (so is the plan's, below).
    const std::string ratePerSecond = "1000000000";
    const std::map<std::string, std::string> env = {
        {"ARDOISE_DATABASE_URL", "sqlite:" + scratch + "/ardoise.db"},
        {"ARDOISE_DATA_DIR", scratch},
        {"ARDOISE_SHARE_DIR", ARDOISE_SOURCE_DIR},
        {"ARDOISE_LISTEN", "127.0.0.1:0"},
        {"ARDOISE_ACCESS_LOG", "false"},
        {"ARDOISE_RATE_TENANT_PER_SECOND", ratePerSecond},
        {"ARDOISE_HTTP_THREADS", std::to_string(o.httpThreads)},
        {"ARDOISE_HTTP_MAX_QUEUED", std::to_string(kDefaultMaxQueued)},
        {"ARDOISE_OUTBOX", "false"},
    };
    const std::string serverLog = scratch + "/ardoise.stderr";
    runOrFail({ardoise, "migrate"}, env, serverLog);
    // The demo school, its plans without a per-minute API limit: the
    // benchmark measures the request path, not the plan's 429s.
    const std::string demo = scratch + "/demo";
    fs::copy(std::string(ARDOISE_SOURCE_DIR) + "/tenants/demo", demo, fs::copy_options::recursive);
    json plans = json::parse(std::ifstream(demo + "/plans.json"));
    for (auto& plan : plans) {
        plan["limits"]["api_requests_per_minute"] = nullptr;
    }
    std::ofstream(demo + "/plans.json") << plans.dump(2);
    runOrFail({ardoise, "tenant", "apply", demo}, env, serverLog);
    cleanup.ardoise = spawn({ardoise, "serve"}, env, serverLog);
    auto line = waitForLine(cleanup.ardoise, "listening on http://", std::chrono::seconds(30));
    if (!line) {
        throw Failure("ardoise serve did not start; see " + serverLog);
    }
    const int ardoisePort = portFromLine(*line);

    const auto login = httpCall(ardoisePort, "POST", "/api/v1/auth/login", {{"X-Tenant", "demo"}},
                                R"({"email":"admin@demo.ardoise.test","password":"demo-admin-2026"})");
    if (login.status != 200) {
        throw Failure("login answered " + std::to_string(login.status) + ": " + login.body);
    }
    const std::string token = json::parse(login.body).at("access_token").get<std::string>();
    const std::map<std::string, std::string> authHeaders = {{"Authorization", "Bearer " + token}, {"X-Tenant", "demo"}};
    const auto me = httpCall(ardoisePort, "GET", "/api/v1/me", authHeaders);
    if (me.status != 200) {
        throw Failure("GET /api/v1/me answered " + std::to_string(me.status) + ": " + me.body);
    }

    const std::string bodyFile = scratch + "/me.json";
    std::ofstream(bodyFile, std::ios::binary) << me.body;
    cleanup.bare = spawn({selfPath(), "--bare-server", "0", bodyFile, me.contentType, std::to_string(o.httpThreads),
                          std::to_string(kDefaultMaxQueued)},
                         {}, scratch + "/bare.stderr");
    line = waitForLine(cleanup.bare, "listening on http://", std::chrono::seconds(30));
    if (!line) {
        throw Failure("the bare server did not start; see " + scratch + "/bare.stderr");
    }
    const int barePort = portFromLine(*line);
    const auto bareMe = httpCall(barePort, "GET", "/api/v1/me", authHeaders);
    if (bareMe.status != 200 || bareMe.body != me.body || bareMe.contentType != me.contentType) {
        throw Failure("the bare server does not answer what Ardoise answered");
    }

    const std::string script = scratch + "/auth.lua";
    std::ofstream(script) << wrkScript(token);

    std::cout << "api_vs_bare_poco: GET /api/v1/me, " << me.body.size() << "-byte " << me.contentType
              << " body; wrk " << std::min(o.wrkThreads, o.connections.front()) << " threads, " << o.seconds
              << " s per run, " << o.rounds << " round(s) per target, alternating" << (o.smoke ? " (smoke)" : "")
              << "\n"
              << "ardoise: SQLite in " << scratch << ", access log OFF, tenant rate limit raised to "
              << ratePerSecond << "/s (not throttling), outbox off\n"
              << "both servers: HTTPServerParams maxThreads=" << o.httpThreads << " maxQueued=" << kDefaultMaxQueued
              << " keep-alive " << kKeepAliveSeconds << " s, ThreadPool(4.." << o.httpThreads << ")\n"
              << "errors: wrk connect/read/write/timeout and HTTP status >= 400; CPU from /proc/<pid>/stat ("
              << sysconf(_SC_CLK_TCK) << " ticks/s)\n\n";

    struct Target {
        std::string name;
        pid_t pid;
        int port;
    };
    const Target targets[2] = {{"ardoise", cleanup.ardoise.pid, ardoisePort}, {"bare", cleanup.bare.pid, barePort}};
    std::map<int, std::pair<RunResult, RunResult>> summary;
    printHeader();
    for (int c : o.connections) {
        if (o.warmupSeconds > 0) {
            for (const auto& t : targets) {
                runWrk(o, t.name, t.pid, t.port, c, o.warmupSeconds, script, scratch);
            }
        }
        std::vector<RunResult> runs[2];
        for (int round = 0; round < o.rounds; ++round) {
            // Alternate which server goes first so drift in the machine's
            // load does not favour one of them.
            for (int k = 0; k < 2; ++k) {
                const int i = (round % 2 == 0) ? k : 1 - k;
                auto r = runWrk(o, targets[i].name, targets[i].pid, targets[i].port, c, o.seconds, script, scratch);
                printRow(r, r.target);
                runs[i].push_back(r);
            }
        }
        summary[c] = {combine(runs[0]), combine(runs[1])};
    }

    std::cout << "\nsummary (all rounds: throughput over summed time, worst p99, mean p50)\n";
    printHeader();
    for (int c : o.connections) {
        printRow(summary[c].first, "ardoise");
        printRow(summary[c].second, "bare");
    }
    std::cout << "\n";
    for (int c : o.connections) {
        const auto& [a, b] = summary[c];
        const double ratio = b.rps() > 0 ? a.rps() / b.rps() : 0;
        std::cout << "ratio ardoise/bare at " << c << " connections: " << fixed(ratio, 2) << " (target >= "
                  << fixed(kTargetRatio, 2) << "), ardoise p99 " << fixed(static_cast<double>(a.p99Us) / 1000, 2)
                  << " ms (target < " << fixed(kTargetP99Ms, 0) << " ms), ardoise errors " << a.errors()
                  << " (target " << kTargetErrors << ")\n";
    }
    std::cout << "targets are stated for 64 connections (ratio, p99) and 256 (errors) on SQLite; wrk shares the "
                 "machine with both servers.\n";

    // The headline: the first connection count for throughput and latency,
    // the last one for errors and throughput under load.
    const int first = o.connections.front();
    const int last = o.connections.back();
    const auto& [fa, fb] = summary[first];
    const auto& [la, lb] = summary[last];
    std::cout << "headline: ratio" << first << "=" << fixed(fb.rps() > 0 ? fa.rps() / fb.rps() : 0, 2) << " p99_"
              << first << "_ms=" << fixed(static_cast<double>(fa.p99Us) / 1000, 1) << " errors" << last << "="
              << la.errors() << " ratio" << last << "=" << fixed(lb.rps() > 0 ? la.rps() / lb.rps() : 0, 2)
              << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--bare-server") {
        try {
            return bareServer(argc, argv);
        } catch (const std::exception& e) {
            std::cerr << "bare server: " << e.what() << "\n";
            return 1;
        }
    }
    ::signal(SIGPIPE, SIG_IGN);
    try {
        return benchmark(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "api_vs_bare_poco: " << e.what() << "\n";
        return 1;
    }
}
