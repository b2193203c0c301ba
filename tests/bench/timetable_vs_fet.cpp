// Ardoise's timetable solver against FET's fet-cl on the shared real school
// instances (/work/shared/timetable/fet, see its README for the protocol):
// same unedited file, same CPU budget, one thread each, several seeds each,
// both timetables judged by the independent checker (`timetable_checker`).
//
//   timetable_vs_fet [--smoke] [--dir D] [--only SUBSTR[,SUBSTR]] [--seeds N] [--fet-seeds N]
//                    [--hard-fet-seeds N] [--budget S] [--polish S] [--no-fet]
//
// A timeout counts as a failure (never as the budget). Times are CPU seconds
// to the first valid timetable: getrusage of fet-cl (wrapped in `timeout`),
// thread CPU time inside the engine. Soft conflicts: FET's counting (sum of
// weight/100 over broken soft constraint instances).
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "bench_support.hpp"
#include "timetable/checker.hpp"
#include "timetable/engine.hpp"

namespace fs = std::filesystem;
using namespace ardoise::timetable;
using ardoise::bench::fixed;
using ardoise::bench::median;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Checked {
  bool valid = false;
  double soft = 0;
  std::size_t hard = 0;
};

// Both programs' timetables are judged by the independent checker.
Checked check(const std::string& fetXml, const std::string& activitiesXml) {
  Checked c;
  auto r = ardoise::timetable::checker::check(fetXml, activitiesXml);
  c.hard = r.hardViolations.size();
  c.soft = r.softConflicts;
  c.valid = c.hard == 0;
  return c;
}

struct Run {
  bool ok = false;
  double cpu = 0;    // to the first valid timetable
  double total = 0;  // the whole call (Ardoise: including the soft polish)
  double soft = 0;
  std::string note;
};

Run runArdoise(const std::string& xml, const Instance& in, std::uint64_t seed, double budget, double polish) {
  SolveOptions o;
  o.seed = seed;
  o.timeLimitSeconds = budget;
  o.threads = 1;
  o.polishSeconds = polish;
  auto r = solve(in, o);
  Run run;
  if (r.status != SolveResult::Status::solved) {
    int placed = 0;
    for (const auto& p : r.timetable) placed += p.day >= 0;
    run.note = "partial " + std::to_string(placed) + "/" + std::to_string(r.timetable.size());
    return run;
  }
  auto c = check(xml, writeFetActivities(in, r.timetable));
  run.ok = c.valid && r.firstValidSeconds >= 0 && r.firstValidSeconds <= budget;
  run.cpu = r.firstValidSeconds;
  run.total = r.cpuSeconds;
  run.soft = c.soft;
  if (!c.valid) run.note = "checker: " + std::to_string(c.hard) + " hard violations";
  return run;
}

Run runFet(const fs::path& file, const std::string& xml, const Instance& in, std::uint64_t seed, double budget) {
  Run run;
  ardoise::bench::TempDir dir;
  std::string out = dir.path().string();
  // fet-cl's own limit is wall-clock: on a loaded machine it would stop before
  // using its CPU budget. Give it a generous wall limit and enforce the CPU
  // budget with RLIMIT_CPU (set in the child); `timeout` is the safety net.
  std::string budgetArg = std::to_string(static_cast<int>(budget * 4));
  std::string killAfter = std::to_string(static_cast<int>(budget * 4) + 15);
  std::string s = std::to_string(seed);
  std::vector<std::string> args = {"timeout", "--signal=TERM", "--kill-after=10", killAfter, "fet-cl",
                                   "--inputfile=" + file.string(), "--outputdir=" + out,
                                   "--timelimitseconds=" + budgetArg, "--randomseeds10=" + s, "--randomseeds11=" + s,
                                   "--randomseeds12=" + s, "--randomseeds20=" + s, "--randomseeds21=" + s,
                                   "--randomseeds22=" + s};
  pid_t pid = fork();
  if (pid == 0) {
    rlimit lim{};
    lim.rlim_cur = static_cast<rlim_t>(budget + 0.999);
    lim.rlim_max = lim.rlim_cur + 5;
    setrlimit(RLIMIT_CPU, &lim);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("timeout", argv.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  run.cpu = cpu;
  run.total = cpu;
  std::string result;
  fs::path activities;
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    std::string n = e.path().filename().string();
    if (n == "result.txt") result = slurp(e.path());
    if (n.size() > 15 && n.compare(n.size() - 15, 15, "_activities.xml") == 0) activities = e.path();
  }
  bool success = result.find("Simulation successful") != std::string::npos;
  if (!success) {
    run.note = result.find("Time exceeded") != std::string::npos ? "time exceeded"
               : result.empty() ? (cpu >= budget ? "CPU budget exhausted" : "no result")
                                : "not solved";
    return run;
  }
  if (activities.empty()) {
    run.note = "no activities file";
    return run;
  }
  auto c = check(xml, slurp(activities));
  run.ok = c.valid && cpu <= budget;
  run.soft = c.soft;
  if (!c.valid) run.note = "checker: " + std::to_string(c.hard) + " hard violations";
  if (cpu > budget) run.note = "over budget";
  return run;
}

struct Summary {
  int solved = 0, runs = 0;
  double medianCpu = -1, worstCpu = -1, medianSoft = -1, medianTotal = -1;
};

Summary summarize(const std::vector<Run>& runs) {
  Summary s;
  s.runs = static_cast<int>(runs.size());
  std::vector<double> cpu, soft, total;
  for (const auto& r : runs) {
    if (!r.ok) continue;
    ++s.solved;
    total.push_back(r.total);
    cpu.push_back(r.cpu);
    soft.push_back(r.soft);
  }
  if (!cpu.empty()) {
    s.medianCpu = median(cpu);
    s.worstCpu = *std::max_element(cpu.begin(), cpu.end());
    s.medianSoft = median(soft);
    s.medianTotal = median(total);
  }
  // A failed seed makes the worst time "beyond the budget".
  if (s.solved < s.runs) s.worstCpu = -1;
  return s;
}

std::string cell(double v) { return v < 0 ? "—" : fixed(v, 2); }

bool haveFet() { return std::system("command -v fet-cl >/dev/null 2>&1") == 0; }

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = ARDOISE_TIMETABLE_FET_DIR;
  bool smoke = false, noFet = false;
  int seeds = 5, fetSeeds = 5, hardFetSeeds = 5;
  double budget = 60, polish = 5.0;  // the plugin's default polish
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--smoke") smoke = true;
    else if (a == "--no-fet") noFet = true;
    else if (a == "--dir") dir = next();
    else if (a == "--seeds") seeds = std::stoi(next());
    else if (a == "--fet-seeds") fetSeeds = std::stoi(next());
    else if (a == "--hard-fet-seeds") hardFetSeeds = std::stoi(next());
    else if (a == "--budget") budget = std::stod(next());
    else if (a == "--polish") polish = std::stod(next());
    else if (a == "--only") {
      std::stringstream ss(next());
      std::string part;
      while (std::getline(ss, part, ',')) only.push_back(part);
    } else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  if (smoke) {
    seeds = fetSeeds = hardFetSeeds = 1;
    budget = 5;
    polish = 0.2;
    if (only.empty()) only = {"Sudan"};
  }
  if (!haveFet()) {
    if (!smoke && !noFet) {
      std::cerr << "fet-cl not found (Debian package fet); use --no-fet to run Ardoise alone\n";
      return 1;
    }
    noFet = true;
  }
  std::vector<fs::path> files;
  if (!fs::exists(dir)) {
    std::cerr << "instance folder not found: " << dir << "\n";
    return smoke ? 0 : 1;
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".fet") continue;
    std::string n = e.path().stem().string();
    bool keep = only.empty();
    for (const auto& o : only) keep |= n.find(o) != std::string::npos;
    if (keep) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::cout << "timetable_vs_fet: budget " << budget << " s CPU, 1 thread, Ardoise " << seeds << " seeds, FET "
            << (noFet ? 0 : fetSeeds) << " seeds; checker: timetable_checker (independent)\n";
  std::cout << "Ardoise polishes the soft cost for " << polish
            << " s CPU after its first valid timetable ('total s'); times to the first valid one are compared.\n";
  std::cout << "instance | ardoise solved | med s | worst s | med total s | med soft | fet solved | med s | worst s | med soft | ratio\n";
  int aSolved = 0, aRuns = 0, fSolved = 0, fRuns = 0;
  std::vector<double> ratios;
  double worstRatio = -1;
  int softCompared = 0, softNoWorse = 0;  // instances both solve: Ardoise's median soft cost at most FET's
  for (const auto& file : files) {
    std::string xml = slurp(file);
    Instance in = readFet(xml).instance;
    std::string name = file.stem().string();
    bool hard = name.find("8th-highschool") != std::string::npos;
    std::vector<Run> ar, fr;
    for (int s = 1; s <= seeds; ++s) {
      ar.push_back(runArdoise(xml, in, static_cast<std::uint64_t>(s), budget, polish));
      std::cerr << "  " << name << " ardoise seed " << s << ": " << (ar.back().ok ? "ok " : "FAIL ")
                << fixed(ar.back().cpu, 2) << " s soft " << fixed(ar.back().soft, 2) << " " << ar.back().note << "\n";
    }
    if (!noFet) {
      int n = hard ? hardFetSeeds : fetSeeds;
      for (int s = 1; s <= n; ++s) {
        fr.push_back(runFet(file, xml, in, static_cast<std::uint64_t>(s), budget));
        std::cerr << "  " << name << " fet seed " << s << ": " << (fr.back().ok ? "ok " : "FAIL ")
                  << fixed(fr.back().cpu, 2) << " s soft " << fixed(fr.back().soft, 2) << " " << fr.back().note << "\n";
      }
    }
    Summary a = summarize(ar), f = summarize(fr);
    aSolved += a.solved, aRuns += a.runs, fSolved += f.solved, fRuns += f.runs;
    std::string ratio = "—";
    if (a.medianCpu >= 0 && f.medianCpu > 0) {
      double r = a.medianCpu / f.medianCpu;
      ratios.push_back(r);
      ratio = fixed(r, 2);
      worstRatio = std::max(worstRatio, r);
      ++softCompared;
      softNoWorse += a.medianSoft <= f.medianSoft + 1e-9;
    } else if (a.medianCpu < 0 && f.medianCpu > 0) {
      // Ardoise failed where FET succeeded: counts as the budget (a lower bound of the ratio).
      double r = budget / f.medianCpu;
      ratios.push_back(r);
      worstRatio = std::max(worstRatio, r);
      ratio = ">=" + fixed(r, 2) + " (fail)";
    }
    std::cout << name << " | " << a.solved << "/" << a.runs << " | " << cell(a.medianCpu) << " | "
              << (a.solved < a.runs ? "timeout" : cell(a.worstCpu)) << " | " << cell(a.medianTotal) << " | "
              << cell(a.medianSoft) << " | "
              << f.solved << "/" << f.runs << " | " << cell(f.medianCpu) << " | "
              << (f.solved < f.runs ? (f.runs ? "timeout" : "—") : cell(f.worstCpu)) << " | " << cell(f.medianSoft)
              << " | " << ratio << std::endl;
  }
  std::cout << "headline: ardoise_solved=" << aSolved << "/" << aRuns << " fet_solved=" << fSolved << "/" << fRuns
            << " median_time_ratio=" << (ratios.empty() ? "—" : fixed(median(ratios), 2))
            << " worst_time_ratio=" << (worstRatio < 0 ? "—" : fixed(worstRatio, 2)) << " soft_no_worse=" << softNoWorse
            << "/" << softCompared << std::endl;
  return 0;
}
