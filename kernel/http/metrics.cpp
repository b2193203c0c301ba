#include "kernel/http/metrics.hpp"

#include <atomic>
#include <sstream>

namespace ardoise::kernel::http {

std::string promLabel(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void Metrics::observeRequest(const std::string& route, const std::string& method, int status, double seconds,
                             const std::string& tenantSlug) {
    const std::string routeLabels = "route=\"" + promLabel(route) + "\",method=\"" + method + "\"";
    const std::string labels = routeLabels + ",status=\"" + std::to_string(status) + "\"";
    static std::atomic<std::size_t> nextShard{0};
    thread_local const std::size_t mine = nextShard++ % kShards;
    auto& shard = shards_[mine];
    std::lock_guard lock(shard.mutex);
    ++shard.requests[labels];
    auto& h = shard.latency[routeLabels];
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i]) {
            ++h.counts[i];
        }
    }
    ++h.count;
    h.sum += seconds;
    if (!tenantSlug.empty()) {
        ++shard.tenantRequests[tenantSlug];
    }
}

void Metrics::increment(const std::string& name, const std::string& labels, double by) {
    std::lock_guard lock(mutex_);
    counters_[{name, labels}] += by;
}

void Metrics::set(const std::string& name, const std::string& labels, double value) {
    std::lock_guard lock(mutex_);
    gaugeValues_[{name, labels}] = value;
}

void Metrics::addGauge(const std::string& name, const std::string& help, std::function<double()> read) {
    std::lock_guard lock(mutex_);
    gauges_[name] = {help, std::move(read)};
}

std::string Metrics::render() const {
    std::map<std::string, std::uint64_t> requests_;
    std::map<std::string, Histogram> latency_;
    std::map<std::string, std::uint64_t> tenantRequests_;
    for (auto& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        for (const auto& [k, n] : shard.requests) {
            requests_[k] += n;
        }
        for (const auto& [k, h] : shard.latency) {
            auto& total = latency_[k];
            for (std::size_t i = 0; i < kBuckets.size(); ++i) {
                total.counts[i] += h.counts[i];
            }
            total.count += h.count;
            total.sum += h.sum;
        }
        for (const auto& [k, n] : shard.tenantRequests) {
            tenantRequests_[k] += n;
        }
    }
    std::ostringstream out;
    std::lock_guard lock(mutex_);
    out << "# HELP ardoise_http_requests_total HTTP requests by route, method and status.\n"
           "# TYPE ardoise_http_requests_total counter\n";
    for (const auto& [labels, n] : requests_) {
        out << "ardoise_http_requests_total{" << labels << "} " << n << "\n";
    }
    out << "# HELP ardoise_http_request_duration_seconds Request latency by route.\n"
           "# TYPE ardoise_http_request_duration_seconds histogram\n";
    for (const auto& [labels, h] : latency_) {
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            out << "ardoise_http_request_duration_seconds_bucket{" << labels << ",le=\"" << kBuckets[i] << "\"} "
                << h.counts[i] << "\n";
        }
        out << "ardoise_http_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} " << h.count << "\n";
        out << "ardoise_http_request_duration_seconds_sum{" << labels << "} " << h.sum << "\n";
        out << "ardoise_http_request_duration_seconds_count{" << labels << "} " << h.count << "\n";
    }
    out << "# HELP ardoise_tenant_requests_total Requests per tenant.\n"
           "# TYPE ardoise_tenant_requests_total counter\n";
    for (const auto& [slug, n] : tenantRequests_) {
        out << "ardoise_tenant_requests_total{tenant=\"" << promLabel(slug) << "\"} " << n << "\n";
    }
    auto series = [&out](const std::map<std::pair<std::string, std::string>, double>& values, const char* type) {
        std::string last;
        for (const auto& [key, value] : values) {
            if (key.first != last) {
                out << "# TYPE " << key.first << " " << type << "\n";
                last = key.first;
            }
            out << key.first;
            if (!key.second.empty()) {
                out << "{" << key.second << "}";
            }
            out << " " << value << "\n";
        }
    };
    series(counters_, "counter");
    series(gaugeValues_, "gauge");
    for (const auto& [name, g] : gauges_) {
        out << "# HELP " << name << " " << g.first << "\n# TYPE " << name << " gauge\n"
            << name << " " << g.second() << "\n";
    }
    return out.str();
}

}  // namespace ardoise::kernel::http
