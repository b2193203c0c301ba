// Evaluation, prechecks and the solver.
//
// The solver is a tabu search over start slots (and rooms) on a fully placed
// timetable, minimising 1000 × hard violations + soft cost, with costs kept
// incrementally per resource-day and per activity link (State). A greedy
// construction places the most constrained activities first.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <thread>

#include "emitter.hpp"
#include "problem.hpp"

namespace ardoise::timetable {

using detail::Problem;
using detail::State;

namespace {

double threadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int roomIndex(const Problem& P, const std::string& name) {
  if (name.empty()) return -1;
  auto it = std::find(P.roomNames.begin(), P.roomNames.end(), name);
  return it == P.roomNames.end() ? -1 : static_cast<int>(it - P.roomNames.begin());
}

// Loads placements into a fresh state; returns the activities it could not place (bad slot).
std::vector<int> load(State& st, const Timetable& tt) {
  const Problem& P = st.P;
  std::vector<int> bad;
  for (const auto& p : tt) {
    int a = P.actOf(p.activityId);
    if (a < 0 || p.day < 0 || p.hour < 0 || p.day >= P.D || p.hour >= P.H) continue;
    if (st.pos[a] >= 0) continue;
    if (p.hour + P.acts[a].dur > P.H) {
      bad.push_back(a);
      continue;
    }
    st.place(a, p.day * P.H + p.hour, roomIndex(P, p.room));
  }
  return bad;
}

Timetable toTimetable(const Problem& P, const std::vector<int>& pos, const std::vector<int>& room,
                      const std::vector<char>* locked = nullptr) {
  Timetable tt;
  for (int a = 0; a < static_cast<int>(P.acts.size()); ++a) {
    Placement p;
    p.activityId = P.acts[a].id;
    if (pos[a] >= 0) {
      p.day = pos[a] / P.H;
      p.hour = pos[a] % P.H;
      if (room[a] >= 0) p.room = P.roomNames[room[a]];
    }
    p.locked = locked && (*locked)[a];
    tt.push_back(std::move(p));
  }
  return tt;
}

}  // namespace

// --- Evaluation ---------------------------------------------------------------------

Evaluation evaluate(const Instance& in, const Timetable& tt) {
  Problem P = detail::compile(in);
  State st(P);
  auto bad = load(st, tt);
  detail::Emitter e(st);
  st.emitAll(e);
  for (int a : bad) {
    Violation v;
    v.type = "BasicCompulsoryTime";
    v.activities = {P.acts[a].id};
    v.en = P.acts[a].label + " runs past the end of the day.";
    v.fr = P.acts[a].label + " dépasse la fin de la journée.";
    e.hard.push_back(std::move(v));
  }
  Evaluation ev;
  ev.hard = std::move(e.hard);
  ev.soft = std::move(e.soft);
  for (const auto& v : ev.soft) ev.softCost += v.weight / 100.0;
  return ev;
}

// --- Precheck -------------------------------------------------------------------------

std::vector<Impossibility> precheck(const Instance& in) {
  Problem P = detail::compile(in);
  std::vector<Impossibility> out;
  for (const auto& pr : P.problems) {
    out.push_back({"data", pr, "Data error: " + pr + ".", "Erreur dans les données : " + pr + "."});
  }
  for (const auto& x : P.acts) {
    if (x.domainSize == 0) {
      std::set<std::string> why;
      for (const auto& d : x.domain) {
        if (d.weight >= 100 && std::count(d.ok.begin(), d.ok.end(), 1) < P.S) {
          why.insert(d.type + (d.name.empty() ? "" : " (" + d.name + ")"));
        }
      }
      std::string w;
      for (const auto& s : why) w += (w.empty() ? "" : ", ") + s;
      out.push_back({"activity", std::to_string(x.id),
                     "Lesson " + x.label + " has no possible time at all: " + w + ".",
                     "Le cours " + x.label + " n'a aucun horaire possible : " + w + "."});
    }
    if (x.needsRoom && x.hardRoom && x.roomCands.empty()) {
      out.push_back({"activity", std::to_string(x.id),
                     "Lesson " + x.label + " has no suitable room (preferred rooms and capacity exclude them all).",
                     "Le cours " + x.label + " n'a aucune salle possible (salles imposées et capacité les excluent toutes)."});
    }
  }
  // Resource load against free periods (clash resources only).
  for (int r = 0; r < static_cast<int>(P.res.size()); ++r) {
    const auto& R = P.res[r];
    if (!R.clash || R.acts.empty()) continue;
    int need = 0;
    for (int a : R.acts) need += P.acts[a].dur;
    int maxDaily = P.H, maxDays = P.D;
    for (const auto& ru : R.rules) {
      if (!ru.hard) continue;
      if (ru.kind == detail::Rule::kMaxHoursDaily) maxDaily = std::min(maxDaily, ru.value);
      if (ru.kind == detail::Rule::kMaxDaysPerWeek) maxDays = std::min(maxDays, ru.value);
    }
    std::vector<int> perDay;
    for (int d = 0; d < P.D; ++d) {
      int free = 0;
      for (int h = 0; h < P.H; ++h) free += !R.blocked[d * P.H + h];
      perDay.push_back(std::min(free, maxDaily));
    }
    std::sort(perDay.rbegin(), perDay.rend());
    int avail = std::accumulate(perDay.begin(), perDay.begin() + std::min<int>(maxDays, P.D), 0);
    if (need > avail) {
      bool teacher = R.kind == detail::Resource::kTeacher;
      std::string n = std::to_string(need), v = std::to_string(avail);
      out.push_back({teacher ? "teacher" : "students", R.name,
                     (teacher ? "Teacher " : "Students ") + R.name + " have " + n +
                         " lesson periods but only " + v + " periods where they can be taught.",
                     (teacher ? "L'enseignant·e " : "Le groupe ") + R.name + " a " + n +
                         " périodes de cours mais seulement " + v + " périodes possibles."});
    }
  }
  // Rooms: activities that can only go to one room.
  std::map<int, int> onlyRoomNeed;
  for (const auto& x : P.acts) {
    if (x.needsRoom && x.hardRoom && x.roomCands.size() == 1) onlyRoomNeed[x.roomCands[0]] += x.dur;
  }
  for (auto [r, need] : onlyRoomNeed) {
    int free = 0;
    for (int s = 0; s < P.S; ++s) free += !P.roomNA[static_cast<std::size_t>(r) * P.S + s];
    if (need > free) {
      out.push_back({"room", P.roomNames[r],
                     "Room " + P.roomNames[r] + " is required for " + std::to_string(need) +
                         " periods but is free for only " + std::to_string(free) + ".",
                     "La salle " + P.roomNames[r] + " est exigée pendant " + std::to_string(need) +
                         " périodes mais n'est libre que " + std::to_string(free) + " périodes."});
    }
  }
  return out;
}

// --- Solver ---------------------------------------------------------------------------

namespace {

struct SearchOutcome {
  std::vector<int> pos, room;
  double hard = 1e18, soft = 0;
  double firstValid = -1;
  long iterations = 0;
};

class Search {
 public:
  Search(const Problem& p, const SolveOptions& o, std::uint64_t seed, const std::atomic<bool>* stop)
      : P(p), st(p), opt(o), rng(seed), stop_(stop) {
    const int N = static_cast<int>(P.acts.size());
    tabu.assign(static_cast<std::size_t>(N) * P.S, 0);
    locked.assign(N, 0);
    startPos.assign(N, -1);
    mark.assign(N, 0);
  }

  const Problem& P;
  State st;
  const SolveOptions& opt;
  std::mt19937_64 rng;
  std::vector<long> tabu;
  std::vector<char> locked;
  std::vector<int> startPos, mark;
  int stamp = 0;
  long iter = 0, bumps = 0;
  double t0 = 0, stab = 0;
  const std::atomic<bool>* stop_;
  SearchOutcome best;

  int rnd(int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); }

  double stabCost(int a, int s) const { return startPos[a] >= 0 && s != startPos[a] ? 2.0 : 0.0; }
  double objective() const { return st.wobjective() + stab; }

  int chooseRoom(int a, int s) {
    const auto& x = P.acts[a];
    if (!x.needsRoom) return -1;
    int bestR = -1;
    double bestC = x.noneAllowed ? x.roomSoft[P.R] : 1e18;
    for (int r : x.roomCands) {
      double c = x.roomSoft[r];
      const int* o = &st.roomOcc[static_cast<std::size_t>(r) * P.S + s];
      for (int k = 0; k < x.dur; ++k) c += (o[k] > 0 ? 1000.0 : 0.0) + 1000.0 * P.roomNA[static_cast<std::size_t>(r) * P.S + s + k];
      if (c < bestC || (c == bestC && bestR >= 0 && (rng() & 1))) {
        bestC = c;
        bestR = r;
      }
    }
    return bestR;
  }

  void move(int a, int s, int r) {
    stab -= st.pos[a] >= 0 ? stabCost(a, st.pos[a]) : 0;
    st.unplace(a);
    st.place(a, s, r);
    stab += stabCost(a, s);
  }

  // A lesson at a start slot in a room (kChooseRoom: chosen when it arrives).
  struct Spot { int a, pos, room; };
  static constexpr int kChooseRoom = -3;

  // Every lesson of `moves` to its spot at once: all leave, then each arrives.
  void moveAll(const std::vector<Spot>& moves) {
    st.beginBatch();
    for (const auto& m : moves) {
      stab -= stabCost(m.a, st.pos[m.a]);
      st.unplace(m.a);
    }
    for (const auto& m : moves) {
      st.place(m.a, m.pos, m.room == kChooseRoom ? chooseRoom(m.a, m.pos) : m.room);
      stab += stabCost(m.a, m.pos);
    }
    st.endBatch();
  }

  // A random allowed start of lesson a among those `keep` accepts; -1 if none.
  template <typename Keep>
  int randomSlot(int a, Keep keep) {
    slotPool.clear();
    for (int q = 0; q < P.S; ++q) if (P.acts[a].allowed[q] && keep(q)) slotPool.push_back(q);
    return slotPool.empty() ? -1 : slotPool[rnd(static_cast<int>(slotPool.size()))];
  }
  std::vector<int> slotPool;

  void restoreBest() {
    for (int a = 0; a < static_cast<int>(P.acts.size()); ++a) {
      if ((st.pos[a] != best.pos[a] || st.room[a] != best.room[a]) && best.pos[a] >= 0) move(a, best.pos[a], best.room[a]);
    }
  }

  void snapshot() {
    best.pos = st.pos;
    best.room = st.room;
    best.hard = st.hard;
    best.soft = st.soft;
  }

  bool timeUp() {
    double el = threadCpu() - t0;
    if (el >= opt.timeLimitSeconds) return true;
    if (opt.cancel && opt.cancel->load(std::memory_order_relaxed)) return true;
    if (stop_ && stop_->load(std::memory_order_relaxed)) return true;
    return false;
  }

  void construct() {
    const int N = static_cast<int>(P.acts.size());
    std::vector<int> order;
    for (int a = 0; a < N; ++a) {
      if (st.pos[a] >= 0) continue;
      if (P.acts[a].domainSize == 0) continue;
      order.push_back(a);
    }
    std::vector<double> key(N);
    for (int a : order) {
      const auto& x = P.acts[a];
      double load = 0;
      for (int r : x.res) load += static_cast<double>(P.res[r].acts.size());
      key[a] = static_cast<double>(x.domainSize) / x.dur - 0.05 * load - 0.5 * x.links.size() +
               std::uniform_real_distribution<double>(0, 0.5)(rng);
    }
    std::sort(order.begin(), order.end(), [&](int a, int b) { return key[a] < key[b]; });
    for (int a : order) {
      const auto& x = P.acts[a];
      double bestC = 1e300;
      int bestS = -1, bestR = -1, ties = 0;
      for (int s = 0; s < P.S; ++s) {
        if (!x.allowed[s]) continue;
        int r = chooseRoom(a, s);
        auto dl = st.placeDelta(a, s, r);
        double c = (st.hard + dl.hard) * 1000.0 + st.soft + dl.soft + stabCost(a, s);
        if (c < bestC - 1e-9) {
          bestC = c, bestS = s, bestR = r, ties = 1;
        } else if (c < bestC + 1e-9 && rnd(++ties) == 0) {
          bestS = s, bestR = r;
        }
      }
      st.place(a, bestS, bestR);
      stab += stabCost(a, bestS);
    }
  }

  // Activities involved in a hard violation.
  std::vector<int> conflicted() {
    ++stamp;
    std::vector<int> out;
    auto add = [&](int a) {
      if (mark[a] != stamp && !locked[a] && st.pos[a] >= 0) {
        mark[a] = stamp;
        out.push_back(a);
      }
    };
    for (int r = 0; r < static_cast<int>(P.res.size()); ++r) {
      if (st.resHard[r] <= 0) continue;
      const auto* di = &st.days[static_cast<std::size_t>(r) * P.D];
      double dayHard = 0;
      for (int d = 0; d < P.D; ++d) dayHard += di[d].hard;
      bool weekly = st.resHard[r] > dayHard + 1e-9;
      for (int a : P.res[r].acts) {
        if (st.pos[a] < 0) continue;
        if (weekly || di[P.dayOf[st.pos[a]]].hard > 0) add(a);
      }
    }
    for (int l = 0; l < static_cast<int>(P.links.size()); ++l) {
      if (st.linkHard[l] > 0) {
        for (int a : P.links[l].acts) add(a);
      }
    }
    if (st.roomHard > 0) {
      for (int a = 0; a < static_cast<int>(P.acts.size()); ++a) {
        int s = st.pos[a], r = st.room[a];
        if (s < 0) continue;
        bool bad = st.roomCostHard(a, r, s) > 0;
        if (!bad && r >= 0) {
          for (int k = 0; k < P.acts[a].dur; ++k) bad |= st.roomOcc[static_cast<std::size_t>(r) * P.S + s + k] > 1;
        }
        if (bad) add(a);
      }
    }
    return out;
  }

  // Kempe chain: a moves from its start `from` to t; every lesson sharing a
  // teacher or student set with a lesson arriving in one window moves to the
  // other window, keeping its offset, until no clash is left between movers
  // and stayers. Windows: [from, from+L) and [t, t+L), L = a's duration.
  // False if a lesson straddles a window edge, is locked or not allowed at
  // its new start, or the chain grows beyond kMaxChain lessons; else the
  // chain (lesson, new start, kChooseRoom) is in `moves`.
  static constexpr int kMaxChain = 12;
  // The chain being built: lessons, their new starts, and for each the
  // window it arrives in (1: the t window).
  Spot chain[kMaxChain];
  char chainSide[kMaxChain];
  int chainLen = 0;
  // Adds b (not yet in the chain) if it overlaps [to, e) (a mover's new
  // place, in the window starting at w0); false if the chain cannot be built.
  bool chainAdd(int b, int to, int e, int w0, int other, int L, char side) {
    int pb = st.pos[b];
    if (pb < 0) return true;
    int eb = pb + P.acts[b].dur;
    if (eb <= to || pb >= e) return true;  // no overlap with the mover's new place (lessons never cross days)
    if (pb < w0 || eb > w0 + L) return false;  // straddles the window
    int nb = pb - w0 + other;
    if (locked[b] || !P.acts[b].allowed[nb] || chainLen == kMaxChain) return false;
    mark[b] = stamp;
    chain[chainLen] = {b, nb, kChooseRoom};
    chainSide[chainLen++] = side ? 0 : 1;
    return true;
  }

  bool kempeChain(int a, int t, std::vector<Spot>& moves) {
    const int from = st.pos[a], H = P.H, L = P.acts[a].dur;
    if (t % H + L > H) return false;
    if (P.dayOf[t] == P.dayOf[from] && t < from + L && from < t + L) return false;  // overlapping windows
    chain[0] = {a, t, kChooseRoom};
    chainSide[0] = 1;
    chainLen = 1;
    ++stamp;
    mark[a] = stamp;
    for (int i = 0; i < chainLen; ++i) {
      const int m = chain[i].a, to = chain[i].pos;
      const int w0 = chainSide[i] ? t : from, other = chainSide[i] ? from : t;
      const auto& x = P.acts[m];
      const int e = to + x.dur;
      for (int ri = 0; ri < x.clashRes; ++ri) {
        const int r = x.res[ri];
        const int* o = &st.occ[static_cast<std::size_t>(r) * P.S];
        int many = 0;
        for (int k = to; k < e; ++k) {
          if (o[k] == 1) {
            const int b = st.occupant(r, k);
            if (mark[b] != stamp && !chainAdd(b, to, e, w0, other, L, chainSide[i])) return false;
          } else {
            many += o[k] > 1;
          }
        }
        if (many == 0) continue;
        for (int b : P.res[r].acts) {
          if (mark[b] != stamp && !chainAdd(b, to, e, w0, other, L, chainSide[i])) return false;
        }
      }
    }
    moves.assign(chain, chain + chainLen);
    return true;
  }

  // Activities with a soft cost (or away from their incremental start slot).
  std::vector<int> softConflicted() {
    ++stamp;
    std::vector<int> out;
    auto add = [&](int a) {
      if (mark[a] != stamp && !locked[a] && st.pos[a] >= 0) {
        mark[a] = stamp;
        out.push_back(a);
      }
    };
    for (int l = 0; l < static_cast<int>(P.links.size()); ++l) {
      if (st.linkSoft[l] > 0) for (int a : P.links[l].acts) add(a);
    }
    for (int r = 0; r < static_cast<int>(P.res.size()); ++r) {
      if (st.resSoft[r] > 0) for (int a : P.res[r].acts) add(a);
    }
    for (int a = 0; a < static_cast<int>(P.acts.size()); ++a) {
      int p = st.pos[a];
      if (p < 0) continue;
      if (P.acts[a].timeSoft[p] > 0 || st.roomCostSoft(a, st.room[a]) > 0 || stabCost(a, p) > 0) add(a);
    }
    return out;
  }

  // Tuning (measured on the shared instances): breakout probability, noise,
  // the hard penalty while polishing, lessons sampled per move. Instances of
  // up to kSmallInstance lessons still without a valid timetable after
  // kGreedyAfter iterations are tight: they sample kSampleSmall (a greedier
  // choice) and every kSmoothEvery breakouts the weights move halfway back to
  // 1, so that old violations are forgotten. Both solve the tight small ones
  // (8th-highschool, Vartholomio); easy ones are valid before, and Namibia
  // (1,198 lessons) needs many cheap moves and weights that keep growing.
  static constexpr int bumpPerMille = 1000;
  static constexpr int noisePct = 3;
  static constexpr double polishHardScale = 3.0;
  static constexpr int kSample = 4;
  static constexpr int kSampleSmall = 24;
  static constexpr std::size_t kSmallInstance = 800;
  static constexpr long kGreedyAfter = 10000;
  static constexpr long kSmoothEvery = 50;
  static constexpr double kSmoothRho = 0.5;
  static constexpr long polishIdle = 100;  // polish iterations without a new best before a kick
  static constexpr int polishKicks = 2;
  std::vector<Spot> wmoves, saved, bestMoves, kMoves;

  // Best move of activity a (to another slot, a compound move, or an
  // exchange with an adjacent lesson); returns false if none allowed.
  bool bestMove(int a, bool hardPhase, int& outS, int& outR, int& outB, int& outBR, double& outObj) {
    bestMoves.clear();
    const auto& x = P.acts[a];
    const double bestObj = best.hard * 1000.0 + best.soft;
    int from = st.pos[a], fromR = st.room[a];
    stab -= stabCost(a, from);
    st.unplace(a);
    double bestC = 1e300;
    int ties = 0;
    outS = -1;
    outB = -1;
    auto consider = [&](int s, int r, int b, int br, double c, double hardNow, double plain) {
      if (s == from && r < -1) return;
      if (!hardPhase && hardNow > 0) return;
      bool isTabu = tabu[static_cast<std::size_t>(a) * P.S + s] > iter;
      if (isTabu && !(plain < bestObj - 1e-9)) return;
      if (c < bestC - 1e-9) {
        bestC = c, outS = s, outR = r, outB = b, outBR = br, ties = 1;
      } else if (c < bestC + 1e-9 && rnd(++ties) == 0) {
        outS = s, outR = r, outB = b, outBR = br;
      }
    };
    // Evaluates the compound move in wmoves (a placed at `from` on entry and
    // exit; stab leaves out a's cost there, hence + stabCost(a, from)).
    auto tryCompound = [&](int s) {
      saved.clear();
      for (const auto& m : wmoves) saved.push_back({m.a, st.pos[m.a], st.room[m.a]});
      moveAll(wmoves);
      double plain2 = st.objective();
      double c = st.wobjective() + stab + stabCost(a, from);
      double keepC = bestC;
      consider(s, -2, -2, -1, c, st.hard, plain2);
      if (bestC < keepC || (outS == s && outR == -2)) {
        bestMoves.clear();
        for (const auto& m : wmoves) bestMoves.push_back({m.a, m.pos, st.room[m.a]});
      }
      moveAll(saved);
    };
    for (int s = 0; s < P.S; ++s) {
      if (!x.allowed[s]) continue;
      int r = chooseRoom(a, s);
      if (s == from && r == fromR) continue;
      auto dl = st.placeDelta(a, s, r);
      double hardNow = st.hard + dl.hard, softNow = st.soft + dl.soft;
      consider(s, r, -1, -1, (st.whard + dl.whard) * st.hardScale + softNow + stab + stabCost(a, s), hardNow,
               hardNow * 1000.0 + softNow);
    }
    st.place(a, from, fromR);
    // Kempe chains to the targets where a's teachers or student sets are busy.
    {
      for (int s = 0; s < P.S; ++s) {
        if (!x.allowed[s] || s == from) continue;
        bool busy = false;
        for (int ri = 0; ri < x.clashRes; ++ri) {
          const int* o = &st.occ[static_cast<std::size_t>(x.res[ri]) * P.S + s];
          for (int k = 0; k < x.dur && !busy; ++k) busy = o[k] > 0;
          if (busy) break;
        }
        if (!busy) continue;
        if (kempeChain(a, s, wmoves) && wmoves.size() > 1) tryCompound(s);
      }
    }
    // Same day: exchange a with an adjacent lesson of one of its student sets.
    {
      const auto& rs = x.subgroups.empty() ? x.teachers : x.subgroups;
      for (int r : rs) {
        for (int b : P.res[r].acts) {
          int pb = st.pos[b];
          if (b == a || pb < 0 || P.dayOf[pb] != P.dayOf[from] || locked[b]) continue;
          int db = P.acts[b].dur;
          int na, nb;
          if (pb == from + x.dur) {
            nb = from, na = from + db;
          } else if (pb + db == from) {
            na = pb, nb = pb + x.dur;
          } else {
            continue;
          }
          if (!x.allowed[na] || !P.acts[b].allowed[nb]) continue;
          wmoves.clear();
          wmoves.push_back({a, na, kChooseRoom});
          wmoves.push_back({b, nb, kChooseRoom});
          tryCompound(na);
        }
        break;  // the first student set is enough to find neighbours
      }
    }
    st.unplace(a);
    st.place(a, from, fromR);
    stab += stabCost(a, from);
    outObj = bestC;
    return outS >= 0;
  }

  // The best move among k lessons of c: `first` (if not -1), then sampled
  // ones; a compound move's lessons are left in bestMoves. a = -1 if none.
  struct Choice { int a = -1, s = -1, r = -1, b = -1, br = -1; double obj = 1e300; };
  Choice bestAmong(const std::vector<int>& c, int k, int first) {
    Choice ch;
    const int n = static_cast<int>(c.size());
    for (int i = 0; i < k; ++i) {
      Choice m;
      m.a = i == 0 && first >= 0 ? first : c[rnd(n)];
      if (!bestMove(m.a, true, m.s, m.r, m.b, m.br, m.obj)) continue;
      if (m.obj < ch.obj - 1e-9 || (m.obj < ch.obj + 1e-9 && rnd(2) == 0)) {
        ch = m;
        kMoves = bestMoves;
      }
    }
    if (ch.a >= 0) bestMoves = kMoves;
    return ch;
  }

  void applyMove(int a, int s, int r, int b, int br) {
    int from = st.pos[a];
    if (r == -2) {  // compound move recorded in bestMoves
      moveAll(bestMoves);
      return;
    }
    if (b < 0) {
      move(a, s, r);
      return;
    }
    placeBoth(a, s, r, b, from, br);
  }

  // a to (sa, ra) and b to (sb, rb) at once (both placed on entry); with
  // chooseRooms, the rooms are chosen once both have left theirs.
  void placeBoth(int a, int sa, int ra, int b, int sb, int rb, bool chooseRooms = false) {
    stab -= stabCost(a, st.pos[a]) + stabCost(b, st.pos[b]);
    st.unplace(b);
    st.unplace(a);
    st.place(a, sa, chooseRooms ? chooseRoom(a, sa) : ra);
    st.place(b, sb, chooseRooms ? chooseRoom(b, sb) : rb);
    stab += stabCost(a, sa) + stabCost(b, sb);
  }

  // Incremental re-solve, once valid: lessons moved away go back to their
  // start slot (alone, or swapped with another moved lesson) whenever that
  // keeps the timetable valid and lowers soft cost plus stability cost.
  void settle() {
    const int N = static_cast<int>(P.acts.size());
    auto cost = [&] { return st.soft + stab; };
    for (bool again = true; again;) {
      again = false;
      for (int a = 0; a < N; ++a) {
        int home = startPos[a], from = st.pos[a], fromR = st.room[a];
        if (home < 0 || from < 0 || from == home || locked[a] || !P.acts[a].allowed[home]) continue;
        double before = cost();
        move(a, home, chooseRoom(a, home));
        if (st.hard == 0 && cost() < before - 1e-9) {
          again = true;
          continue;
        }
        move(a, from, fromR);
        for (int b = 0; b < N; ++b) {  // a swap with the moved lesson now at a's home
          int pb = st.pos[b], rb = st.room[b];
          if (b == a || pb != home || locked[b] || startPos[b] == pb || !P.acts[b].allowed[from]) continue;
          placeBoth(a, home, -1, b, from, -1, true);
          if (st.hard == 0 && cost() < before - 1e-9) {
            again = true;
            break;
          }
          placeBoth(a, from, fromR, b, pb, rb);
        }
      }
    }
  }

  bool reportProgress = true;  // only one thread calls the callback

  void progress(double el) {
    if (!opt.onProgress || !reportProgress) return;
    Progress p;
    p.total = static_cast<int>(P.acts.size());
    p.placed = p.total - static_cast<int>(conflicted().size());
    p.bestSoftCost = best.soft;
    p.elapsedSeconds = el;
    opt.onProgress(p);
  }

  void run(double polishSeconds) {
    t0 = threadCpu();
    construct();
    snapshot();
    if (st.hard == 0 && best.firstValid < 0) best.firstValid = threadCpu() - t0;
    if (opt.start && st.hard > 0) repairLocally();
    if (best.firstValid < 0 || polishSeconds > 0) search(polishSeconds, -1);
    best.iterations = iter;
  }

  // Incremental re-solve: at first only the lessons in conflict may move, then
  // also those sharing a teacher or student set with a movable one, and so on.
  void repairLocally() {
    const int N = static_cast<int>(P.acts.size());
    const std::vector<char> userLocked = locked;
    std::vector<char> movable(N, 0);
    for (int a : conflicted()) movable[a] = 1;
    for (int round = 0; round < 3 && best.firstValid < 0 && !timeUp(); ++round) {
      for (int a = 0; a < N; ++a) locked[a] = userLocked[a] || !movable[a];
      search(0, iter + 3000);
      std::vector<char> next = movable;
      for (int a = 0; a < N; ++a) {
        if (!movable[a]) continue;
        for (int r : P.acts[a].res) for (int b : P.res[r].acts) next[b] = 1;
      }
      movable.swap(next);
    }
    locked = userLocked;
  }

  // The local search, until the time limit, or the polish after the first
  // valid timetable ends, or iteration maxIter (if positive).
  void search(double polishSeconds, long maxIter) {
    long lastImprove = iter;
    double lastProgress = 0;
    for (++iter;; ++iter) {
      if ((iter & 31) == 0) {
        if (timeUp() || (maxIter > 0 && iter >= maxIter)) break;
        double el = threadCpu() - t0;
        if (el - lastProgress > 0.25) {
          lastProgress = el;
          progress(el);
        }
        if (best.firstValid >= 0 && el - best.firstValid > polishSeconds) break;
      }
      bool hardPhase = st.hard > 0;
      int a;
      if (hardPhase) {
        auto c = conflicted();
        if (c.empty()) {
          // Hard cost comes from something no move can fix (e.g. unplaceable data); stop.
          break;
        }
        a = c[rnd(static_cast<int>(c.size()))];
        int nConf = static_cast<int>(c.size());
        int s, r, b = -1, br = -1;
        double obj;
        if (rnd(100) < noisePct) {  // noise: a random allowed slot
          s = randomSlot(a, [&](int q) { return q != st.pos[a]; });
          if (s < 0) continue;
          r = chooseRoom(a, s);
        } else {
          // The best move among a few conflicted lessons.
          double cur = objective();
          const bool tight = P.acts.size() <= kSmallInstance && iter > kGreedyAfter;
          const Choice ch = bestAmong(c, tight ? kSampleSmall : kSample, a);
          if (ch.a < 0) continue;
          a = ch.a, s = ch.s, r = ch.r, b = ch.b, br = ch.br, obj = ch.obj;
          if (obj >= cur - 1e-9 && rnd(1000) < bumpPerMille) {  // local minimum: raise violated weights
            st.bumpWeights(1.0, 1e6);
            if (tight && ++bumps % kSmoothEvery == 0) st.smoothWeights(kSmoothRho);
          }
        }
        tabu[static_cast<std::size_t>(a) * P.S + st.pos[a]] = iter + 5 + rnd(10) + nConf / 2;
        if (b >= 0) tabu[static_cast<std::size_t>(b) * P.S + st.pos[b]] = iter + 5 + rnd(10) + nConf / 2;
        applyMove(a, s, r, b, br);
      } else {
        if (st.soft <= 1e-9 && stab <= 1e-9) break;
        auto c = softConflicted();
        if (c.empty()) break;
        if (st.hardScale > 100) {  // entering the polish: hard rules become a finite penalty
          st.resetWeights();
          st.hardScale = polishHardScale;
        }
        const Choice ch = bestAmong(c, kSample, -1);
        if (ch.a < 0) continue;
        a = ch.a;
        tabu[static_cast<std::size_t>(a) * P.S + st.pos[a]] = iter + 10 + rnd(10);
        applyMove(a, ch.s, ch.r, ch.b, ch.br);
      }
      double o = st.objective();
      if (o < best.hard * 1000.0 + best.soft - 1e-9) {
        snapshot();
        lastImprove = iter;
        if (st.hard == 0 && best.firstValid < 0) {
          best.firstValid = threadCpu() - t0;
          if (opt.start) {
            settle();
            snapshot();
          }
          if (polishSeconds <= 0) break;
        }
      } else if (best.firstValid >= 0 && iter - lastImprove > polishIdle) {
        // Polish stagnation: back to the best timetable, then kick a few
        // lessons with soft conflicts to another day (iterated local search).
        restoreBest();
        auto c = softConflicted();
        for (int k = 0; k < polishKicks && !c.empty(); ++k) {
          const int b = c[rnd(static_cast<int>(c.size()))];
          const int s = randomSlot(b, [&](int q) { return P.dayOf[q] != P.dayOf[st.pos[b]]; });
          if (s < 0) continue;
          if (kempeChain(b, s, wmoves)) {
            moveAll(wmoves);
          } else {
            move(b, s, chooseRoom(b, s));
          }
        }
        lastImprove = iter;
      } else if (iter - lastImprove > 20000 && st.hard > 0) {
        // Stagnation: restart from the best state with a few random kicks.
        restoreBest();
        auto c = conflicted();
        for (int k = 0; k < 5 && !c.empty(); ++k) {
          const int b = c[rnd(static_cast<int>(c.size()))];
          const int s = randomSlot(b, [](int) { return true; });
          if (s >= 0) move(b, s, chooseRoom(b, s));
        }
        lastImprove = iter;
      }
    }
  }
};

}  // namespace

SolveResult solve(const Instance& in, const SolveOptions& opt) {
  const double c0 = threadCpu();
  auto wall0 = std::chrono::steady_clock::now();
  SolveResult res;
  Problem P = detail::compile(in);
  res.impossibilities = precheck(in);
  const int N = static_cast<int>(P.acts.size());
  bool fatal = false;
  for (const auto& im : res.impossibilities) fatal |= im.kind != "data";
  if (fatal) {
    res.status = SolveResult::Status::impossible;
    std::vector<int> none(N, -1);
    res.timetable = toTimetable(P, none, none);
    for (int a = 0; a < N; ++a) res.unplaced.push_back({P.acts[a].id, {}});
    res.cpuSeconds = threadCpu() - c0;
    return res;
  }

  const int threads = std::max(1, opt.threads);
  std::atomic<bool> found{false};
  std::vector<SearchOutcome> outcomes(threads);
  std::vector<char> lockedMask(N, 0);
  std::vector<int> startPos(N, -1);
  if (opt.start) {
    for (const auto& p : *opt.start) {
      int a = P.actOf(p.activityId);
      if (a < 0 || p.day < 0 || p.hour < 0 || p.day >= P.D || p.hour >= P.H) continue;
      startPos[a] = p.day * P.H + p.hour;
      if (p.locked) lockedMask[a] = 1;
    }
  }
  const double polish = opt.polishSeconds;
  std::vector<double> cpuUsed(threads, 0);
  auto worker = [&](int t) {
    double tc = threadCpu();
    Search s(P, opt, opt.seed + static_cast<std::uint64_t>(t) * 0x9E3779B97F4A7C15ULL, threads > 1 ? &found : nullptr);
    s.reportProgress = t == 0;
    if (opt.start) {
      for (const auto& p : *opt.start) {
        int a = P.actOf(p.activityId);
        if (a < 0 || startPos[a] < 0 || s.st.pos[a] >= 0) continue;
        int sl = startPos[a];
        s.startPos[a] = sl;
        if (!lockedMask[a] && !P.acts[a].allowed[sl]) continue;  // no longer valid: re-place
        if (sl % P.H + P.acts[a].dur > P.H) continue;
        int r = roomIndex(P, p.room);
        if (!lockedMask[a] && P.acts[a].needsRoom &&
            std::find(P.acts[a].roomCands.begin(), P.acts[a].roomCands.end(), r) == P.acts[a].roomCands.end()) {
          r = -1;
        }
        s.st.place(a, sl, r);
        s.locked[a] = lockedMask[a];
      }
      for (int a = 0; a < N; ++a) {
        if (s.st.pos[a] >= 0 && !s.locked[a] && P.acts[a].needsRoom && s.st.room[a] < 0 && !P.acts[a].noneAllowed) {
          int sl = s.st.pos[a];
          s.st.unplace(a);
          s.st.place(a, sl, s.chooseRoom(a, sl));
        }
      }
    }
    s.run(polish);
    outcomes[t] = std::move(s.best);
    if (outcomes[t].hard == 0) found = true;
    cpuUsed[t] = threadCpu() - tc;
  };
  if (threads == 1) {
    worker(0);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
    for (auto& th : pool) th.join();
  }
  int bi = 0;
  for (int t = 1; t < threads; ++t) {
    const auto& o = outcomes[t];
    const auto& b = outcomes[bi];
    if (o.hard < b.hard || (o.hard == b.hard && o.soft < b.soft)) bi = t;
  }
  SearchOutcome& out = outcomes[bi];
  res.firstValidSeconds = out.firstValid;
  res.iterations = out.iterations;

  Search helper(P, opt, opt.seed, nullptr);
  State& st = helper.st;
  for (int a = 0; a < N; ++a) {
    if (out.pos[a] >= 0) st.place(a, out.pos[a], out.room[a]);
  }
  std::vector<int> unplaced;
  for (int a = 0; a < N; ++a) if (st.pos[a] < 0) unplaced.push_back(a);
  if (st.hard > 0) {
    // Best partial timetable: take out lessons in conflict, the most harmful first.
    for (int guard = 0; guard < N && helper.st.hard > 0; ++guard) {
      auto c = helper.conflicted();
      int bestA = -1;
      double bestH = helper.st.hard;
      for (int a : c) {
        int s = helper.st.pos[a], r = helper.st.room[a];
        helper.st.unplace(a);
        if (helper.st.hard < bestH - 1e-9) {
          bestH = helper.st.hard;
          bestA = a;
        }
        helper.st.place(a, s, r);
      }
      if (bestA < 0) break;
      helper.st.unplace(bestA);
      unplaced.push_back(bestA);
    }
  }
  // Blockers for each unplaced activity.
  for (int a : unplaced) {
    Unplaced u;
    u.activityId = P.acts[a].id;
    std::map<std::pair<std::string, std::string>, int> count;
    const auto& x = P.acts[a];
    int candidates = 0;
    for (const auto& d : x.domain) {
      if (d.weight < 100) continue;
      int n = static_cast<int>(std::count(d.ok.begin(), d.ok.end(), 0));
      if (n > 0) count[{"constraint", d.type + (d.name.empty() ? "" : ": " + d.name)}] += n;
    }
    for (int s = 0; s < P.S; ++s) {
      if (!x.allowed[s]) continue;
      ++candidates;
      std::vector<double> before;
      for (int r : x.res) before.push_back(st.resHard[r]);
      std::vector<double> lb;
      for (int l : x.links) lb.push_back(st.linkHard[l]);
      double rb = st.roomHard;
      st.place(a, s, -1);
      if (x.needsRoom) {
        st.unplace(a);
        int bestR = -1;
        double bc = 1e300;
        for (int r : x.roomCands) {
          double c = 0;
          for (int k = 0; k < x.dur; ++k) c += st.roomOcc[static_cast<std::size_t>(r) * P.S + s + k] > 0;
          if (c < bc) bc = c, bestR = r;
        }
        st.place(a, s, bestR);
      }
      for (std::size_t i = 0; i < x.res.size(); ++i) {
        int r = x.res[i];
        if (st.resHard[r] > before[i] + 1e-9) {
          bool teacher = P.res[r].kind == detail::Resource::kTeacher || P.res[r].kind == detail::Resource::kTeacherTag;
          count[{teacher ? "teacher" : "students", P.res[r].name}]++;
        }
      }
      for (std::size_t i = 0; i < x.links.size(); ++i) {
        if (st.linkHard[x.links[i]] > lb[i] + 1e-9) count[{"constraint", P.links[x.links[i]].type}]++;
      }
      if (st.roomHard > rb + 1e-9) count[{"room", x.roomCands.size() == 1 ? P.roomNames[x.roomCands[0]] : "rooms"}]++;
      st.unplace(a);
    }
    std::vector<std::pair<int, std::pair<std::string, std::string>>> sorted;
    for (auto& [k, n] : count) sorted.push_back({n, k});
    std::sort(sorted.rbegin(), sorted.rend());
    for (std::size_t i = 0; i < sorted.size() && i < 5; ++i) {
      auto [n, k] = sorted[i];
      Blocker b;
      b.kind = k.first;
      b.name = k.second;
      std::string ns = std::to_string(n);
      if (b.kind == "teacher") {
        b.en = "Teacher " + b.name + " is busy or limited at " + ns + " of the possible times.";
        b.fr = "L'enseignant·e " + b.name + " est occupé·e ou limité·e sur " + ns + " des horaires possibles.";
      } else if (b.kind == "students") {
        b.en = "Students " + b.name + " are busy or limited at " + ns + " of the possible times.";
        b.fr = "Le groupe " + b.name + " est occupé ou limité sur " + ns + " des horaires possibles.";
      } else if (b.kind == "room") {
        b.en = "No suitable room is free at " + ns + " of the possible times (" + b.name + ").";
        b.fr = "Aucune salle adaptée n'est libre sur " + ns + " des horaires possibles (" + b.name + ").";
      } else {
        b.en = "The rule " + b.name + " rules out " + ns + " time(s).";
        b.fr = "La règle " + b.name + " exclut " + ns + " horaire(s).";
      }
      u.blockers.push_back(std::move(b));
    }
    (void)candidates;
    res.unplaced.push_back(std::move(u));
  }
  res.timetable = toTimetable(P, st.pos, st.room, &lockedMask);
  res.softCost = st.soft;
  if (opt.start) {
    for (int a = 0; a < N; ++a) res.moved += startPos[a] >= 0 && st.pos[a] != startPos[a];
  }
  bool cancelled = opt.cancel && opt.cancel->load();
  if (res.unplaced.empty() && st.hard == 0) {
    res.status = SolveResult::Status::solved;
  } else {
    res.status = cancelled ? SolveResult::Status::cancelled : SolveResult::Status::partial;
  }
  res.cpuSeconds = 0;
  for (double c : cpuUsed) res.cpuSeconds += c;
  if (threads == 1) res.cpuSeconds = threadCpu() - c0;
  res.wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return res;
}

}  // namespace ardoise::timetable
