#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace ardoise::kernel::http {

/// Token buckets keyed by a string (tenant, or IP + account), in the GCRA
/// form: one atomic "theoretical arrival time" per key, so requests of one
/// tenant do not serialize on a lock. In memory, per node.
class RateLimiter {
public:
    RateLimiter(double perSecond, double burst);
    /// Takes one token; false (and the seconds to wait) when the bucket is empty.
    bool allow(const std::string& key, int* retryAfterSeconds = nullptr);
    void reset();

private:
    bool take(std::atomic<std::int64_t>& tat, std::int64_t now, int* retryAfterSeconds) const;

    std::int64_t intervalNs_;  ///< time one token takes to come back
    std::int64_t burstNs_;     ///< how far ahead of now the bucket may run
    std::shared_mutex mutex_;
    std::unordered_map<std::string, std::unique_ptr<std::atomic<std::int64_t>>> tat_;
};

}  // namespace ardoise::kernel::http
