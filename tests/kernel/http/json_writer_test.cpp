#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "kernel/http/json_writer.hpp"

using ardoise::kernel::http::JsonWriter;

TEST_CASE("JsonWriter output parses back to the same values, escapes included", "[http][json]") {
    const std::string tricky = std::string("quote\" back\\slash\nnew\ttab\x01 ctrl é Kouamé") + '\x1f';
    JsonWriter w;
    w.beginObject()
        .key("s").value(tricky)
        .key("n").value(std::int64_t{-42})
        .key("b").value(true)
        .key("z").null()
        .key("list").stringArray(std::vector<std::string>{"a", "b\"c"})
        .key("empty").beginObject().endObject()
        .key("nested").beginObject().key("k").value("v").endObject()
        .endObject();
    const auto parsed = nlohmann::json::parse(w.take());
    CHECK(parsed["s"] == tricky);
    CHECK(parsed["n"] == -42);
    CHECK(parsed["b"] == true);
    CHECK(parsed["z"].is_null());
    CHECK(parsed["list"] == nlohmann::json({"a", "b\"c"}));
    CHECK(parsed["empty"].empty());
    CHECK(parsed["nested"]["k"] == "v");
}
