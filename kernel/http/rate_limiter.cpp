#include "kernel/http/rate_limiter.hpp"

#include <algorithm>
#include <mutex>

namespace ardoise::kernel::http {

RateLimiter::RateLimiter(double perSecond, double burst)
    : intervalNs_(static_cast<std::int64_t>(1e9 / std::max(perSecond, 1e-9))),
      burstNs_(static_cast<std::int64_t>(std::max(burst, 1.0) * static_cast<double>(intervalNs_))) {}

bool RateLimiter::allow(const std::string& key, int* retryAfterSeconds) {
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    for (;;) {
        {
            // The shared lock is held while the bucket is used: clear() below
            // takes it exclusively, so no bucket is freed under a reader.
            std::shared_lock lock(mutex_);
            auto it = tat_.find(key);
            if (it != tat_.end()) {
                return take(*it->second, now, retryAfterSeconds);
            }
        }
        std::unique_lock lock(mutex_);
        if (tat_.size() > 100000) {
            tat_.clear();  // bound memory under a flood of distinct keys
        }
        auto& slot = tat_[key];
        if (!slot) {
            slot = std::make_unique<std::atomic<std::int64_t>>(now);
        }
    }
}

bool RateLimiter::take(std::atomic<std::int64_t>& tat, std::int64_t now, int* retryAfterSeconds) const {
    std::int64_t current = tat.load(std::memory_order_relaxed);
    for (;;) {
        const std::int64_t next = std::max(current, now) + intervalNs_;
        if (next - now > burstNs_) {
            if (retryAfterSeconds != nullptr) {
                *retryAfterSeconds = static_cast<int>((next - now - burstNs_) / 1000000000 + 1);
            }
            return false;
        }
        if (tat.compare_exchange_weak(current, next, std::memory_order_relaxed)) {
            return true;
        }
    }
}

void RateLimiter::reset() {
    std::unique_lock lock(mutex_);
    tat_.clear();
}

}  // namespace ardoise::kernel::http
