// The timetable engine: the model, the FET reader, the solver and the
// evaluation used for conflicts. No dependency on the kernel or the SDK
// beyond nlohmann::json; the plugin, the tests and the benchmark link it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ardoise::timetable {

// --- Model --------------------------------------------------------------
// Objects are referenced by name, as in FET; activities by numeric id.

struct Subgroup { std::string name; int students = 0; };
struct Group { std::string name; int students = 0; std::vector<Subgroup> subgroups; };
struct Year { std::string name; int students = 0; std::vector<Group> groups; };

struct Room {
  std::string name;
  std::string building;                              // may be empty
  int capacity = 0;
  bool isVirtual = false;
  std::vector<std::vector<std::string>> realRoomSets;  // virtual rooms: one real room from each set
};

struct Activity {
  int id = 0;
  int groupId = 0;               // 0 = not split; else the id of the first lesson of the split activity
  std::vector<std::string> teachers;
  std::string subject;
  std::vector<std::string> tags;
  std::vector<std::string> students;  // years, groups or subgroups
  int duration = 1;              // consecutive periods on one day
  int totalDuration = 1;
  int numberOfStudents = -1;     // -1: computed from the student sets
  bool active = true;
};

// Any FET time or space constraint: `type` is the element name without the
// "Constraint" prefix (e.g. "TeacherNotAvailableTimes"); `params` keeps the
// element's fields under FET's own names. 100 % weight = hard.
struct Constraint {
  std::string type;
  double weight = 100.0;
  bool active = true;
  nlohmann::json params = nlohmann::json::object();
};

struct Instance {
  std::string name;
  std::vector<std::string> days, hours;   // every day has the same hours
  std::vector<std::string> teachers, subjects, activityTags, buildings;
  std::vector<Year> years;
  std::vector<Room> rooms;
  std::vector<Activity> activities;
  std::vector<Constraint> timeConstraints, spaceConstraints;
};

// --- Timetables -----------------------------------------------------------

struct Placement {
  int activityId = 0;
  int day = -1, hour = -1;             // -1: unplaced
  std::string room;                     // empty: no room
  std::vector<std::string> realRooms;   // for a virtual room
  bool locked = false;                  // incremental re-solve keeps it where it is
};
using Timetable = std::vector<Placement>;

// --- Reading and writing FET files --------------------------------------------

struct ImportReport {
  Instance instance;
  std::map<std::string, int> imported;      // "activities" -> 417, "TeacherNotAvailableTimes" -> 12, …
  std::map<std::string, int> unsupported;   // constraint types kept in the model but not enforced, by name
  std::vector<std::string> warnings;
};
// Throws std::runtime_error with a message naming the element on malformed input.
ImportReport readFet(std::string_view xml);
// FET's `<Activities_Timetable>` format (what fet-cl writes as NAME_activities.xml).
std::string writeFetActivities(const Instance&, const Timetable&);
Timetable readFetActivities(const Instance&, std::string_view xml);

// Constraint types the engine enforces (the others are reported unsupported).
const std::vector<std::string>& supportedConstraintTypes();

// --- Evaluation (conflicts of a given timetable) ---------------------------

struct Violation {
  std::string type;                  // constraint type, or "TeacherClash", "StudentsClash", "RoomClash", …
  double weight = 100.0;
  std::vector<int> activities;
  std::string resource;              // the teacher / student set / room concerned, if any
  std::string en, fr;                // sentences for a school admin
};
struct Evaluation {
  std::vector<Violation> hard;       // empty: the timetable is valid
  std::vector<Violation> soft;
  double softCost = 0;               // sum of weight/100 over broken soft constraints, like FET
};
Evaluation evaluate(const Instance&, const Timetable&);

// --- Solving ----------------------------------------------------------------

struct Progress { int placed = 0, total = 0; double bestSoftCost = 0; double elapsedSeconds = 0; };

struct SolveOptions {
  std::uint64_t seed = 1;
  double timeLimitSeconds = 60;      // CPU time of the calling thread(s)
  int threads = 1;
  std::optional<Timetable> start;    // incremental: locked placements kept, others moved as little as possible
  std::function<void(const Progress&)> onProgress;  // called at most a few times a second
  const std::atomic<bool>* cancel = nullptr;
  // Added: CPU seconds spent lowering the soft cost after the first valid
  // timetable (0: stop at the first valid one, like fet-cl).
  double polishSeconds = 0;
};

struct Blocker {
  std::string kind;                  // "teacher", "students", "room", "constraint"
  std::string name;                  // the resource, or the constraint type
  std::string en, fr;
};
struct Unplaced { int activityId = 0; std::vector<Blocker> blockers; };

struct Impossibility { std::string kind, name, en, fr; };  // found before searching

struct SolveResult {
  enum class Status { solved, partial, impossible, cancelled } status = Status::partial;
  Timetable timetable;               // complete when solved, else the best partial one
  std::vector<Unplaced> unplaced;
  std::vector<Impossibility> impossibilities;
  double softCost = 0;
  int moved = 0;                     // incremental: placements that differ from `start`
  double cpuSeconds = 0;
  // Added: CPU seconds to the first timetable without hard violations (-1: none),
  // wall-clock seconds of the whole call, and search iterations of the best run.
  double firstValidSeconds = -1;
  double wallSeconds = 0;
  long iterations = 0;
};

// Fast checks (milliseconds) for things no search can fix.
std::vector<Impossibility> precheck(const Instance&);
SolveResult solve(const Instance&, const SolveOptions&);

// JSON forms, for storage and the API.
void to_json(nlohmann::json&, const Instance&);
void from_json(const nlohmann::json&, Instance&);
void to_json(nlohmann::json&, const Placement&);
void from_json(const nlohmann::json&, Placement&);

}  // namespace ardoise::timetable
