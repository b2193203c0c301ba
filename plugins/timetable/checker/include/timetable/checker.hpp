#pragma once

// Independent checker for timetables of FET instances.
//
// Reads a `.fet` instance (Official mode) and a timetable in FET's `<Activities_Timetable>` format,
// then reports every hard violation (basic rules and constraints at 100 % weight) as a readable
// sentence, and the soft conflicts total as FET counts it (each broken soft constraint instance
// adds weight/100, times its multiplicity, e.g. the number of days too close for min days).
//
// Each hard or soft message starts with the FET constraint element it comes from, e.g.
// "ConstraintBasicCompulsoryTime (teacher clash): ...", so callers can tell the kinds apart.
// Constraint types the checker cannot evaluate are listed in `unsupported`, never ignored.

#include <string>
#include <string_view>
#include <vector>

namespace ardoise::timetable::checker {

struct Report {
  std::vector<std::string> hardViolations;
  std::vector<std::string> softViolations;
  double softConflicts = 0;
  int placed = 0, total = 0;
  std::vector<std::string> unsupported;
};

// Throws std::runtime_error on malformed input (not XML, wrong root element, missing fields).
Report check(std::string_view fetXml, std::string_view activitiesXml);

}  // namespace ardoise::timetable::checker
