#include "xml_reader.hpp"

#include <cstdint>
#include <stdexcept>

namespace ardoise::timetable::checker::xml {

const Element* Element::child(std::string_view childName) const {
  for (const auto& c : children) {
    if (c->name == childName) {
      return c.get();
    }
  }
  return nullptr;
}

const std::string* Element::childText(std::string_view childName) const {
  const Element* c = child(childName);
  return c == nullptr ? nullptr : &c->text;
}

std::vector<const Element*> Element::childrenNamed(std::string_view childName) const {
  std::vector<const Element*> out;
  for (const auto& c : children) {
    if (c->name == childName) {
      out.push_back(c.get());
    }
  }
  return out;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  std::unique_ptr<Element> document() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") {
      pos_ = 3;
    }
    skipMisc();
    if (pos_ >= s_.size() || s_[pos_] != '<') {
      fail("expected a root element");
    }
    auto root = element();
    skipMisc();
    if (pos_ != s_.size()) {
      fail("content after the root element");
    }
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    int line = 1;
    for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
      }
    }
    throw std::runtime_error("XML error at line " + std::to_string(line) + ": " + what);
  }

  bool startsWith(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }

  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void skipPast(std::string_view end, const char* what) {
    auto p = s_.find(end, pos_);
    if (p == std::string_view::npos) {
      fail(std::string("unterminated ") + what);
    }
    pos_ = p + end.size();
  }

  // Whitespace, comments, processing instructions and DOCTYPE outside the root element.
  void skipMisc() {
    for (;;) {
      skipSpace();
      if (startsWith("<?")) {
        skipPast("?>", "processing instruction");
      } else if (startsWith("<!--")) {
        skipPast("-->", "comment");
      } else if (startsWith("<!DOCTYPE")) {
        skipPast(">", "DOCTYPE");
      } else {
        return;
      }
    }
  }

  static bool nameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
  }

  std::string name() {
    std::size_t start = pos_;
    while (pos_ < s_.size() && nameChar(s_[pos_])) {
      ++pos_;
    }
    if (pos_ == start) {
      fail("expected a name");
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  static void appendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Character data up to the next '<' (or the closing quote when `quote` is set), entities decoded.
  void charData(std::string& out, char quote) {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (quote != 0 ? c == quote : c == '<') {
        return;
      }
      if (c == '&') {
        auto semi = s_.find(';', pos_);
        if (semi == std::string_view::npos || semi - pos_ > 12) {
          fail("bad entity reference");
        }
        std::string_view ent = s_.substr(pos_ + 1, semi - pos_ - 1);
        if (ent == "amp") {
          out += '&';
        } else if (ent == "lt") {
          out += '<';
        } else if (ent == "gt") {
          out += '>';
        } else if (ent == "quot") {
          out += '"';
        } else if (ent == "apos") {
          out += '\'';
        } else if (ent.size() > 1 && ent[0] == '#') {
          std::uint32_t cp = 0;
          bool hex = ent[1] == 'x' || ent[1] == 'X';
          std::string_view digits = ent.substr(hex ? 2 : 1);
          if (digits.empty()) {
            fail("bad character reference");
          }
          for (char d : digits) {
            int v;
            if (d >= '0' && d <= '9') {
              v = d - '0';
            } else if (hex && d >= 'a' && d <= 'f') {
              v = d - 'a' + 10;
            } else if (hex && d >= 'A' && d <= 'F') {
              v = d - 'A' + 10;
            } else {
              fail("bad character reference");
            }
            cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
            if (cp > 0x10FFFF) {
              fail("bad character reference");
            }
          }
          appendUtf8(out, cp);
        } else {
          fail("unknown entity &" + std::string(ent) + ";");
        }
        pos_ = semi + 1;
      } else {
        out += c;
        ++pos_;
      }
    }
  }

  std::unique_ptr<Element> element() {
    if (depth_ > 200) {
      fail("elements nested too deeply");
    }
    ++pos_;  // '<'
    auto e = std::make_unique<Element>();
    e->name = name();
    for (;;) {
      skipSpace();
      if (pos_ >= s_.size()) {
        fail("unterminated start tag <" + e->name + ">");
      }
      if (startsWith("/>")) {
        pos_ += 2;
        return e;
      }
      if (s_[pos_] == '>') {
        ++pos_;
        break;
      }
      std::string attr = name();
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '=') {
        fail("expected '=' after attribute " + attr);
      }
      ++pos_;
      skipSpace();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) {
        fail("expected a quoted attribute value");
      }
      char q = s_[pos_++];
      std::string value;
      charData(value, q);
      if (pos_ >= s_.size()) {
        fail("unterminated attribute value");
      }
      ++pos_;
      e->attributes.emplace_back(std::move(attr), std::move(value));
    }
    ++depth_;
    for (;;) {
      if (pos_ >= s_.size()) {
        fail("element <" + e->name + "> is not closed");
      }
      if (startsWith("</")) {
        pos_ += 2;
        std::string closing = name();
        skipSpace();
        if (pos_ >= s_.size() || s_[pos_] != '>') {
          fail("bad end tag </" + closing + ">");
        }
        ++pos_;
        if (closing != e->name) {
          fail("end tag </" + closing + "> does not match <" + e->name + ">");
        }
        --depth_;
        return e;
      }
      if (startsWith("<!--")) {
        skipPast("-->", "comment");
      } else if (startsWith("<![CDATA[")) {
        pos_ += 9;
        auto end = s_.find("]]>", pos_);
        if (end == std::string_view::npos) {
          fail("unterminated CDATA section");
        }
        e->text.append(s_.substr(pos_, end - pos_));
        pos_ = end + 3;
      } else if (startsWith("<?")) {
        skipPast("?>", "processing instruction");
      } else if (s_[pos_] == '<') {
        e->children.push_back(element());
      } else {
        charData(e->text, 0);
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::unique_ptr<Element> parse(std::string_view document) { return Parser(document).document(); }

}  // namespace ardoise::timetable::checker::xml
