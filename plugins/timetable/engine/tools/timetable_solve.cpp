// timetable_solve FILE.fet [--seed N] [--time S] [--threads N] [--polish S] [--out FILE] [--check ACTIVITIES.xml]
// Solves one FET file and prints time, placed count and violations.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "timetable/engine.hpp"

using namespace ardoise::timetable;

static std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: timetable_solve FILE.fet [--seed N] [--time S] [--threads N] [--polish S] [--out F] [--check F]\n";
    return 2;
  }
  std::string file = argv[1], out, check;
  SolveOptions o;
  o.timeLimitSeconds = 60;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--seed") o.seed = std::stoull(v);
    else if (k == "--time") o.timeLimitSeconds = std::stod(v);
    else if (k == "--threads") o.threads = std::stoi(v);
    else if (k == "--polish") o.polishSeconds = std::stod(v);
    else if (k == "--out") out = v;
    else if (k == "--check") check = v;
  }
  auto rep = readFet(slurp(file));
  for (auto& [k, n] : rep.unsupported) std::cout << "unsupported " << k << " x" << n << "\n";
  if (!check.empty()) {
    auto tt = readFetActivities(rep.instance, slurp(check));
    auto ev = evaluate(rep.instance, tt);
    std::cout << "check: hard=" << ev.hard.size() << " soft=" << ev.softCost << "\n";
    for (std::size_t i = 0; i < ev.hard.size() && i < 15; ++i) std::cout << "  H " << ev.hard[i].en << "\n";
    for (std::size_t i = 0; i < ev.soft.size() && i < 40; ++i) std::cout << "  S " << ev.soft[i].weight << " " << ev.soft[i].type << " " << ev.soft[i].en << "\n";
    return 0;
  }
  for (auto& im : precheck(rep.instance)) std::cout << "precheck: " << im.en << "\n";
  auto r = solve(rep.instance, o);
  auto ev = evaluate(rep.instance, r.timetable);
  int placed = 0;
  for (auto& p : r.timetable) placed += p.day >= 0;
  std::printf("status=%d placed=%d/%zu cpu=%.2f first_valid=%.2f soft=%.2f iters=%ld eval_hard=%zu eval_soft=%.2f\n",
              static_cast<int>(r.status), placed, r.timetable.size(), r.cpuSeconds, r.firstValidSeconds, r.softCost,
              r.iterations, ev.hard.size(), ev.softCost);
  for (std::size_t i = 0; i < ev.hard.size() && i < 10; ++i) std::cout << "  H " << ev.hard[i].en << "\n";
  for (std::size_t i = 0; i < r.unplaced.size() && i < 5; ++i) {
    std::cout << "  unplaced " << r.unplaced[i].activityId << ":";
    for (auto& b : r.unplaced[i].blockers) std::cout << " [" << b.en << "]";
    std::cout << "\n";
  }
  if (!out.empty()) std::ofstream(out) << writeFetActivities(rep.instance, r.timetable);
  return r.status == SolveResult::Status::solved ? 0 : 1;
}
