#include "kernel/http/server.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <algorithm>
#include <istream>

#include "kernel/http/problem.hpp"

namespace ardoise::kernel::http {
namespace {

void send(Poco::Net::HTTPServerResponse& out, const Response& r) {
    out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
    if (!r.contentType.empty()) {
        out.setContentType(r.contentType);
    }
    for (const auto& [k, v] : r.headers) {
        out.set(k, v);
    }
    out.setContentLength(static_cast<std::streamsize>(r.body.size()));
    if (r.status == 204) {
        out.send();
        return;
    }
    out.sendBuffer(r.body.data(), r.body.size());
}

class Handler : public Poco::Net::HTTPRequestHandler {
public:
    Handler(Pipeline& pipeline, const ServerOptions& options) : pipeline_(pipeline), options_(options) {}

    void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
        Request req;
        req.method = in.getMethod();
        req.target = in.getURI();
        req.remoteIp = in.clientAddress().host().toString();
        for (const auto& [k, v] : in) {
            std::string key = k;
            std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
            req.headers[key] = v;
        }
        try {
            Poco::URI uri(req.target);
            req.path = uri.getPath();
            for (const auto& [k, v] : uri.getQueryParameters()) {
                req.query[k] = v;
            }
        } catch (const Poco::Exception&) {
            req.path = req.target.substr(0, req.target.find('?'));
            reject(req, out, Status(Code::kInvalidArgument, "bad-request", "The request address is malformed."));
            return;
        }
        const auto declared = in.getContentLength64();
        if (declared > static_cast<std::int64_t>(options_.maxBodyBytes)) {
            reject(req, out, tooLarge());
            return;
        }
        if (declared > 0 || in.getChunkedTransferEncoding()) {
            req.body.resize(options_.maxBodyBytes + 1);
            auto& stream = in.stream();
            stream.read(req.body.data(), static_cast<std::streamsize>(req.body.size()));
            req.body.resize(static_cast<std::size_t>(stream.gcount()));
            if (req.body.size() > options_.maxBodyBytes) {
                reject(req, out, tooLarge());
                return;
            }
        }
        send(out, pipeline_.handle(req));
    }

private:
    Status tooLarge() const {
        return Status(Code::kPayloadTooLarge, "payload-too-large", "The request body is too large.")
            .addExtra("max_bytes", std::to_string(options_.maxBodyBytes));
    }
    void reject(Request& req, Poco::Net::HTTPServerResponse& out, const Status& status) {
        req.locale = negotiateLocale(req.header("accept-language"), "fr");
        auto r = problemResponse(status, req);
        out.setKeepAlive(false);  // the unread body would poison the connection
        send(out, r);
    }

    Pipeline& pipeline_;
    const ServerOptions& options_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Factory(Pipeline& pipeline, const ServerOptions& options) : pipeline_(pipeline), options_(options) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new Handler(pipeline_, options_);
    }

private:
    Pipeline& pipeline_;
    const ServerOptions& options_;
};

}  // namespace

Server::Server(Pipeline& pipeline, ServerOptions options) : pipeline_(pipeline), options_(std::move(options)) {}

Server::~Server() { stop(); }

void Server::start() {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(options_.host, static_cast<Poco::UInt16>(options_.port)), true);
    socket.listen(std::max(64, options_.maxQueued));
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(options_.maxThreads);
    params->setMaxQueued(options_.maxQueued);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);  // unlimited
    params->setKeepAliveTimeout(Poco::Timespan(options_.keepAliveTimeoutSeconds, 0));
    params->setServerName("Ardoise");
    pool_ = std::make_unique<Poco::ThreadPool>(4, options_.maxThreads, 60, 256 * 1024);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(pipeline_, options_), *pool_, socket, params);
    server_->start();
}

void Server::stop() {
    if (server_) {
        server_->stopAll(true);
        server_.reset();
    }
    if (pool_) {
        pool_->joinAll();
        pool_.reset();
    }
}

int Server::port() const { return server_ ? server_->port() : options_.port; }

}  // namespace ardoise::kernel::http
