#pragma once
// Prometheus metrics kept in memory: counters and latency histograms.

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <functional>

namespace ardoise::kernel::http {

class Metrics {
public:
    /// Records one finished request.
    void observeRequest(const std::string& route, const std::string& method, int status, double seconds,
                        const std::string& tenantSlug);
    void increment(const std::string& name, const std::string& labels = "", double by = 1);
    /// Sets a gauge series to `value`.
    void set(const std::string& name, const std::string& labels, double value);
    /// Gauges read when /metrics is rendered (e.g. DB pool use).
    void addGauge(const std::string& name, const std::string& help, std::function<double()> read);
    /// Prometheus text exposition format 0.0.4.
    std::string render() const;

    static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,   0.1,   0.25,   0.5,   1,     5};

private:
    struct Histogram {
        std::array<std::uint64_t, kBuckets.size()> counts{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    // Request series are sharded by thread so concurrent requests rarely
    // contend; render() merges the shards.
    struct Shard {
        std::mutex mutex;
        std::map<std::string, std::uint64_t> requests;  // labels → count
        std::map<std::string, Histogram> latency;       // labels → histogram
        std::map<std::string, std::uint64_t> tenantRequests;
    };
    static constexpr std::size_t kShards = 16;
    mutable std::array<Shard, kShards> shards_;
    mutable std::mutex mutex_;  // counters_ and gauges_
    std::map<std::pair<std::string, std::string>, double> counters_;
    std::map<std::pair<std::string, std::string>, double> gaugeValues_;
    std::map<std::string, std::pair<std::string, std::function<double()>>> gauges_;
};

/// Escapes a Prometheus label value.
std::string promLabel(const std::string& value);

}  // namespace ardoise::kernel::http
