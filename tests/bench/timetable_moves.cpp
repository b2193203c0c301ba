// The check behind a manual move in the timetable plugin, on a real school's
// timetable of more than 1,000 lessons (Namibia, with FET's own timetable of
// it): every lesson in turn is moved to another allowed slot and checked as
// the moves route does, i.e. the clash index (teachers, student sets, rooms,
// not-available times) plus the engine's evaluation of every other hard rule.
// Baseline, in the same run: the timetable's JSON round trip (dump and
// parse), which the route pays anyway to load and store it.
//
//   timetable_moves [--smoke] [--moves N]
//
// Target: a check well under 10 ms. Exits non-zero only when setup fails.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "../../plugins/timetable/src/conflicts.hpp"
#include "bench_support.hpp"

namespace {

using ardoise::bench::Failure;
using ardoise::bench::fixed;
using ardoise::bench::median;
namespace fs = std::filesystem;
namespace tt = ardoise::timetable;
using Clock = std::chrono::steady_clock;

constexpr double kTargetMs = 10;

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) {
        throw Failure("cannot read " + p.string());
    }
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

double msSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
    try {
        long moves = 1000;
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--smoke") {
                moves = 50;
            } else if (a == "--moves" && i + 1 < argc) {
                moves = std::max(1L, std::atol(argv[++i]));
            } else {
                throw Failure("unknown argument " + a + " (timetable_moves [--smoke] [--moves N])");
            }
        }
        const fs::path dir = ARDOISE_TIMETABLE_FET_DIR;
        const std::string name = "Namibia__by-Bobby__set-7-2016__RehobothHSY2016T2d";
        const tt::Instance in = tt::readFet(slurp(dir / (name + ".fet"))).instance;
        tt::Timetable timetable = tt::readFetActivities(in, slurp(dir / "fet-reference" / (name + ".activities.xml")));
        if (timetable.size() < 1000) {
            throw Failure("expected a timetable of 1,000 lessons or more, read " + std::to_string(timetable.size()));
        }
        if (!tt::evaluate(in, timetable).hard.empty()) {
            throw Failure("FET's timetable should have no hard violation");
        }
        std::mt19937 rng(7);
        std::vector<double> indexMs, fullMs, baselineMs;
        long withConflicts = 0;
        const int days = static_cast<int>(in.days.size());
        const int hours = static_cast<int>(in.hours.size());
        for (long k = 0; k < moves; ++k) {
            tt::Placement& p = timetable[static_cast<std::size_t>(k) % timetable.size()];
            const tt::Placement original = p;
            p.day = static_cast<int>(rng() % static_cast<unsigned>(days));
            p.hour = static_cast<int>(rng() % static_cast<unsigned>(hours));

            auto t = Clock::now();
            const nlohmann::json stored = timetable;
            const auto loaded = nlohmann::json::parse(stored.dump()).get<tt::Timetable>();
            baselineMs.push_back(msSince(t));

            t = Clock::now();
            ardoise::plugins::timetable::ConflictIndex index(in, loaded);
            auto conflicts = index.check(p);
            indexMs.push_back(msSince(t));
            const tt::Evaluation ev = tt::evaluate(in, loaded);
            fullMs.push_back(msSince(t));
            withConflicts += !conflicts.empty() || !ev.hard.empty();
            p = original;
        }
        const double p99 = quantile(fullMs, 0.99);
        const double ratio = median(fullMs) / median(baselineMs);
        std::cout << "timetable_moves: " << moves << " moves on " << name << " (" << timetable.size() << " lessons), "
                  << withConflicts << " of them with conflicts\n\n"
                  << "| measure | median ms | p99 ms | max ms | target |\n|---|---:|---:|---:|---|\n"
                  << "| clash index built and the move checked | " << fixed(median(indexMs), 3) << " | " << fixed(quantile(indexMs, 0.99), 3)
                  << " | " << fixed(quantile(indexMs, 1), 3) << " | |\n"
                  << "| the route's whole check (index + evaluation of every hard rule) | " << fixed(median(fullMs), 3) << " | "
                  << fixed(p99, 3) << " | " << fixed(quantile(fullMs, 1), 3) << " | < " << kTargetMs << " |\n"
                  << "| baseline: the timetable's JSON round trip | " << fixed(median(baselineMs), 3) << " | "
                  << fixed(quantile(baselineMs, 0.99), 3) << " | " << fixed(quantile(baselineMs, 1), 3) << " | |\n\n";
        std::cout << "headline: lessons=" << timetable.size() << " check_ms_median=" << fixed(median(fullMs), 3)
                  << " check_ms_p99=" << fixed(p99, 3) << " check_over_json_roundtrip=" << fixed(ratio, 2) << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "timetable_moves: " << e.what() << "\n";
        return 1;
    }
}
