#pragma once
// A small append-only JSON writer for hot responses, where building an
// nlohmann::json tree first costs more than the rest of the request.

#include <cstdint>
#include <string>
#include <string_view>

namespace ardoise::kernel::http {

class JsonWriter {
public:
    JsonWriter& beginObject() { return open('{'); }
    JsonWriter& endObject() { return close('}'); }
    JsonWriter& beginArray() { return open('['); }
    JsonWriter& endArray() { return close(']'); }
    /// A member name; the next call writes its value.
    JsonWriter& key(std::string_view name) {
        separate();
        quote(name);
        out_ += ':';
        afterKey_ = true;
        return *this;
    }
    JsonWriter& value(std::string_view s) {
        separate();
        quote(s);
        return *this;
    }
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(bool b) {
        separate();
        out_ += b ? "true" : "false";
        return *this;
    }
    JsonWriter& value(std::int64_t n) {
        separate();
        out_ += std::to_string(n);
        return *this;
    }
    JsonWriter& null() {
        separate();
        out_ += "null";
        return *this;
    }
    template <typename Range>
    JsonWriter& stringArray(const Range& items) {
        beginArray();
        for (const auto& item : items) {
            value(std::string_view(item));
        }
        return endArray();
    }
    std::string take() { return std::move(out_); }

private:
    JsonWriter& open(char c) {
        separate();
        out_ += c;
        first_ = true;
        return *this;
    }
    JsonWriter& close(char c) {
        out_ += c;
        first_ = false;
        return *this;
    }
    void separate() {
        if (afterKey_) {
            afterKey_ = false;
        } else if (!first_) {
            out_ += ',';
        }
        first_ = false;
    }
    /// Escapes per RFC 8259; bytes are assumed to be UTF-8 already (they
    /// come from the database or from validated input).
    void quote(std::string_view s) {
        out_ += '"';
        std::size_t run = 0;  // start of the pending run of plain bytes
        for (std::size_t i = 0; i < s.size(); ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c >= 0x20 && c != '"' && c != '\\') {
                continue;
            }
            out_.append(s.data() + run, i - run);
            run = i + 1;
            switch (c) {
                case '"': out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\n': out_ += "\\n"; break;
                case '\r': out_ += "\\r"; break;
                case '\t': out_ += "\\t"; break;
                default: {
                    static const char* kHex = "0123456789abcdef";
                    out_ += "\\u00";
                    out_ += kHex[c >> 4];
                    out_ += kHex[c & 0xF];
                }
            }
        }
        out_.append(s.data() + run, s.size() - run);
        out_ += '"';
    }

    std::string out_;
    bool first_ = true;
    bool afterKey_ = false;
};

}  // namespace ardoise::kernel::http
