#include "kernel/auth/password_hasher.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <new>
#include <stdexcept>
#include <string_view>

namespace ardoise::kernel::auth {
namespace {

// Lowercase. Entries under 10 code points are already refused as too short;
// they stay so the list still holds if the minimum length is ever lowered.
constexpr std::string_view kCommonPasswords[] = {
    // Leaked-list classics.
    "123456", "123456789", "12345678", "1234567890", "12345", "1234567", "password", "password1",
    "password12", "password123", "password1234", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty", "qwerty123",
    "qwerty1234", "qwertyuiop", "qwertyuiop1", "qwerty123456", "1q2w3e4r", "1q2w3e4r5t", "1q2w3e4r5t6y",
    "q1w2e3r4t5", "q1w2e3r4t5y6", "zaq12wsx", "zaq1zaq1", "1qaz2wsx", "1qaz2wsx3edc", "abc123", "abcd1234",
    "abcdef123", "abcdefghij", "abcdefghijk", "abc1234567", "111111", "1111111111", "000000", "0000000000",
    "0123456789", "9876543210", "123123", "123123123", "1231231234", "123321", "123456a", "123456789a",
    "a123456789", "123456789q", "12345678910", "1234512345", "11223344", "1122334455", "121212",
    "654321", "666666", "696969", "7777777", "88888888", "987654321", "iloveyou", "iloveyou1",
    "iloveyou123", "letmein", "letmein123", "welcome", "welcome1", "welcome123", "welcome2024",
    "monkey", "dragon", "dragon123", "master", "master123", "sunshine", "sunshine1", "princess",
    "princess1", "football", "football1", "football123", "baseball", "basketball", "superman",
    "superman123", "batman", "batman123", "trustno1", "whatever", "whatever1", "starwars",
    "starwars123", "shadow", "michael", "jennifer", "jordan23", "charlie", "computer", "computer1",
    "internet", "changeme", "changeme123", "administrator", "admin", "admin123", "admin12345",
    "adminadmin", "root", "toor", "secret", "secret123", "default", "test1234", "testtest",
    "qazwsxedc", "qazwsxedcrfv", "asdfghjkl", "asdfghjkl1", "zxcvbnm", "zxcvbnm123", "aaaaaaaaaa",
    "pokemon123", "minecraft", "minecraft123", "fortnite123", "liverpool", "chelsea123", "arsenal123",
    // French-speaking usage (France, Belgium, Switzerland, Quebec, West Africa).
    "azerty", "azerty1", "azerty12", "azerty123", "azerty1234", "azertyuiop", "azertyuiop1",
    "azertyuiop123", "azerty123456", "azertyui", "a1z2e3r4t5", "a1z2e3r4t5y6", "wxcvbn", "wxcvbn123",
    "qsdfghjklm", "motdepasse", "motdepasse1", "motdepasse12", "motdepasse123", "mot2passe",
    "mot2passe123", "mdp123456", "soleil", "soleil123", "soleil1234", "doudou", "doudou123",
    "chouchou", "chouchou123", "loulou", "loulou123", "nicolas", "marseille", "marseille13",
    "parisaintgermain", "allezlom", "olympique", "jetaime", "jetaime123", "jetaimetoi",
    "bonjour", "bonjour123", "bonjour1234", "coucou", "coucou123", "tequiero", "camille123",
    "chocolat", "chocolat123", "princesse", "princesse123", "dakar2024", "abidjan225", "senegal221",
    "cameroun237", "ecole12345", "bienvenue", "bienvenue1", "bienvenue123", "ardoise123",
    "ardoise2024",
};

std::string asciiLower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::size_t codePoints(const std::string& text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    }));
}

Status rateLimited() {
    return Status(Code::kRateLimited, "too-many-requests", "Too many password checks in progress; retry shortly.")
        .addExtra("retry_after", "1");
}

void ensureSodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        throw std::runtime_error("libsodium failed to initialize");
    }
}

}  // namespace

// --- HashGate ----------------------------------------------------------------

HashGate::Slot& HashGate::Slot::operator=(Slot&& other) noexcept {
    if (this != &other) {
        if (gate_ != nullptr) {
            gate_->release();
        }
        gate_ = other.gate_;
        other.gate_ = nullptr;
    }
    return *this;
}

HashGate::Slot::~Slot() {
    if (gate_ != nullptr) {
        gate_->release();
    }
}

HashGate::HashGate(std::size_t maxConcurrent, std::size_t maxWaiting)
    : maxConcurrent_(maxConcurrent < 1 ? 1 : maxConcurrent), maxWaiting_(maxWaiting) {}

Result<HashGate::Slot> HashGate::acquire() {
    std::unique_lock lock(mutex_);
    if (running_ >= maxConcurrent_) {
        // Refuse rather than queue without bound: a flood must cost the
        // server a counter increment, not a 19 MiB hash.
        if (waiting_ >= maxWaiting_) {
            return rateLimited();
        }
        ++waiting_;
        freed_.wait(lock, [this] { return running_ < maxConcurrent_; });
        --waiting_;
    }
    ++running_;
    return Slot(this);
}

void HashGate::release() {
    {
        std::lock_guard lock(mutex_);
        --running_;
    }
    freed_.notify_one();
}

std::size_t HashGate::running() const {
    std::lock_guard lock(mutex_);
    return running_;
}

std::size_t HashGate::waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
}

// --- PasswordHasher ------------------------------------------------------------

PasswordHasher::PasswordHasher(HashParams params, std::size_t maxConcurrent, std::size_t maxWaiting)
    : params_(params), gate_(maxConcurrent, maxWaiting) {
    ensureSodium();
    // Made now, not on first use, so the first unknown-account login costs
    // one verify like every other.
    std::string random(32, '\0');
    randombytes_buf(random.data(), random.size());
    dummyHash_ = hash(random);
}

std::string PasswordHasher::hash(const std::string& password) const {
    std::array<char, crypto_pwhash_STRBYTES> out{};
    if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), params_.opsLimit,
                              params_.memLimitBytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        throw std::bad_alloc();  // libsodium's only failure with valid parameters
    }
    return std::string(out.data());
}

bool PasswordHasher::verify(const std::string& stored, const std::string& password) const {
    // libsodium reads a NUL-terminated string of at most STRBYTES.
    std::array<char, crypto_pwhash_STRBYTES> buffer{};
    if (stored.empty() || stored.size() >= buffer.size() || stored.find('\0') != std::string::npos) {
        return false;
    }
    std::copy(stored.begin(), stored.end(), buffer.begin());
    return crypto_pwhash_str_verify(buffer.data(), password.data(), password.size()) == 0;
}

bool PasswordHasher::needsRehash(const std::string& stored) const {
    std::array<char, crypto_pwhash_STRBYTES> buffer{};
    if (stored.empty() || stored.size() >= buffer.size() || stored.find('\0') != std::string::npos) {
        return true;
    }
    std::copy(stored.begin(), stored.end(), buffer.begin());
    // The argon2id variant returns -1 for argon2i strings, which the generic
    // crypto_pwhash_str_needs_rehash would accept.
    return crypto_pwhash_argon2id_str_needs_rehash(buffer.data(), params_.opsLimit, params_.memLimitBytes) != 0;
}

void PasswordHasher::verifyDummy(const std::string& password) const {
    static_cast<void>(verify(dummyHash_, password));
}

Result<std::string> PasswordHasher::hashBounded(const std::string& password) const {
    auto slot = gate_.acquire();
    if (!slot) {
        return slot.status();
    }
    try {
        return hash(password);
    } catch (const std::bad_alloc&) {
        return Status(Code::kUnavailable, "hash-unavailable", "Not enough memory to hash the password.");
    }
}

Result<bool> PasswordHasher::verifyBounded(const std::string& stored, const std::string& password) const {
    auto slot = gate_.acquire();
    if (!slot) {
        return slot.status();
    }
    return verify(stored, password);
}

Status PasswordHasher::verifyDummyBounded(const std::string& password) const {
    auto slot = gate_.acquire();
    if (!slot) {
        return slot.status();
    }
    verifyDummy(password);
    return Status::ok();
}

Status PasswordHasher::checkPolicy(const std::string& password, const std::string& email) const {
    Status weak(Code::kInvalidArgument, "weak-password", "The password does not meet the password policy.");
    if (password.size() > kMaxBytes) {
        weak.addField({"/password", "too-long", "Use at most 256 bytes."});
        return weak;
    }
    bool broken = false;
    if (codePoints(password) < kMinCodePoints) {
        weak.addField({"/password", "too-short", "Use at least 10 characters."});
        broken = true;
    }
    const std::string lower = asciiLower(password);
    if (std::find(std::begin(kCommonPasswords), std::end(kCommonPasswords), lower) != std::end(kCommonPasswords)) {
        weak.addField({"/password", "too-common", "This password is among the most commonly used; choose another."});
        broken = true;
    }
    const std::string mail = asciiLower(email);
    const std::string local = mail.substr(0, mail.find('@'));
    if (!mail.empty() && (lower == mail || lower == local || lower.find(mail) != std::string::npos)) {
        weak.addField({"/password", "contains-email", "The password must not be your email address."});
        broken = true;
    }
    return broken ? weak : Status::ok();
}

}  // namespace ardoise::kernel::auth
