// Turns what State finds into Violations with French and English sentences.
#pragma once

#include <string>

#include "problem.hpp"

namespace ardoise::timetable::detail {

struct Emitter {
  const State& st;
  std::vector<Violation> hard, soft;

  explicit Emitter(const State& s) : st(s) {}

  const Problem& P() const { return st.P; }
  std::string day(int d) const { return P().in->days[d]; }
  std::string slot(int s) const { return P().in->days[s / P().H] + " " + P().in->hours[s % P().H]; }
  std::string who(int r, bool fr) const {
    const Resource& R = P().res[r];
    bool teacher = R.kind == Resource::kTeacher || R.kind == Resource::kTeacherTag;
    std::string base = fr ? (teacher ? "l'enseignant·e " : "le groupe d'élèves ") : (teacher ? "teacher " : "students ");
    base += R.name;
    if (!R.tag.empty()) base += fr ? " (étiquette " + R.tag + ")" : " (tag " + R.tag + ")";
    return base;
  }
  std::vector<int> actsOn(int r, int d) const {
    std::vector<int> out;
    for (int a : P().res[r].acts) {
      if (st.pos[a] >= 0 && st.pos[a] / P().H == d) out.push_back(P().acts[a].id);
    }
    return out;
  }
  void push(bool isHard, Violation v) { (isHard ? hard : soft).push_back(std::move(v)); }

  void clash(int r, int d, int n) {
    Violation v;
    bool teacher = P().res[r].kind == Resource::kTeacher;
    v.type = teacher ? "TeacherClash" : "StudentsClash";
    v.activities = actsOn(r, d);
    v.resource = P().res[r].name;
    v.en = "Double booking: " + who(r, false) + " has " + std::to_string(n) + " overlapping lesson period(s) on " + day(d) + ".";
    v.fr = "Double réservation : " + who(r, true) + " a " + std::to_string(n) + " période(s) de cours qui se chevauchent le " + day(d) + ".";
    push(true, std::move(v));
  }

  void dayRule(int r, int d, const Rule& ru, int amount) {
    Violation v;
    v.type = ru.type;
    v.weight = ru.weight;
    v.activities = actsOn(r, d);
    v.resource = P().res[r].name;
    std::string n = std::to_string(ru.value), am = std::to_string(amount);
    std::string en, fr;
    switch (ru.kind) {
      case Rule::kMaxHoursDaily: en = "more than " + n + " hours"; fr = "plus de " + n + " heures"; break;
      case Rule::kMinHoursDaily: en = "fewer than " + n + " hours"; fr = "moins de " + n + " heures"; break;
      case Rule::kMaxGapsPerDay: en = "more than " + n + " gap(s)"; fr = "plus de " + n + " trou(s)"; break;
      case Rule::kMaxHoursContinuously: en = "more than " + n + " hours in a row"; fr = "plus de " + n + " heures d'affilée"; break;
      case Rule::kEarlyMaxBeginnings: en = "a day starting after the second hour"; fr = "une journée qui commence après la deuxième heure"; break;
      case Rule::kEndsDay: en = "a lesson after the one that must end the day"; fr = "un cours après celui qui doit finir la journée"; break;
      default: en = "a broken rule"; fr = "une règle non respectée"; break;
    }
    v.en = "On " + day(d) + ", " + who(r, false) + " has " + en + " (" + am + " too many or too few).";
    v.fr = "Le " + day(d) + ", " + who(r, true) + " a " + fr + " (écart : " + am + ").";
    push(ru.hard, std::move(v));
  }

  void weekRule(int r, const Rule& ru, int amount) {
    Violation v;
    v.type = ru.type;
    v.weight = ru.weight;
    v.resource = P().res[r].name;
    for (int a : P().res[r].acts) v.activities.push_back(P().acts[a].id);
    std::string n = std::to_string(ru.value), am = std::to_string(amount);
    std::string en, fr;
    switch (ru.kind) {
      case Rule::kMaxGapsPerWeek: en = "more than " + n + " gap(s) in the week"; fr = "plus de " + n + " trou(s) dans la semaine"; break;
      case Rule::kMaxDaysPerWeek: en = "lessons on more than " + n + " day(s)"; fr = "des cours sur plus de " + n + " jour(s)"; break;
      case Rule::kMinDaysPerWeek: en = "lessons on fewer than " + n + " day(s)"; fr = "des cours sur moins de " + n + " jour(s)"; break;
      case Rule::kEarlyMaxBeginnings: en = "more than " + n + " day(s) starting at the second hour"; fr = "plus de " + n + " journée(s) commençant à la deuxième heure"; break;
      case Rule::kIntervalMaxDays: en = "more than " + n + " day(s) with lessons in the restricted hours"; fr = "plus de " + n + " jour(s) avec des cours dans les heures limitées"; break;
      default: en = "a broken weekly rule"; fr = "une règle hebdomadaire non respectée"; break;
    }
    v.en = who(r, false) + " has " + en + " (by " + am + ").";
    v.fr = who(r, true) + " a " + fr + " (écart : " + am + ").";
    v.en[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(v.en[0])));
    v.fr[0] = v.fr[0] == 'l' ? 'L' : v.fr[0];
    push(ru.hard, std::move(v));
  }

  void link(int l, int a, int b, int amount, bool consecutive) {
    const Link& L = P().links[l];
    Violation v;
    v.type = L.type;
    v.weight = L.weight;
    v.activities = {P().acts[a].id, P().acts[b].id};
    const std::string& A = P().acts[a].label;
    const std::string& B = P().acts[b].label;
    if (consecutive) {
      v.en = A + " and " + B + " are on the same day but not one right after the other.";
      v.fr = A + " et " + B + " sont le même jour sans se suivre.";
      v.weight = 100;
      push(true, std::move(v));
      return;
    }
    switch (L.kind) {
      case Link::kMinDays:
        v.en = A + " and " + B + " must be at least " + std::to_string(L.minDays) + " day(s) apart.";
        v.fr = A + " et " + B + " doivent être espacés d'au moins " + std::to_string(L.minDays) + " jour(s).";
        break;
      case Link::kSameStart:
        v.en = A + " and " + B + " must start at the same time.";
        v.fr = A + " et " + B + " doivent commencer en même temps.";
        break;
      case Link::kSameDay:
        v.en = A + " and " + B + " must be on the same day.";
        v.fr = A + " et " + B + " doivent avoir lieu le même jour.";
        break;
      case Link::kNotOverlapping:
        v.en = A + " and " + B + " must not overlap.";
        v.fr = A + " et " + B + " ne doivent pas se chevaucher.";
        break;
    }
    push(L.hard, std::move(v));
  }

  void unary(int a, int s, int r) {
    const Act& x = P().acts[a];
    for (const auto& d : x.domain) {
      if (d.ok[s]) continue;
      Violation v;
      v.type = d.type;
      v.weight = d.weight;
      v.activities = {x.id};
      v.resource = d.name;
      std::string about = d.name.empty() ? "" : " (" + d.name + ")";
      v.en = x.label + " is at a time it may not take (" + slot(s) + ", " + d.type + about + ").";
      v.fr = x.label + " est placé à un moment interdit (" + slot(s) + ", " + d.type + about + ").";
      push(d.weight >= 100, std::move(v));
    }
    if ((s % P().H) + x.dur > P().H) {
      Violation v;
      v.type = "BasicCompulsoryTime";
      v.activities = {x.id};
      v.en = x.label + " runs past the end of the day.";
      v.fr = x.label + " dépasse la fin de la journée.";
      push(true, std::move(v));
    }
    double rh = st.roomCostHard(a, r, s);
    double rs = st.roomCostSoft(a, r);
    if (rh > 0 || rs > 0) {
      Violation v;
      v.type = r < 0 ? "RoomMissing" : "RoomNotAllowed";
      v.weight = rh > 0 ? 100 : rs * 100;
      v.activities = {x.id};
      v.resource = r < 0 ? "" : P().roomNames[r];
      if (r < 0) {
        v.en = x.label + " has no room although it needs one.";
        v.fr = x.label + " n'a pas de salle alors qu'il lui en faut une.";
      } else {
        v.en = x.label + " is in room " + P().roomNames[r] + ", which is not suitable (preferred rooms, capacity or availability).";
        v.fr = x.label + " est en salle " + P().roomNames[r] + ", qui ne convient pas (salles préférées, capacité ou disponibilité).";
      }
      push(rh > 0, std::move(v));
    }
  }

  void roomClash(int r, int s) {
    Violation v;
    v.type = "RoomClash";
    v.resource = P().roomNames[r];
    for (int a = 0; a < static_cast<int>(P().acts.size()); ++a) {
      int p = st.pos[a];
      if (st.room[a] == r && p >= 0 && p <= s && s < p + P().acts[a].dur) v.activities.push_back(P().acts[a].id);
    }
    v.en = "Room " + P().roomNames[r] + " is booked twice at " + slot(s) + ".";
    v.fr = "La salle " + P().roomNames[r] + " est réservée deux fois le " + slot(s) + ".";
    push(true, std::move(v));
  }
};

}  // namespace ardoise::timetable::detail
