#pragma once
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ardoise::kernel::http {

/// Token buckets keyed by a string (tenant, or IP + account). In memory, per
/// node; see deploy/README.md for the shared (Redis) setup.
class RateLimiter {
public:
    RateLimiter(double perSecond, double burst) : rate_(perSecond), burst_(burst) {}
    /// Takes one token; false (and the seconds to wait) when the bucket is empty.
    bool allow(const std::string& key, int* retryAfterSeconds = nullptr);
    void reset();

private:
    struct Bucket {
        double tokens;
        std::chrono::steady_clock::time_point last;
    };
    double rate_;
    double burst_;
    std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace ardoise::kernel::http
