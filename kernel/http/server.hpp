#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "kernel/http/pipeline.hpp"

namespace Poco::Net {
class TCPServer;
}
namespace Poco {
class ThreadPool;
}

namespace ardoise::kernel::http {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;  ///< 0 picks a free port
    /// Poco holds one thread per keep-alive connection, so this is the number
    /// of concurrent connections served; more wait in the queue.
    int maxThreads = 512;
    int maxQueued = 1024;
    std::size_t maxBodyBytes = 1 << 20;
    int keepAliveTimeoutSeconds = 15;
};

/// Sets `request.path` and `request.query` from `request.target` as the server
/// does; false when the target is not a valid URI (the server answers 400).
bool parseTarget(Request& request);
/// Stores a header under its lower-case name, as the pipeline expects.
void setHeader(Request& request, const std::string& name, const std::string& value);

/// The Poco HTTP server in front of the pipeline.
class ConnectionSet;

class Server {
public:
    Server(Pipeline& pipeline, ServerOptions options);
    ~Server();
    void start();
    void stop();
    /// The bound port (useful with port 0).
    int port() const;

private:
    Pipeline& pipeline_;
    ServerOptions options_;
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<ConnectionSet> live_;
    std::unique_ptr<Poco::Net::TCPServer> server_;
};

}  // namespace ardoise::kernel::http
