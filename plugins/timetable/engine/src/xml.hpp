// A small XML reader, enough for FET files: elements, attributes, text,
// character references and the five named entities. Comments, processing
// instructions, DOCTYPE and CDATA are handled; namespaces are not.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ardoise::timetable::xml {

struct Node {
  std::string name;
  std::string text;  // concatenated character data directly inside this element
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<std::unique_ptr<Node>> children;

  const Node* child(std::string_view n) const;
  std::string childText(std::string_view n, std::string_view fallback = "") const;
  std::vector<const Node*> all(std::string_view n) const;
};

// Throws std::runtime_error with a byte offset on malformed input.
std::unique_ptr<Node> parse(std::string_view input);

// Escapes &, <, >, " for element text.
std::string escape(std::string_view s);

}  // namespace ardoise::timetable::xml
