#pragma once

// A small, strict XML reader: enough for FET files (elements, attributes, text, entities,
// comments, CDATA, processing instructions, a DOCTYPE without internal subset).
// Throws std::runtime_error with a line number on malformed input.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ardoise::timetable::checker::xml {

struct Element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<std::unique_ptr<Element>> children;
  std::string text;  // concatenated character data directly inside this element

  // First child with that name, or nullptr.
  const Element* child(std::string_view childName) const;
  // Text of the first child with that name, or nullptr when there is no such child.
  const std::string* childText(std::string_view childName) const;
  // Every child with that name.
  std::vector<const Element*> childrenNamed(std::string_view childName) const;
};

std::unique_ptr<Element> parse(std::string_view document);

}  // namespace ardoise::timetable::checker::xml
