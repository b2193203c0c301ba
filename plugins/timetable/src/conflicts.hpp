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
    ConflictIndex(const tt::Instance& in, const tt::Timetable& timetable)
        : hours_(static_cast<int>(in.hours.size())), slots_(static_cast<int>(in.days.size() * in.hours.size())) {
        // Student sets resolve to their atomic subgroups (a year without
        // groups, or a group without subgroups, is its own atom).
        std::unordered_map<std::string, std::vector<int>> atoms;
        auto atom = [&](const std::string& name) { return intern(students_, name); };
        for (const auto& y : in.years) {
            std::vector<int> ya;
            for (const auto& g : y.groups) {
                std::vector<int> ga;
                for (const auto& sg : g.subgroups) {
                    ga.push_back(atom(sg.name));
                    atoms[sg.name] = {ga.back()};
                }
                if (ga.empty()) {
                    ga.push_back(atom(g.name));
                }
                atoms[g.name] = ga;
                ya.insert(ya.end(), ga.begin(), ga.end());
            }
            if (ya.empty()) {
                ya.push_back(atom(y.name));
            }
            atoms[y.name] = ya;
        }
        for (const auto& a : in.activities) {
            Resources r;
            r.activity = &a;
            for (const auto& t : a.teachers) {
                r.teachers.push_back(intern(teachers_, t));
            }
            for (const auto& st : a.students) {
                auto it = atoms.find(st);
                if (it == atoms.end()) {
                    r.atoms.push_back(atom(st));
                } else {
                    r.atoms.insert(r.atoms.end(), it->second.begin(), it->second.end());
                }
            }
            std::sort(r.atoms.begin(), r.atoms.end());
            r.atoms.erase(std::unique(r.atoms.begin(), r.atoms.end()), r.atoms.end());
            activities_[a.id] = std::move(r);
        }
        for (const auto& c : in.timeConstraints) {
            if (!c.active || c.weight < 100 || (c.type != "TeacherNotAvailableTimes" && c.type != "RoomNotAvailableTimes")) {
                continue;
            }
            const bool teacher = c.type[0] == 'T';
            const int who = teacher ? intern(teachers_, c.params.value("Teacher", "")) : intern(rooms_, c.params.value("Room", ""));
            auto& off = teacher ? teacherOff_ : roomOff_;
            for (const auto& t : c.params.value("Not_Available_Time", nlohmann::json::array())) {
                const auto d = std::find(in.days.begin(), in.days.end(), t.value("Day", "")) - in.days.begin();
                const auto h = std::find(in.hours.begin(), in.hours.end(), t.value("Hour", "")) - in.hours.begin();
                off.insert(static_cast<long>(who) * slots_ + static_cast<long>(d) * hours_ + static_cast<long>(h));
            }
        }
        for (const auto& p : timetable) {
            place(p);
        }
    }

    /// The conflicts of the placement `p` with the other lessons of the indexed timetable.
    std::vector<Conflict> check(const tt::Placement& p) const {
        std::vector<Conflict> out;
        auto it = activities_.find(p.activityId);
        if (it == activities_.end() || p.day < 0) {
            return out;
        }
        const tt::Activity& a = *it->second.activity;
        if (p.hour < 0 || p.hour + a.duration > hours_) {
            out.push_back({"OutOfDay", "", {a.id}, "The lesson does not fit in the day.", "Le cours ne tient pas dans la journée."});
            return out;
        }
        auto others = [&](const Occupancy& occ, int who, int slot) {
            std::vector<int> ids;
            auto cell = occ.find(static_cast<long>(who) * slots_ + slot);
            if (cell != occ.end()) {
                for (int id : cell->second) {
                    if (id != a.id) {
                        ids.push_back(id);
                    }
                }
            }
            return ids;
        };
        const int room = p.room.empty() ? -1 : find(rooms_, p.room);
        for (int k = 0; k < a.duration; ++k) {
            const int slot = p.day * hours_ + p.hour + k;
            for (std::size_t i = 0; i < a.teachers.size(); ++i) {
                const int t = it->second.teachers[i];
                const std::string& name = a.teachers[i];
                if (auto ids = others(teacherAt_, t, slot); !ids.empty()) {
                    ids.insert(ids.begin(), a.id);
                    out.push_back({"TeacherClash", name, ids, name + " already teaches at that time.", name + " enseigne déjà à ce moment-là."});
                }
                if (teacherOff_.count(static_cast<long>(t) * slots_ + slot)) {
                    out.push_back({"TeacherNotAvailable", name, {a.id}, name + " is not available at that time.",
                                   name + " n'est pas disponible à ce moment-là."});
                }
            }
            for (int s : it->second.atoms) {
                if (auto ids = others(studentsAt_, s, slot); !ids.empty()) {
                    ids.insert(ids.begin(), a.id);
                    const std::string& name = studentNames_[static_cast<std::size_t>(s)];
                    out.push_back({"StudentsClash", name, ids, name + " already has a lesson at that time.", name + " a déjà un cours à ce moment-là."});
                }
            }
            if (room >= 0) {
                if (auto ids = others(roomAt_, room, slot); !ids.empty()) {
                    ids.insert(ids.begin(), a.id);
                    out.push_back({"RoomClash", p.room, ids, "The room " + p.room + " is already taken at that time.",
                                   "La salle " + p.room + " est déjà occupée à ce moment-là."});
                }
                if (roomOff_.count(static_cast<long>(room) * slots_ + slot)) {
                    out.push_back({"RoomNotAvailable", p.room, {a.id}, "The room " + p.room + " is not available at that time.",
                                   "La salle " + p.room + " n'est pas disponible à ce moment-là."});
                }
            }
        }
        return out;
    }

private:
    using Names = std::unordered_map<std::string, int>;
    // (resource × slots + slot) -> the activities there.
    using Occupancy = std::unordered_map<long, std::vector<int>>;
    struct Resources {
        const tt::Activity* activity = nullptr;
        std::vector<int> teachers, atoms;
    };

    int intern(Names& names, const std::string& name) {
        auto [it, added] = names.emplace(name, static_cast<int>(names.size()));
        if (added && &names == &students_) {
            studentNames_.push_back(name);
        }
        return it->second;
    }
    static int find(const Names& names, const std::string& name) {
        auto it = names.find(name);
        return it == names.end() ? -1 : it->second;
    }

    void place(const tt::Placement& p) {
        auto it = activities_.find(p.activityId);
        if (it == activities_.end() || p.day < 0) {
            return;
        }
        const int room = p.room.empty() ? -1 : intern(rooms_, p.room);
        for (int k = 0; k < it->second.activity->duration; ++k) {
            const int slot = p.day * hours_ + p.hour + k;
            for (int t : it->second.teachers) {
                teacherAt_[static_cast<long>(t) * slots_ + slot].push_back(p.activityId);
            }
            for (int s : it->second.atoms) {
                studentsAt_[static_cast<long>(s) * slots_ + slot].push_back(p.activityId);
            }
            if (room >= 0) {
                roomAt_[static_cast<long>(room) * slots_ + slot].push_back(p.activityId);
            }
        }
    }

    int hours_, slots_;
    Names teachers_, students_, rooms_;
    std::vector<std::string> studentNames_;
    std::unordered_map<int, Resources> activities_;
    std::set<long> teacherOff_, roomOff_;
    Occupancy teacherAt_, studentsAt_, roomAt_;
};

}  // namespace ardoise::plugins::timetable
