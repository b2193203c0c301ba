#include "kernel/plugins/semver.hpp"

#include <catch2/catch.hpp>

#include <string>

using ardoise::Code;
using ardoise::SdkVersion;
using ardoise::kernel::plugins::checkSdkCompatibility;
using ardoise::kernel::plugins::compareVersions;
using ardoise::kernel::plugins::parseVersion;
using ardoise::kernel::plugins::Version;
using ardoise::kernel::plugins::VersionRange;

namespace {

Version v(const char* text) {
    auto parsed = parseVersion(text);
    REQUIRE(parsed.isOk());
    return *parsed;
}

bool in(const char* range, const char* version) {
    auto parsed = VersionRange::parse(range);
    REQUIRE(parsed.isOk());
    return parsed->contains(v(version));
}

std::string rangeError(const char* range) {
    auto parsed = VersionRange::parse(range);
    REQUIRE_FALSE(parsed.isOk());
    CHECK(parsed.status().type() == "invalid-version-range");
    return parsed.status().message();
}

}  // namespace

TEST_CASE("A full version with prerelease and build metadata parses and prints back", "[plugins]") {
    auto parsed = v("1.22.333-beta.2+build.7");
    CHECK(parsed.major == 1);
    CHECK(parsed.minor == 22);
    CHECK(parsed.patch == 333);
    CHECK(parsed.prerelease == std::vector<std::string>{"beta", "2"});
    CHECK(parsed.build == "build.7");
    CHECK(parsed.toString() == "1.22.333-beta.2+build.7");
    CHECK(v("0.0.0").toString() == "0.0.0");
}

TEST_CASE("Malformed versions are refused with a message naming the problem", "[plugins]") {
    auto error = [](const char* text) {
        auto parsed = parseVersion(text);
        REQUIRE_FALSE(parsed.isOk());
        CHECK(parsed.status().code() == Code::kInvalidArgument);
        CHECK(parsed.status().type() == "invalid-version");
        return parsed.status().message();
    };
    CHECK(error("") == "'': is empty");
    CHECK(error("01.2.3") == "'01.2.3': the major part has a leading zero");
    CHECK(error("1.02.3") == "'1.02.3': the minor part has a leading zero");
    CHECK(error("1.2") == "'1.2': must have exactly three numeric parts, MAJOR.MINOR.PATCH (found 2)");
    CHECK(error("1.2.3.4") == "'1.2.3.4': must have exactly three numeric parts, MAJOR.MINOR.PATCH (found 4)");
    CHECK(error("-1.2.3") == "'-1.2.3': must start with a digit (no sign, 'v' prefix or space)");
    CHECK(error("1.-2.3") == "'1.-2.3': must have exactly three numeric parts, MAJOR.MINOR.PATCH (found 2)");
    CHECK(error("1.x.3") == "'1.x.3': the minor part 'x' must be a non-negative integer");
    CHECK(error("v1.2.3").find("must start with a digit") != std::string::npos);
    CHECK(error(" 1.2.3").find("must start with a digit") != std::string::npos);
    CHECK(error("1.2.3 ") == "'1.2.3 ': the patch part '3 ' must be a non-negative integer");
    CHECK(error("1..3") == "'1..3': the minor part is empty");
    CHECK(error("1.2.3-") == "'1.2.3-': the prerelease is empty");
    CHECK(error("1.2.3-beta..1") == "'1.2.3-beta..1': the prerelease has an empty identifier");
    CHECK(error("1.2.3-beta.01") == "'1.2.3-beta.01': the prerelease identifier '01' has a leading zero");
    CHECK(error("1.2.3-bé") == "'1.2.3-bé': the prerelease identifier 'bé' may only contain letters, digits and '-'");
    CHECK(error("1.2.3+") == "'1.2.3+': the build metadata is empty");
    CHECK(error("1234567890123456789.0.0").find("more than 18 digits") != std::string::npos);
    CHECK(parseVersion("1.2.3+001").isOk());  // leading zeros are fine in build metadata
}

TEST_CASE("Versions compare by semver precedence and ignore build metadata", "[plugins]") {
    CHECK(compareVersions(v("1.2.3"), v("1.2.10")) < 0);
    CHECK(compareVersions(v("1.10.0"), v("1.9.9")) > 0);
    CHECK(compareVersions(v("2.0.0"), v("10.0.0")) < 0);
    CHECK(compareVersions(v("1.0.0-rc.1"), v("1.0.0")) < 0);
    CHECK(compareVersions(v("1.0.0-alpha"), v("1.0.0-alpha.1")) < 0);
    CHECK(compareVersions(v("1.0.0-alpha.1"), v("1.0.0-alpha.beta")) < 0);
    CHECK(compareVersions(v("1.0.0-beta.2"), v("1.0.0-beta.11")) < 0);
    CHECK(compareVersions(v("1.0.0-beta.11"), v("1.0.0-rc.1")) < 0);
    CHECK(compareVersions(v("1.0.0+a"), v("1.0.0+b")) == 0);
}

TEST_CASE("Ranges accept exact, comparator, caret, tilde and star forms", "[plugins]") {
    CHECK(in("*", "0.0.1"));
    CHECK(in("1.2.3", "1.2.3"));
    CHECK_FALSE(in("1.2.3", "1.2.4"));
    CHECK(in("=1.2.3", "1.2.3+meta"));
    CHECK(in(">=0.1.0 <0.2.0", "0.1.9"));
    CHECK_FALSE(in(">=0.1.0 <0.2.0", "0.2.0"));
    CHECK_FALSE(in(">=0.1.0 <0.2.0", "0.0.9"));
    CHECK(in(">1.0.0  <=1.1.0", "1.1.0"));
    CHECK_FALSE(in(">1.0.0", "1.0.0"));
    CHECK(in("^1.2.3", "1.9.0"));
    CHECK_FALSE(in("^1.2.3", "2.0.0"));
    CHECK_FALSE(in("^1.2.3", "1.2.2"));
    CHECK(in("^0.1.0", "0.1.7"));
    CHECK_FALSE(in("^0.1.0", "0.2.0"));
    CHECK(in("^0.0.3", "0.0.3"));
    CHECK_FALSE(in("^0.0.3", "0.0.4"));
    CHECK(in("~1.2.0", "1.2.9"));
    CHECK_FALSE(in("~1.2.0", "1.3.0"));
}

TEST_CASE("A prerelease matches a range only when the range names a prerelease of the same version", "[plugins]") {
    CHECK_FALSE(in("^0.1.0", "0.2.0-alpha"));
    CHECK_FALSE(in("^1.0.0", "1.1.0-beta"));
    CHECK_FALSE(in("*", "1.0.0-rc.1"));
    CHECK(in(">=1.1.0-beta <2.0.0", "1.1.0-rc.1"));
    CHECK_FALSE(in(">=1.1.0-beta <2.0.0", "1.2.0-rc.1"));
    CHECK(in("^1.1.0-beta", "1.1.0-beta.2"));
}

TEST_CASE("Malformed ranges are refused with a message naming the problem", "[plugins]") {
    CHECK(rangeError("") == "'': is empty (write \"*\" for any version)");
    CHECK(rangeError("   ") == "'   ': is empty (write \"*\" for any version)");
    CHECK(rangeError(">=1.0") == "'>=1.0': '1.0' is not a full version (MAJOR.MINOR.PATCH)");
    CHECK(rangeError(">=") == "'>=': '>=' has no version after the operator");
    CHECK(rangeError(">= 1.0.0") == "'>= 1.0.0': '>=' has no version after the operator");
    CHECK(rangeError("* <1.0.0") == "'* <1.0.0': '*' cannot be combined with other comparators");
    CHECK(rangeError(">=<1.0.0").find("more than one operator") != std::string::npos);
    CHECK(rangeError("1.x.0").find("must be a non-negative integer") != std::string::npos);
    CHECK(rangeError("^01.0.0").find("leading zero") != std::string::npos);
    CHECK(rangeError("1.0.0 || 2.0.0").find("'|'") == std::string::npos);  // refused, whatever the wording
}

TEST_CASE("A plugin built against an older minor of a 1.x SDK loads", "[plugins]") {
    CHECK(ardoise::isSdkCompatible({1, 2, 9}, {1, 4, 0}));
    CHECK(ardoise::isSdkCompatible({1, 4, 7}, {1, 4, 0}));
    CHECK(checkSdkCompatibility("quiz", {1, 2, 0}, {1, 4, 0}).isOk());
}

TEST_CASE("A plugin built against a newer minor is refused with both versions named", "[plugins]") {
    auto status = checkSdkCompatibility("quiz", {1, 5, 0}, {1, 4, 2});
    CHECK(status.code() == Code::kFailedPrecondition);
    CHECK(status.type() == "plugin-sdk-incompatible");
    CHECK(status.message() ==
          "plugin 'quiz' was built against SDK 1.5.0, but this host provides SDK 1.4.2 "
          "(a newer minor version than the host's)");
}

TEST_CASE("A plugin built against another major is refused with both versions named", "[plugins]") {
    auto status = checkSdkCompatibility("quiz", {2, 0, 0}, {1, 9, 0});
    CHECK_FALSE(status.isOk());
    CHECK(status.message() ==
          "plugin 'quiz' was built against SDK 2.0.0, but this host provides SDK 1.9.0 (a different major version)");
    CHECK_FALSE(checkSdkCompatibility("quiz", {0, 9, 0}, {1, 9, 0}).isOk());
}

TEST_CASE("While the SDK major is 0 an older minor is refused too", "[plugins]") {
    CHECK(ardoise::isSdkCompatible({0, 1, 0}, {0, 1, 5}));
    auto status = checkSdkCompatibility("quiz", {0, 1, 3}, {0, 2, 0});
    CHECK_FALSE(status.isOk());
    CHECK(status.message().find("SDK 0.1.3") != std::string::npos);
    CHECK(status.message().find("SDK 0.2.0") != std::string::npos);
    CHECK(std::string(ARDOISE_SDK_VERSION) == "0.3.0");
    CHECK(SdkVersion::current() == SdkVersion{0, 3, 0});
}
