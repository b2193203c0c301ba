// Stripe-Signature verification: the known-answer vector, tolerance,
// rotation, tampering, and a cross-check with the official `stripe` package.

#include <catch2/catch.hpp>

#include <filesystem>

#include "kernel/billing/stripe_webhook.hpp"
#include "kernel/data/database.hpp"
#include "support/node.hpp"

using ardoise::kernel::billing::stripeSignatureHeader;
using ardoise::kernel::billing::verifyStripeSignature;

namespace {

const std::string kPayload = R"({"id":"evt_test_1","object":"event","type":"invoice.paid"})";
const std::string kSecret = "whsec_test_secret";
const std::string kKnownV1 = "3e3e661992c26c45d9105cbea450acc1a34f8c6dbafbd891f858c6fd9054fe3e";
constexpr std::int64_t kT = 1700000000;

void requireStripePackage() {
    if (!std::filesystem::exists(ardoise::test::kJsDir + "/node_modules/stripe/package.json")) {
        FAIL("the cross-check dependency 'stripe' is missing from " << ardoise::test::kJsDir
                                                                    << "/node_modules: run `npm ci` in tests/js");
    }
}

}  // namespace

TEST_CASE("The Stripe known-answer vector is signed and verified", "[billing][webhook]") {
    CHECK(stripeSignatureHeader(kPayload, kSecret, kT) == "t=1700000000,v1=" + kKnownV1);
    CHECK(verifyStripeSignature(kPayload, "t=1700000000,v1=" + kKnownV1, {kSecret}, kT).isOk());
}

TEST_CASE("A signature outside the 300-second tolerance is refused, either side of now", "[billing][webhook]") {
    const std::string header = "t=1700000000,v1=" + kKnownV1;
    CHECK(verifyStripeSignature(kPayload, header, {kSecret}, kT + 300).isOk());
    CHECK(verifyStripeSignature(kPayload, header, {kSecret}, kT - 300).isOk());
    auto stale = verifyStripeSignature(kPayload, header, {kSecret}, kT + 301);
    CHECK(stale.type() == "stripe-signature-invalid");
    CHECK(stale.message().find("300 seconds") != std::string::npos);
    CHECK(verifyStripeSignature(kPayload, header, {kSecret}, kT - 301).type() == "stripe-signature-invalid");
}

TEST_CASE("A tampered body, a wrong secret or a malformed header is refused", "[billing][webhook]") {
    const std::string header = "t=1700000000,v1=" + kKnownV1;
    std::string tampered = kPayload;
    tampered.replace(tampered.find("paid"), 4, "void");
    CHECK(verifyStripeSignature(tampered, header, {kSecret}, kT).message().find("no signature matches") !=
          std::string::npos);
    CHECK(verifyStripeSignature(kPayload + " ", header, {kSecret}, kT).type() == "stripe-signature-invalid");
    CHECK(verifyStripeSignature(kPayload, header, {"whsec_other"}, kT).type() == "stripe-signature-invalid");
    // The timestamp is signed: moving it breaks the signature.
    CHECK_FALSE(verifyStripeSignature(kPayload, "t=1700000001,v1=" + kKnownV1, {kSecret}, kT).isOk());
    for (const std::string& bad : {std::string(""), "v1=" + kKnownV1, std::string("t=1700000000"),
                                  "t=abc,v1=" + kKnownV1, "t=-1700000000,v1=" + kKnownV1,
                                  "t=1700000000,v1=" + kKnownV1.substr(2), "t=1700000000,v0=" + kKnownV1,
                                  "t=1700000000,v1=" + std::string(64, 'z')}) {
        INFO(bad);
        CHECK(verifyStripeSignature(kPayload, bad, {kSecret}, kT).type() == "stripe-signature-invalid");
    }
    CHECK(verifyStripeSignature(kPayload, header, {}, kT).type() == "stripe-not-configured");
}

TEST_CASE("Any of several v1 values and any of several endpoint secrets may match (rotation)", "[billing][webhook]") {
    const std::string wrong(64, 'a');
    CHECK(verifyStripeSignature(kPayload, "t=1700000000,v1=" + wrong + ",v1=" + kKnownV1, {kSecret}, kT).isOk());
    CHECK(verifyStripeSignature(kPayload, "t=1700000000,v1=" + kKnownV1 + ",v1=" + wrong, {kSecret}, kT).isOk());
    CHECK(verifyStripeSignature(kPayload, "v1=" + kKnownV1 + ",t=1700000000,v0=ignored", {kSecret}, kT).isOk());
    CHECK(verifyStripeSignature(kPayload, "t=1700000000,v1=" + kKnownV1, {"whsec_new", kSecret}, kT).isOk());
    CHECK(verifyStripeSignature(kPayload, "t=1700000000,v1=" + kKnownV1, {kSecret, "whsec_new"}, kT).isOk());
    // Stripe signs with both secrets while one rolls over.
    const std::string newer = stripeSignatureHeader(kPayload, "whsec_new", kT);
    CHECK(verifyStripeSignature(kPayload, newer + ",v1=" + kKnownV1, {"whsec_new"}, kT).isOk());
}

TEST_CASE("Signatures agree with the official stripe npm package both ways", "[billing][webhook][crosscheck]") {
    requireStripePackage();
    const std::string payload = R"({"id":"evt_1Nx","object":"event","type":"customer.subscription.updated",)"
                                R"("data":{"object":{"id":"sub_1","status":"active","metadata":{"tenant_id":"é"}}}})";
    // stripe signs, Ardoise verifies (the header text is identical too).
    auto signedByStripe = ardoise::test::node("stripe_sign.mjs", {"sign", payload, kSecret, std::to_string(kT)});
    REQUIRE(signedByStripe.exitCode == 0);
    CHECK(signedByStripe.output == stripeSignatureHeader(payload, kSecret, kT));
    CHECK(verifyStripeSignature(payload, signedByStripe.output, {kSecret}, kT).isOk());
    auto known = ardoise::test::node("stripe_sign.mjs", {"sign", kPayload, kSecret, std::to_string(kT)});
    CHECK(known.output == "t=1700000000,v1=" + kKnownV1);
    // Ardoise signs now, stripe verifies; a tampered body fails there too.
    const std::string header = stripeSignatureHeader(payload, kSecret, ardoise::kernel::data::nowSeconds());
    auto verified = ardoise::test::node("stripe_sign.mjs", {"verify", payload, header, kSecret});
    CHECK(verified.exitCode == 0);
    CHECK(verified.output == "evt_1Nx");
    auto refused = ardoise::test::node("stripe_sign.mjs", {"verify", payload + "\n", header, kSecret});
    CHECK(refused.exitCode == 1);
    CHECK(refused.output.find("No signatures found") != std::string::npos);
}
