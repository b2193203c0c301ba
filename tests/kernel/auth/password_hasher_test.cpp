#include "kernel/auth/password_hasher.hpp"

#include <catch2/catch.hpp>
#include <sodium.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>

using namespace ardoise;
using namespace ardoise::kernel::auth;

namespace {
// Cheap parameters keep the gate tests fast; the OWASP defaults are tested once.
const HashParams kCheap{1, 8U * 1024U};

std::vector<std::string> reasons(const Status& status) {
    std::vector<std::string> out;
    for (const auto& field : status.fields()) {
        CHECK(field.pointer == "/password");
        CHECK_FALSE(field.detail.empty());
        out.push_back(field.reason);
    }
    return out;
}

// Waits (bounded) until `predicate` holds; the assertion is on the predicate, not on time.
template <typename Predicate>
bool eventually(Predicate predicate) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!predicate()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::yield();
    }
    return true;
}
}  // namespace

TEST_CASE("A password hashed with the OWASP defaults verifies, and a wrong one does not", "[auth][password]") {
    PasswordHasher hasher;
    const std::string stored = hasher.hash("correct horse battery staple");
    CHECK(stored.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
    CHECK(hasher.verify(stored, "correct horse battery staple"));
    CHECK_FALSE(hasher.verify(stored, "correct horse battery stapl"));
    CHECK_FALSE(hasher.verify(stored, ""));
    CHECK_FALSE(hasher.needsRehash(stored));
}

TEST_CASE("Two hashes of one password differ because each has its own salt", "[auth][password]") {
    PasswordHasher hasher(kCheap);
    CHECK(hasher.hash("same password here") != hasher.hash("same password here"));
}

TEST_CASE("Verification refuses garbage, truncated and NUL-laden stored hashes", "[auth][password]") {
    PasswordHasher hasher(kCheap);
    const std::string stored = hasher.hash("a long enough pw");
    CHECK_FALSE(hasher.verify("", "a long enough pw"));
    CHECK_FALSE(hasher.verify("not a hash", "a long enough pw"));
    CHECK_FALSE(hasher.verify(stored.substr(0, stored.size() - 4), "a long enough pw"));
    CHECK_FALSE(hasher.verify(stored + std::string(200, 'A'), "a long enough pw"));
    CHECK_FALSE(hasher.verify(stored + std::string(1, '\0') + "x", "a long enough pw"));
}

TEST_CASE("A hash made with older cost or another algorithm needs a rehash", "[auth][password]") {
    PasswordHasher current;
    PasswordHasher old(kCheap);
    CHECK(current.needsRehash(old.hash("some password 1")));
    CHECK_FALSE(old.needsRehash(old.hash("some password 1")));
    CHECK(current.needsRehash("garbage"));
    CHECK(current.needsRehash(""));

    // argon2i with the very same cost is still not argon2id (argon2i needs t >= 3).
    PasswordHasher t3(HashParams{3, 19456U * 1024U});
    std::array<char, crypto_pwhash_STRBYTES> argon2i{};
    const std::string pw = "some password 1";
    REQUIRE(crypto_pwhash_str_alg(argon2i.data(), pw.data(), pw.size(), 3, 19456U * 1024U,
                                  crypto_pwhash_ALG_ARGON2I13) == 0);
    CHECK(t3.verify(argon2i.data(), pw));
    CHECK(t3.needsRehash(argon2i.data()));
    CHECK_FALSE(t3.needsRehash(t3.hash(pw)));
}

TEST_CASE("verifyDummy spends a real verification and does not throw", "[auth][password]") {
    PasswordHasher hasher(kCheap);
    hasher.verifyDummy("anything at all");
    hasher.verifyDummy("");
    CHECK(hasher.verifyDummyBounded("again").isOk());
}

TEST_CASE("The policy accepts a long uncommon password", "[auth][password][policy]") {
    PasswordHasher hasher(kCheap);
    CHECK(hasher.checkPolicy("Tableau noir & craie 42", "marie@ecole.fr").isOk());
    CHECK(hasher.checkPolicy("0123456789abcdef", "").isOk());
}

TEST_CASE("The policy refuses a password shorter than 10 code points, counting UTF-8 characters",
          "[auth][password][policy]") {
    PasswordHasher hasher(kCheap);
    const Status status = hasher.checkPolicy("Zx9!qr", "a@b.c");
    CHECK(status.code() == Code::kInvalidArgument);
    CHECK(status.type() == "weak-password");
    CHECK(reasons(status) == std::vector<std::string>{"too-short"});
    // 9 characters but 18 bytes: still too short.
    CHECK(reasons(hasher.checkPolicy("éèàùçôîâê", "a@b.c")) == std::vector<std::string>{"too-short"});
    // 10 characters of 2 bytes each: long enough.
    CHECK(hasher.checkPolicy("éèàùçôîâêë", "a@b.c").isOk());
}

TEST_CASE("The policy refuses common passwords in English and French usage, whatever the case",
          "[auth][password][policy]") {
    PasswordHasher hasher(kCheap);
    for (const char* pw : {"1234567890", "azertyuiop", "MotDePasse", "motdepasse123", "Soleil1234",
                           "QWERTYUIOP", "password123", "bienvenue123"}) {
        INFO(pw);
        CHECK(reasons(hasher.checkPolicy(pw, "x@y.z")) == std::vector<std::string>{"too-common"});
    }
    // Short and common: both reasons are reported.
    CHECK(reasons(hasher.checkPolicy("password", "x@y.z")) == std::vector<std::string>{"too-short", "too-common"});
    CHECK(reasons(hasher.checkPolicy("soleil123", "x@y.z")) == std::vector<std::string>{"too-short", "too-common"});
}

TEST_CASE("The policy refuses a password over 256 bytes without further checks", "[auth][password][policy]") {
    PasswordHasher hasher(kCheap);
    CHECK(hasher.checkPolicy(std::string(256, 'k'), "x@y.z").isOk());
    CHECK(reasons(hasher.checkPolicy(std::string(257, 'k'), "x@y.z")) == std::vector<std::string>{"too-long"});
}

TEST_CASE("The policy refuses the email address, its local part, or a password containing the email",
          "[auth][password][policy]") {
    PasswordHasher hasher(kCheap);
    const std::string email = "Jean.Dupont@Ecole-Exemple.fr";
    CHECK(reasons(hasher.checkPolicy("jean.dupont@ecole-exemple.fr", email)) ==
          std::vector<std::string>{"contains-email"});
    CHECK(reasons(hasher.checkPolicy("JEAN.DUPONT", email)) == std::vector<std::string>{"contains-email"});
    CHECK(reasons(hasher.checkPolicy("!jean.dupont@ecole-exemple.fr!", email)) ==
          std::vector<std::string>{"contains-email"});
    CHECK(hasher.checkPolicy("jean.dupont is a teacher", email).isOk());
}

TEST_CASE("A saturated gate refuses at once with 429 instead of queueing", "[auth][password][gate]") {
    PasswordHasher hasher(kCheap, 1, 0);
    auto held = hasher.gate().acquire();
    REQUIRE(held.isOk());
    CHECK(hasher.gate().running() == 1);

    const auto hashed = hasher.hashBounded("a long enough pw");
    REQUIRE_FALSE(hashed.isOk());
    CHECK(hashed.status().code() == Code::kRateLimited);
    CHECK(hashed.status().type() == "too-many-requests");
    const auto verified = hasher.verifyBounded("$argon2id$whatever", "a long enough pw");
    REQUIRE_FALSE(verified.isOk());
    CHECK(verified.status().code() == Code::kRateLimited);
    CHECK(hasher.verifyDummyBounded("x").code() == Code::kRateLimited);

    held = Status();  // release the slot by replacing the Result
    CHECK(hasher.gate().running() == 0);
    const auto after = hasher.hashBounded("a long enough pw");
    REQUIRE(after.isOk());
    const auto ok = hasher.verifyBounded(after.value(), "a long enough pw");
    REQUIRE(ok.isOk());
    CHECK(ok.value());
}

TEST_CASE("A gate queues up to maxWaiting callers, refuses the next, and admits the queued one on release",
          "[auth][password][gate]") {
    HashGate gate(1, 1);
    auto held = gate.acquire();
    REQUIRE(held.isOk());

    std::atomic<bool> queuedGotSlot{false};
    std::thread queued([&] {
        auto slot = gate.acquire();
        queuedGotSlot = slot.isOk();
    });
    REQUIRE(eventually([&] { return gate.waiting() == 1; }));
    CHECK_FALSE(queuedGotSlot);

    const auto refused = gate.acquire();
    REQUIRE_FALSE(refused.isOk());
    CHECK(refused.status().code() == Code::kRateLimited);

    held = Status();
    queued.join();
    CHECK(queuedGotSlot);
    CHECK(gate.running() == 0);
    CHECK(gate.waiting() == 0);
}

TEST_CASE("A flood of concurrent hashes never exceeds the gate's concurrency and refuses the overflow",
          "[auth][password][gate]") {
    PasswordHasher hasher(kCheap, 2, 2);
    auto first = hasher.gate().acquire();
    auto second = hasher.gate().acquire();
    REQUIRE((first.isOk() && second.isOk()));

    std::atomic<int> succeeded{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < 2; ++i) {
        waiters.emplace_back([&] {
            if (hasher.hashBounded("flood password").isOk()) {
                ++succeeded;
            }
        });
    }
    REQUIRE(eventually([&] { return hasher.gate().waiting() == 2; }));
    int refused = 0;
    for (int i = 0; i < 5; ++i) {
        refused += hasher.hashBounded("flood password").status().code() == Code::kRateLimited ? 1 : 0;
    }
    CHECK(refused == 5);
    CHECK(hasher.gate().running() == 2);

    first = Status();
    second = Status();
    for (auto& t : waiters) {
        t.join();
    }
    CHECK(succeeded == 2);
    CHECK(hasher.gate().running() == 0);
}
