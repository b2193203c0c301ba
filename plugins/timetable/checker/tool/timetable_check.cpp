// timetable_check INSTANCE.fet ACTIVITIES.xml
// Prints every hard violation (one per line), the soft conflicts, then the totals.
// Exit status: 0 valid, 1 hard violations, 2 unreadable input.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "timetable/checker.hpp"

namespace {

std::string slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(std::string("cannot read ") + path);
  }
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace

int main(int argc, char** argv) {
  bool verbose = false;
  int first = 1;
  if (argc > 1 && std::string(argv[1]) == "-v") {
    verbose = true;
    first = 2;
  }
  if (argc - first != 2) {
    std::cerr << "usage: timetable_check [-v] INSTANCE.fet ACTIVITIES.xml\n"
                 "  prints hard violations, then the soft conflicts total (-v: also each soft conflict)\n";
    return 2;
  }
  namespace tc = ardoise::timetable::checker;
  tc::Report r;
  try {
    r = tc::check(slurp(argv[first]), slurp(argv[first + 1]));
  } catch (const std::exception& e) {
    std::cerr << "timetable_check: " << e.what() << "\n";
    return 2;
  }
  for (const auto& v : r.hardViolations) {
    std::cout << "HARD " << v << "\n";
  }
  if (verbose) {
    for (const auto& v : r.softViolations) {
      std::cout << "SOFT " << v << "\n";
    }
  }
  for (const auto& u : r.unsupported) {
    std::cout << "UNSUPPORTED " << u << "\n";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", r.softConflicts);
  std::cout << "placed " << r.placed << "/" << r.total << ", hard violations " << r.hardViolations.size()
            << ", soft conflicts " << buf << " (" << r.softViolations.size() << " broken)\n";
  return r.hardViolations.empty() ? 0 : 1;
}
