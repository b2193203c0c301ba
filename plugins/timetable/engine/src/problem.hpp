// The compiled form of an Instance: indices instead of names, the allowed
// start slots of each activity, per-resource rules and the links between
// activities; and State, a timetable with incrementally maintained costs.
// Private to the engine.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "timetable/engine.hpp"

namespace ardoise::timetable::detail {

// A rule on one resource (teacher, subgroup, or a teacher/subgroup restricted to a tag).
struct Rule {
  enum Kind {
    kMaxHoursDaily, kMinHoursDaily, kMaxGapsPerDay, kMaxGapsPerWeek, kMaxDaysPerWeek, kMinDaysPerWeek,
    kIntervalMaxDays, kMaxHoursContinuously, kEarlyMaxBeginnings, kEndsDay
  } kind;
  int value = 0;
  int from = 0, to = 0;        // interval rules: hours [from, to)
  bool allowEmpty = true;      // min hours daily
  double weight = 100;
  bool hard = true;
  int interval = -1;           // bit index for interval rules
  std::string type;            // FET constraint type, for messages
};

struct Resource {
  enum Kind { kTeacher, kSubgroup, kTeacherTag, kSubgroupTag } kind = kTeacher;
  std::string name;            // the teacher or subgroup
  std::string tag;             // for tag resources
  bool clash = true;           // double booking counts
  std::vector<char> blocked;   // per slot: break or not available (not counted as a gap)
  std::vector<Rule> rules;
  std::vector<int> acts;
  bool dayRules = false;
};

struct Link {
  enum Kind { kMinDays, kSameStart, kSameDay, kNotOverlapping } kind;
  std::vector<int> acts;
  int minDays = 1;
  bool consecutiveIfSameDay = false;
  double weight = 100;
  bool hard = true;
  bool repeats = false;        // an activity is named twice (costs then recomputed over all pairs)
  std::string type;
};

struct DomainRule {          // why some start slots are forbidden (or disliked when soft)
  std::string type, name;    // constraint type and the resource it names, if any
  double weight = 100;
  std::vector<char> ok;      // per start slot
};

struct Act {
  int index = 0;             // into Instance::activities
  int id = 0;
  int dur = 1;
  int students = 0;
  std::vector<int> res;      // resources occupied: teachers, subgroups, then tag resources
  int clashRes = 0;          // res[0, clashRes): the teachers and subgroups (double booking counts)
  std::vector<int> teachers, subgroups;
  std::vector<char> allowed; // per start slot (hard)
  std::vector<double> timeSoft;   // per start slot
  std::vector<DomainRule> domain;
  int domainSize = 0;
  bool needsRoom = false, hardRoom = false;
  std::vector<int> roomCands;     // allowed rooms (hard rules, capacity); empty + needsRoom: none allowed
  bool noneAllowed = true;        // may stay without a room
  std::vector<double> roomSoft;   // per room index: soft cost; last entry: the cost of no room
  std::vector<std::uint8_t> roomFixed;  // per room index: the hard room cost that does not depend on the time
  std::vector<int> links;
  bool endsDay = false;
  std::string label;
};

struct Problem {
  const Instance* in = nullptr;
  int D = 0, H = 0, S = 0, R = 0;  // days, hours, slots, rooms
  std::vector<int> dayOf;          // per slot: its day (slot / H without a division, in hot loops)
  std::vector<Act> acts;
  std::vector<Resource> res;
  std::vector<Link> links;
  std::vector<std::string> roomNames;
  std::vector<int> roomCapacity;
  std::vector<char> roomNA;       // R*S
  std::vector<int> idToAct;       // id -> act index (or -1), sized max id + 1
  std::vector<std::string> subgroupNames;
  std::vector<std::string> problems;  // data errors found while compiling (fr/en in precheck)
  int actOf(int id) const { return id >= 0 && id < static_cast<int>(idToAct.size()) ? idToAct[id] : -1; }
};

Problem compile(const Instance&);

struct DayInfo {
  int hours = 0, gaps = 0, early = 0, clash = 0;
  std::uint32_t intervals = 0;
  double hard = 0, soft = 0;
};

struct Emitter;  // collects violations with sentences (evaluate)

class State {
 public:
  explicit State(const Problem& p);
  const Problem& P;
  std::vector<int> pos, room;        // start slot or -1; room index or -1
  std::vector<int> occ, endMark;     // per resource × slot
  std::vector<int> occSum;           // per resource × slot: sum of (activity + 1) occupying it
  // The activity occupying resource r at slot s when occ is 1.
  int occupant(int r, int s) const { return occSum[static_cast<std::size_t>(r) * P.S + s] - 1; }
  std::vector<int> roomOcc;          // per room × slot
  std::vector<DayInfo> days;         // per resource × day
  std::vector<double> resHard, resSoft, linkHard, linkSoft;
  double hard = 0, soft = 0;         // totals (hard in violation units, soft in FET units)
  double roomHard = 0;
  // Weighted hard cost for the search (adaptive weights per resource and link).
  std::vector<double> resW, linkW;
  double roomW = 1;
  double whard = 0;
  double hardScale = 1000.0;      // lowered while polishing the soft cost
  double wobjective() const { return whard * hardScale + soft; }
  void resetWeights() {
    std::fill(resW.begin(), resW.end(), 1.0);
    std::fill(linkW.begin(), linkW.end(), 1.0);
    roomW = 1;
    whard = hard;
  }
  void bumpWeights(double step, double maxW);
  void smoothWeights(double rho);  // every weight w becomes 1 + (w - 1) * rho

  void place(int a, int slot, int r);   // a must be unplaced
  // What place(a, slot, r) would add to hard, whard and soft, leaving the
  // state unchanged (a must be unplaced). Cheaper than place + unplace.
  struct Delta { double hard = 0, whard = 0, soft = 0; };
  Delta placeDelta(int a, int slot, int r);
  void unplace(int a);
  double roomCostHard(int a, int r, int slot) const;
  double roomCostSoft(int a, int r) const;
  double objective() const { return hard * 1000.0 + soft; }
  void recomputeAll();
  // Between beginBatch and endBatch, place and unplace defer the costs of
  // resources with rules (totals are stale); endBatch recomputes each
  // resource-day touched once. For compound moves.
  void beginBatch();
  void endBatch();
  void emitAll(Emitter&) const;

 private:
  void touchResourceDay(int r, int d);
  void touch(int r, int d);
  bool batching_ = false;
  int batchStamp_ = 0;
  std::vector<int> batchDays_, dayStamp_, resStamp_;
  void clashChange(int r, DayInfo& di, int c);
  void updateResource(int r);
  void updateLink(int l);
  void weekly(int r, double& hard, double& soft, Emitter* e) const;  // the weekly part of r's rules
  void computeDay(int r, int d, Emitter* e, DayInfo& out) const;
  void linkCost(int l, double& h, double& s, Emitter* e) const;
  // The cost of the pairs of link l between a (at slot pa) and the other placed activities.
  void linkPairs(int l, int a, int pa, double& h, double& s) const;
  void pairCost(const Link& L, int a, int pa, int b, int pb, int& amount, bool& hardExtra) const;
  static void addPairCost(const Link& L, int amount, bool hardExtra, double& h, double& s);
  void addLinkPairs(int a, int pa, double sign);
  friend struct Emitter;
};

}  // namespace ardoise::timetable::detail
