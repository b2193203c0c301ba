#include "kernel/http/server.hpp"

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <algorithm>
#include <chrono>
#include <istream>
#include <mutex>
#include <set>

#include "kernel/http/problem.hpp"

namespace ardoise::kernel::http {
namespace {

void send(Poco::Net::HTTPServerResponse& out, const Response& r) {
    out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
    if (!r.contentType.empty()) {
        out.setContentType(r.contentType);
    }
    for (const auto& [k, v] : r.headers) {
        out.set(k, v);
    }
    if (r.stream) {
        out.setChunkedTransferEncoding(true);
        out.set("Cache-Control", "no-cache");
        std::ostream& body = out.send();
        try {
            r.stream([&body](const std::string& piece) {
                try {
                    body.write(piece.data(), static_cast<std::streamsize>(piece.size()));
                    body.flush();
                    return static_cast<bool>(body);
                } catch (const Poco::Exception&) {
                    return false;  // the client has gone
                }
            });
        } catch (const std::exception&) {
            // Headers are gone already: the body just ends.
        }
        return;
    }
    out.setContentLength(static_cast<std::streamsize>(r.body.size()));
    if (r.status == 204) {
        out.send();
        return;
    }
    out.sendBuffer(r.body.data(), r.body.size());
}

bool isToken(const std::string& method) {
    if (method.empty() || method.size() > 16) {
        return false;
    }
    for (char c : method) {
        if (c < 'A' || c > 'Z') {
            return false;
        }
    }
    return true;
}

/// Converts one Poco request to the kernel's and back.
class Handler {
public:
    Handler(Pipeline& pipeline, const ServerOptions& options) : pipeline_(pipeline), options_(options) {}

    /// False when the request was refused before its body was read (the
    /// connection must then close).
    bool handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) {
        Request req;
        req.method = in.getMethod();
        if (!isToken(req.method) || in.getVersion().rfind("HTTP/1.", 0) != 0 || in.getURI().empty() ||
            in.getURI()[0] != '/') {
            reject(req, out, Status(Code::kInvalidArgument, "bad-request", "The request is not valid HTTP."));
            return false;
        }
        req.target = in.getURI();
        req.remoteIp = in.clientAddress().host().toString();
        for (const auto& [k, v] : in) {
            setHeader(req, k, v);
        }
        if (!parseTarget(req)) {
            req.path = req.target.substr(0, req.target.find('?'));
            reject(req, out, Status(Code::kInvalidArgument, "bad-request", "The request address is malformed."));
            return false;
        }
        const auto declared = in.getContentLength64();
        if (declared > static_cast<std::int64_t>(options_.maxBodyBytes)) {
            reject(req, out, tooLarge());
            return false;
        }
        if (declared > 0 || in.getChunkedTransferEncoding()) {
            // Read what was declared, or chunks up to one byte past the limit.
            auto& stream = in.stream();
            const std::size_t limit = declared > 0 ? static_cast<std::size_t>(declared) : options_.maxBodyBytes + 1;
            char buf[16384];
            while (req.body.size() < limit && stream) {
                stream.read(buf, static_cast<std::streamsize>(std::min(sizeof buf, limit - req.body.size())));
                req.body.append(buf, static_cast<std::size_t>(stream.gcount()));
            }
            if (req.body.size() > options_.maxBodyBytes) {
                reject(req, out, tooLarge());
                return false;
            }
        }
        send(out, pipeline_.handle(req));
        return true;
    }

private:
    Status tooLarge() const {
        return Status(Code::kPayloadTooLarge, "payload-too-large", "The request body is too large.")
            .addExtra("max_bytes", std::to_string(options_.maxBodyBytes));
    }
    void reject(Request& req, Poco::Net::HTTPServerResponse& out, const Status& status) {
        req.locale = negotiateLocale(req.header("accept-language"), "fr");
        auto r = problemResponse(status, req);
        out.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
        out.setKeepAlive(false);  // the unread body would poison the connection
        send(out, r);
    }

    Pipeline& pipeline_;
    const ServerOptions& options_;
};

}  // namespace

/// Live connections, so stop() can end idle keep-alive ones at once.
class ConnectionSet {
public:
    void add(Poco::Net::StreamSocket* s) {
        std::lock_guard lock(mutex_);
        live_.insert(s);
    }
    void remove(Poco::Net::StreamSocket* s) {
        std::lock_guard lock(mutex_);
        live_.erase(s);
    }
    void shutdownAll() {
        std::lock_guard lock(mutex_);
        for (auto* s : live_) {
            try {
                s->shutdown();
            } catch (const Poco::Exception&) {
            }
        }
    }

private:
    std::mutex mutex_;
    std::set<Poco::Net::StreamSocket*> live_;
};

namespace {

/// Poco's HTTPServerConnection answers malformed requests (huge headers,
/// garbage) with an empty 400 of its own; this loop is the same but answers
/// them with problem+json like every other error.
class Connection : public Poco::Net::TCPServerConnection {
public:
    Connection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params, Pipeline& pipeline,
               const ServerOptions& options, ConnectionSet& live)
        : Poco::Net::TCPServerConnection(socket), params_(std::move(params)), pipeline_(pipeline), options_(options),
          live_(live) {}

    void run() override {
        live_.add(&socket());
        Poco::Net::HTTPServerSession session(socket(), params_);
        Handler handler(pipeline_, options_);
        bool refused = false;
        while (!refused && session.hasMoreRequests()) {
            try {
                Poco::Net::HTTPServerResponseImpl response(session);
                Poco::Net::HTTPServerRequestImpl request(response, session, params_);
                response.setDate(Poco::Timestamp());
                response.setVersion(request.getVersion());
                response.setKeepAlive(params_->getKeepAlive() && request.getKeepAlive() && session.canKeepAlive());
                response.set("Server", "Ardoise");
                refused = !handler.handleRequest(request, response);
                session.setKeepAlive(params_->getKeepAlive() && response.getKeepAlive() && session.canKeepAlive());
            } catch (const Poco::Net::NoMessageException&) {
                break;
            } catch (const Poco::Net::MessageException& e) {
                reject(e.message());
                break;
            } catch (const Poco::Exception&) {
                break;  // the peer went away
            }
        }
        if (refused) {
            // After the response objects are gone, so their output is flushed.
            try {
                lingeringClose();
            } catch (const Poco::Exception&) {
            }
        }
        live_.remove(&socket());
    }

private:
    void reject(const std::string& why) {
        const bool tooLarge = why.find("too long") != std::string::npos || why.find("Too many") != std::string::npos;
        Request req;
        req.locale = "fr";
        auto r = problemResponse(tooLarge ? Status(Code::kHeadersTooLarge, "headers-too-large",
                                                   "The request headers are too large.")
                                          : Status(Code::kInvalidArgument, "bad-request", "The request is not valid HTTP."),
                                 req);
        // Written to the socket directly: with no parsed request, Poco's
        // response object would send the headers but drop the body.
        std::string raw = "HTTP/1.1 " + std::to_string(r.status) + " " +
                          Poco::Net::HTTPResponse::getReasonForStatus(
                              static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status)) +
                          "\r\nContent-Type: " + r.contentType + "\r\nContent-Length: " +
                          std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
        try {
            socket().sendBytes(raw.data(), static_cast<int>(raw.size()));
            lingeringClose();
        } catch (const Poco::Exception&) {
        }
    }

    /// Closing with unread input makes the kernel send a reset, which can
    /// destroy the response before the client reads it: stop sending, then
    /// read and drop what the client still sends, for a bounded time.
    void lingeringClose() {
        socket().shutdownSend();
        socket().setReceiveTimeout(Poco::Timespan(0, 200000));
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        char buf[16384];
        while (std::chrono::steady_clock::now() < deadline && socket().receiveBytes(buf, sizeof buf) > 0) {
        }
    }

    Poco::Net::HTTPServerParams::Ptr params_;
    Pipeline& pipeline_;
    const ServerOptions& options_;
    ConnectionSet& live_;
};

class Factory : public Poco::Net::TCPServerConnectionFactory {
public:
    Factory(Poco::Net::HTTPServerParams::Ptr params, Pipeline& pipeline, const ServerOptions& options, ConnectionSet& live)
        : params_(std::move(params)), pipeline_(pipeline), options_(options), live_(live) {}
    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
        return new Connection(socket, params_, pipeline_, options_, live_);
    }

private:
    Poco::Net::HTTPServerParams::Ptr params_;
    Pipeline& pipeline_;
    const ServerOptions& options_;
    ConnectionSet& live_;
};

}  // namespace

bool parseTarget(Request& request) {
    try {
        Poco::URI uri(request.target);
        request.path = uri.getPath();
        for (const auto& [k, v] : uri.getQueryParameters()) {
            request.query[k] = v;
        }
        return true;
    } catch (const Poco::Exception&) {
        return false;
    }
}

void setHeader(Request& request, const std::string& name, const std::string& value) {
    std::string key = name;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    request.headers[key] = value;
}

Server::Server(Pipeline& pipeline, ServerOptions options)
    : pipeline_(pipeline), options_(std::move(options)), live_(std::make_unique<ConnectionSet>()) {}

Server::~Server() { stop(); }

void Server::start() {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(options_.host, static_cast<Poco::UInt16>(options_.port)), true);
    socket.listen(std::max(64, options_.maxQueued));
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(options_.maxThreads);
    params->setMaxQueued(options_.maxQueued);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);  // unlimited
    params->setKeepAliveTimeout(Poco::Timespan(options_.keepAliveTimeoutSeconds, 0));
    params->setServerName("Ardoise");
    pool_ = std::make_unique<Poco::ThreadPool>(4, options_.maxThreads, 60, 256 * 1024);
    server_ = std::make_unique<Poco::Net::TCPServer>(new Factory(params, pipeline_, options_, *live_), *pool_, socket,
                                                     params);
    server_->start();
}

void Server::stop() {
    if (server_) {
        server_->stop();
        live_->shutdownAll();
        server_.reset();
    }
    if (pool_) {
        pool_->joinAll();
        pool_.reset();
    }
}

int Server::port() const { return server_ ? server_->port() : options_.port; }

}  // namespace ardoise::kernel::http
