#include "xml.hpp"

#include <cstdint>
#include <stdexcept>

namespace ardoise::timetable::xml {

const Node* Node::child(std::string_view n) const {
  for (const auto& c : children) {
    if (c->name == n) {
      return c.get();
    }
  }
  return nullptr;
}

std::string Node::childText(std::string_view n, std::string_view fallback) const {
  const Node* c = child(n);
  return c ? c->text : std::string(fallback);
}

std::vector<const Node*> Node::all(std::string_view n) const {
  std::vector<const Node*> out;
  for (const auto& c : children) {
    if (c->name == n) {
      out.push_back(c.get());
    }
  }
  return out;
}

namespace {

void appendUtf8(std::string& out, std::uint32_t cp) {
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

class Parser {
 public:
  explicit Parser(std::string_view in) : s_(in) {
    if (s_.size() >= 3 && static_cast<unsigned char>(s_[0]) == 0xEF &&
        static_cast<unsigned char>(s_[1]) == 0xBB && static_cast<unsigned char>(s_[2]) == 0xBF) {
      p_ = 3;
    }
  }

  std::unique_ptr<Node> document() {
    skipMisc();
    if (p_ >= s_.size() || s_[p_] != '<') {
      fail("no root element");
    }
    auto root = element();
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("XML error at byte " + std::to_string(p_) + ": " + what);
  }

  bool startsWith(std::string_view t) const { return s_.substr(p_, t.size()) == t; }

  void skipUntil(std::string_view t) {
    auto q = s_.find(t, p_);
    if (q == std::string_view::npos) {
      fail("unterminated construct, expected " + std::string(t));
    }
    p_ = q + t.size();
  }

  void skipSpace() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) {
      ++p_;
    }
  }

  // Prolog, comments, PIs, doctype between elements at top level.
  void skipMisc() {
    for (;;) {
      skipSpace();
      if (startsWith("<?")) {
        skipUntil("?>");
      } else if (startsWith("<!--")) {
        skipUntil("-->");
      } else if (startsWith("<!DOCTYPE")) {
        skipUntil(">");
      } else {
        return;
      }
    }
  }

  std::string name() {
    std::size_t b = p_;
    while (p_ < s_.size()) {
      char c = s_[p_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/' || c == '>' || c == '=') {
        break;
      }
      ++p_;
    }
    if (b == p_) {
      fail("expected a name");
    }
    return std::string(s_.substr(b, p_ - b));
  }

  void decodeInto(std::string& out, std::string_view raw) {
    for (std::size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c != '&') {
        out += c;
        continue;
      }
      auto semi = raw.find(';', i);
      if (semi == std::string_view::npos) {
        fail("unterminated entity");
      }
      std::string_view ent = raw.substr(i + 1, semi - i - 1);
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
      } else if (!ent.empty() && ent[0] == '#') {
        std::uint32_t cp = 0;
        try {
          if (ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')) {
            cp = static_cast<std::uint32_t>(std::stoul(std::string(ent.substr(2)), nullptr, 16));
          } else {
            cp = static_cast<std::uint32_t>(std::stoul(std::string(ent.substr(1))));
          }
        } catch (const std::exception&) {
          fail("bad character reference");
        }
        appendUtf8(out, cp);
      } else {
        fail("unknown entity &" + std::string(ent) + ";");
      }
      i = semi;
    }
  }

  std::unique_ptr<Node> element() {
    ++p_;  // '<'
    auto node = std::make_unique<Node>();
    node->name = name();
    for (;;) {
      skipSpace();
      if (p_ >= s_.size()) {
        fail("unterminated start tag <" + node->name + ">");
      }
      if (s_[p_] == '/') {
        if (!startsWith("/>")) {
          fail("bad empty tag");
        }
        p_ += 2;
        return node;
      }
      if (s_[p_] == '>') {
        ++p_;
        break;
      }
      std::string an = name();
      skipSpace();
      if (p_ >= s_.size() || s_[p_] != '=') {
        fail("expected = after attribute " + an);
      }
      ++p_;
      skipSpace();
      char q = p_ < s_.size() ? s_[p_] : 0;
      if (q != '"' && q != '\'') {
        fail("expected a quoted attribute value");
      }
      auto end = s_.find(q, p_ + 1);
      if (end == std::string_view::npos) {
        fail("unterminated attribute value");
      }
      std::string v;
      decodeInto(v, s_.substr(p_ + 1, end - p_ - 1));
      node->attributes.emplace_back(an, v);
      p_ = end + 1;
    }
    // Content.
    for (;;) {
      auto lt = s_.find('<', p_);
      if (lt == std::string_view::npos) {
        fail("unterminated element <" + node->name + ">");
      }
      if (lt > p_) {
        decodeInto(node->text, s_.substr(p_, lt - p_));
      }
      p_ = lt;
      if (startsWith("</")) {
        p_ += 2;
        std::string n = name();
        if (n != node->name) {
          fail("</" + n + "> closes <" + node->name + ">");
        }
        skipSpace();
        if (p_ >= s_.size() || s_[p_] != '>') {
          fail("bad end tag");
        }
        ++p_;
        break;
      }
      if (startsWith("<!--")) {
        skipUntil("-->");
      } else if (startsWith("<![CDATA[")) {
        auto e = s_.find("]]>", p_);
        if (e == std::string_view::npos) {
          fail("unterminated CDATA");
        }
        node->text.append(s_.substr(p_ + 9, e - p_ - 9));
        p_ = e + 3;
      } else if (startsWith("<?")) {
        skipUntil("?>");
      } else {
        node->children.push_back(element());
      }
    }
    if (!node->children.empty()) {
      // Mixed content: keep only non-blank text.
      bool blank = true;
      for (char c : node->text) {
        if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
          blank = false;
          break;
        }
      }
      if (blank) {
        node->text.clear();
      }
    }
    return node;
  }

  std::string_view s_;
  std::size_t p_ = 0;
};

}  // namespace

std::unique_ptr<Node> parse(std::string_view input) { return Parser(input).document(); }

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace ardoise::timetable::xml
