#pragma once
// Password hashing (argon2id through libsodium), the password policy, and a
// gate that bounds how many hashes run at once so a login flood is refused
// with 429 instead of starving the server of CPU and memory.

#include "ardoise/status.hpp"

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>

namespace ardoise::kernel::auth {

/// Argon2id cost. The defaults are OWASP's minimum recommendation
/// (m = 19 MiB, t = 2, p = 1; libsodium always uses p = 1).
struct HashParams {
    unsigned long long opsLimit = 2;
    std::size_t memLimitBytes = 19456U * 1024U;
};

/// Bounds concurrent work: at most `maxConcurrent` holders of a slot, at most
/// `maxWaiting` callers blocked waiting for one; beyond that, acquire()
/// refuses at once. Thread-safe. Must outlive every Slot it handed out.
class HashGate {
public:
    /// Held while the work runs; releases its place on destruction. Move-only.
    class Slot {
    public:
        Slot(Slot&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
        Slot& operator=(Slot&& other) noexcept;
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        ~Slot();

    private:
        friend class HashGate;
        explicit Slot(HashGate* gate) : gate_(gate) {}
        HashGate* gate_;
    };

    /// Precondition: maxConcurrent >= 1.
    HashGate(std::size_t maxConcurrent, std::size_t maxWaiting);

    /// A slot, after blocking while all are taken. Fails at once with
    /// Status(kRateLimited, "too-many-requests") when `maxWaiting` callers
    /// are already blocked.
    Result<Slot> acquire();

    /// Slots held now. For metrics and tests.
    std::size_t running() const;
    /// Callers blocked in acquire() now. For metrics and tests.
    std::size_t waiting() const;

private:
    void release();

    const std::size_t maxConcurrent_;
    const std::size_t maxWaiting_;
    mutable std::mutex mutex_;
    std::condition_variable freed_;
    std::size_t running_ = 0;
    std::size_t waiting_ = 0;
};

/// Hashes and verifies passwords, checks the password policy. Thread-safe:
/// every member may be called concurrently.
class PasswordHasher {
public:
    /// Gate limits suit a 2-core server: two hashes at a time (19 MiB each),
    /// a short queue, 429 beyond.
    static constexpr std::size_t kDefaultMaxConcurrent = 2;
    static constexpr std::size_t kDefaultMaxWaiting = 16;
    /// Policy bounds.
    static constexpr std::size_t kMinCodePoints = 10;
    static constexpr std::size_t kMaxBytes = 256;

    /// Computes one hash (the dummy for verifyDummy()); throws std::bad_alloc
    /// when its memory cannot be had.
    explicit PasswordHasher(HashParams params = {}, std::size_t maxConcurrent = kDefaultMaxConcurrent,
                            std::size_t maxWaiting = kDefaultMaxWaiting);

    /// An encoded argon2id hash ("$argon2id$v=19$m=19456,t=2,p=1$...") with
    /// a random salt. Unbounded: callers on a request path use hashBounded().
    /// Throws std::bad_alloc when the memory for the hash cannot be had.
    std::string hash(const std::string& password) const;

    /// True when `password` matches `stored`. False for a wrong password and
    /// for a `stored` string that is not a libsodium hash.
    bool verify(const std::string& stored, const std::string& password) const;

    /// True when `stored` is not argon2id with this hasher's parameters
    /// (older cost, other algorithm, or unreadable): rehash after a
    /// successful login.
    bool needsRehash(const std::string& stored) const;

    /// Spends the time of a verify() against a hash with the current
    /// parameters, for logins naming an unknown account, so response time
    /// does not reveal which accounts exist.
    void verifyDummy(const std::string& password) const;

    /// hash(), verify() and verifyDummy() through the gate. They fail with
    /// Status(kRateLimited, "too-many-requests") when the queue is full, and
    /// hashBounded() with Status(kUnavailable, "hash-unavailable") when memory
    /// runs out.
    Result<std::string> hashBounded(const std::string& password) const;
    Result<bool> verifyBounded(const std::string& stored, const std::string& password) const;
    Status verifyDummyBounded(const std::string& password) const;

    /// The policy for a new password, before hashing. Returns
    /// Status(kInvalidArgument, "weak-password") with one FieldError on
    /// "/password" per broken rule: "too-long" (over 256 bytes, checked
    /// alone), "too-short" (under 10 UTF-8 code points), "too-common" (in the
    /// built-in list, case-insensitive), "contains-email" (equal to the email
    /// or its local part, or containing the whole email; case-insensitive).
    Status checkPolicy(const std::string& password, const std::string& email) const;

    /// The gate shared by the *Bounded members.
    HashGate& gate() const { return gate_; }

private:
    HashParams params_;
    mutable HashGate gate_;
    std::string dummyHash_;  ///< hash of random bytes, current parameters
};

}  // namespace ardoise::kernel::auth
