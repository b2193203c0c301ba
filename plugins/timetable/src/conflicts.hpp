#pragma once
// The fast check of a manual move: an index of who and what occupies each
// slot, built once in O(lessons), then each moved lesson checked in
// O(duration × resources). Covers double-booking (teachers, student
// subgroups, rooms) and hard not-available times; the engine's evaluate()
// covers every other constraint. Header-only and SDK-free, so the benchmark
// test can time it directly.
#include "../engine/include/timetable/engine.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace ardoise::plugins::timetable {

namespace tt = ardoise::timetable;

struct Conflict {
    std::string type;      // TeacherClash, StudentsClash, RoomClash, TeacherNotAvailable, RoomNotAvailable, OutOfDay
    std::string resource;  // who or what
    std::vector<int> activities;
    std::string en, fr;
};

class ConflictIndex {
public:
    ConflictIndex(const tt::Instance& in, const tt::Timetable& timetable) : hours_(static_cast<int>(in.hours.size())) {
        for (const auto& y : in.years) {
            std::vector<std::string> ya;
            for (const auto& g : y.groups) {
                std::vector<std::string> ga;
                for (const auto& s : g.subgroups) {
                    ga.push_back(s.name);
                    atoms_[s.name] = {s.name};
                }
                if (ga.empty()) {
                    ga.push_back(g.name);
                }
                atoms_[g.name] = ga;
                ya.insert(ya.end(), ga.begin(), ga.end());
            }
            if (ya.empty()) {
                ya.push_back(y.name);
            }
            atoms_[y.name] = ya;
        }
        for (const auto& c : in.timeConstraints) {
            if (!c.active || c.weight < 100 || (c.type != "TeacherNotAvailableTimes" && c.type != "RoomNotAvailableTimes")) {
                continue;
            }
            const bool teacher = c.type[0] == 'T';
            auto& off = teacher ? teacherOff_[c.params.value("Teacher", "")] : roomOff_[c.params.value("Room", "")];
            for (const auto& t : c.params.value("Not_Available_Time", nlohmann::json::array())) {
                const auto d = std::find(in.days.begin(), in.days.end(), t.value("Day", "")) - in.days.begin();
                const auto h = std::find(in.hours.begin(), in.hours.end(), t.value("Hour", "")) - in.hours.begin();
                off.insert(static_cast<int>(d) * hours_ + static_cast<int>(h));
            }
        }
        for (const auto& a : in.activities) {
            activities_[a.id] = &a;
        }
        for (const auto& p : timetable) {
            place(p, +1);
        }
    }

    /// The conflicts `p` would have, ignoring the lesson itself (and those in `ignore`, moved too).
    std::vector<Conflict> check(const tt::Placement& p, const std::set<int>& ignore = {}) const {
        std::vector<Conflict> out;
        auto it = activities_.find(p.activityId);
        if (it == activities_.end() || p.day < 0) {
            return out;
        }
        const tt::Activity& a = *it->second;
        if (p.hour < 0 || p.hour + a.duration > hours_) {
            out.push_back({"OutOfDay", "", {a.id}, "The lesson does not fit in the day.", "Le cours ne tient pas dans la journée."});
            return out;
        }
        auto others = [&](const Occupancy& occ, const std::string& name, int slot) {
            std::vector<int> ids;
            auto r = occ.find(name);
            if (r == occ.end()) {
                return ids;
            }
            auto s = r->second.find(slot);
            if (s == r->second.end()) {
                return ids;
            }
            for (int id : s->second) {
                if (id != a.id && !ignore.count(id)) {
                    ids.push_back(id);
                }
            }
            return ids;
        };
        for (int k = 0; k < a.duration; ++k) {
            const int slot = p.day * hours_ + p.hour + k;
            for (const auto& t : a.teachers) {
                if (auto ids = others(teachers_, t, slot); !ids.empty()) {
                    ids.insert(ids.begin(), a.id);
                    out.push_back({"TeacherClash", t, ids, t + " already teaches at that time.", t + " enseigne déjà à ce moment-là."});
                }
                if (auto off = teacherOff_.find(t); off != teacherOff_.end() && off->second.count(slot)) {
                    out.push_back({"TeacherNotAvailable", t, {a.id}, t + " is not available at that time.",
                                   t + " n'est pas disponible à ce moment-là."});
                }
            }
            for (const auto& s : atomsOf(a)) {
                if (auto ids = others(students_, s, slot); !ids.empty()) {
                    ids.insert(ids.begin(), a.id);
                    out.push_back({"StudentsClash", s, ids, s + " already has a lesson at that time.", s + " a déjà un cours à ce moment-là."});
                }
            }
            if (!p.room.empty()) {
                if (auto ids = others(rooms_, p.room, slot); !ids.empty()) {
                    ids.insert(ids.begin(), a.id);
                    out.push_back({"RoomClash", p.room, ids, "The room " + p.room + " is already taken at that time.",
                                   "La salle " + p.room + " est déjà occupée à ce moment-là."});
                }
                if (auto off = roomOff_.find(p.room); off != roomOff_.end() && off->second.count(slot)) {
                    out.push_back({"RoomNotAvailable", p.room, {a.id}, "The room " + p.room + " is not available at that time.",
                                   "La salle " + p.room + " n'est pas disponible à ce moment-là."});
                }
            }
        }
        return out;
    }

private:
    using Occupancy = std::unordered_map<std::string, std::unordered_map<int, std::vector<int>>>;

    std::vector<std::string> atomsOf(const tt::Activity& a) const {
        std::vector<std::string> out;
        for (const auto& s : a.students) {
            auto it = atoms_.find(s);
            if (it == atoms_.end()) {
                out.push_back(s);
            } else {
                out.insert(out.end(), it->second.begin(), it->second.end());
            }
        }
        return out;
    }

    void place(const tt::Placement& p, int) {
        auto it = activities_.find(p.activityId);
        if (it == activities_.end() || p.day < 0) {
            return;
        }
        const tt::Activity& a = *it->second;
        const auto atoms = atomsOf(a);
        for (int k = 0; k < a.duration; ++k) {
            const int slot = p.day * hours_ + p.hour + k;
            for (const auto& t : a.teachers) {
                teachers_[t][slot].push_back(a.id);
            }
            for (const auto& s : atoms) {
                students_[s][slot].push_back(a.id);
            }
            if (!p.room.empty()) {
                rooms_[p.room][slot].push_back(a.id);
            }
        }
    }

    int hours_;
    std::map<std::string, std::vector<std::string>> atoms_;
    std::map<std::string, std::set<int>> teacherOff_, roomOff_;
    std::unordered_map<int, const tt::Activity*> activities_;
    Occupancy teachers_, students_, rooms_;
};

}  // namespace ardoise::plugins::timetable
