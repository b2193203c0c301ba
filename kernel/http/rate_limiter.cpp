#include "kernel/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace ardoise::kernel::http {

bool RateLimiter::allow(const std::string& key, int* retryAfterSeconds) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (buckets_.size() > 100000) {
        buckets_.clear();  // bound memory under a flood of distinct keys
    }
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
    auto& b = it->second;
    if (!fresh) {
        const double elapsed = std::chrono::duration<double>(now - b.last).count();
        b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
        b.last = now;
    }
    if (b.tokens >= 1) {
        b.tokens -= 1;
        return true;
    }
    if (retryAfterSeconds != nullptr) {
        *retryAfterSeconds = std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rate_)));
    }
    return false;
}

void RateLimiter::reset() {
    std::lock_guard lock(mutex_);
    buckets_.clear();
}

}  // namespace ardoise::kernel::http
