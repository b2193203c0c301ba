// Who sees which students, classes and guardians. One rule, written once as
// SQL conditions, used by every route and by the Lua functions other plugins
// call: a parent sees only their own children, a student only themself, a
// teacher the students of the classes they teach; holders of school.manage
// see everything.
#include "school.hpp"

namespace ardoise::plugins::school {

namespace {

/// Classes the user teaches: as homeroom teacher, or as a class teacher.
const char* kTaughtClasses =
    "SELECT c.id FROM school_classes c JOIN school_staff f ON f.tenant_id = c.tenant_id AND f.id = c.homeroom_staff_id "
    "WHERE c.tenant_id = @tenant AND f.user_id = ? "
    "UNION SELECT ct.class_id FROM school_class_teachers ct JOIN school_staff f ON f.tenant_id = ct.tenant_id AND "
    "f.id = ct.staff_id WHERE ct.tenant_id = @tenant AND f.user_id = ?";

/// Students linked to the user: themself, their children, their classes' students. Four parameters, all the user id.
std::string linkedStudents() {
    return std::string("SELECT s.id FROM school_students s WHERE s.tenant_id = @tenant AND s.user_id = ? "
                       "UNION SELECT sg.student_id FROM school_student_guardians sg JOIN school_guardians g ON "
                       "g.tenant_id = sg.tenant_id AND g.id = sg.guardian_id WHERE sg.tenant_id = @tenant AND g.user_id = ? "
                       "UNION SELECT e.student_id FROM school_enrollments e WHERE e.tenant_id = @tenant AND e.class_id IN (") +
           kTaughtClasses + ")";
}

}  // namespace

Viewer viewerOf(const Principal& principal) { return {principal.can("school.manage"), principal.id}; }

Result<Viewer> viewerOfUser(TenantDatabase& db, const std::string& userId) {
    auto row = db.queryOne("SELECT roles, status FROM users WHERE tenant_id = @tenant AND id = ?", {userId});
    if (!row) {
        return row.status();
    }
    if (!*row || (*row)->text("status") != "active") {
        return Viewer{false, ""};  // sees nothing: no school row has an empty user id
    }
    const std::string roles = "," + (*row)->text("roles") + ",";
    return Viewer{roles.find(",admin,") != std::string::npos, userId};
}

Condition studentVisible(const Viewer& v, const std::string& column) {
    if (v.all) {
        return {"1 = 1", {}};
    }
    return {column + " IN (" + linkedStudents() + ")", {v.userId, v.userId, v.userId, v.userId}};
}

Condition classVisible(const Viewer& v, const std::string& column) {
    if (v.all) {
        return {"1 = 1", {}};
    }
    return {"(" + column + " IN (" + kTaughtClasses + ") OR " + column +
                " IN (SELECT e2.class_id FROM school_enrollments e2 WHERE e2.tenant_id = @tenant AND e2.student_id IN (" +
                linkedStudents() + ")))",
            {v.userId, v.userId, v.userId, v.userId, v.userId, v.userId}};
}

Condition guardianVisible(const Viewer& v, const std::string& column) {
    if (v.all) {
        return {"1 = 1", {}};
    }
    return {"(" + column + " IN (SELECT g2.id FROM school_guardians g2 WHERE g2.tenant_id = @tenant AND g2.user_id = ?) OR " +
                column + " IN (SELECT sg2.guardian_id FROM school_student_guardians sg2 WHERE sg2.tenant_id = @tenant AND "
                         "sg2.student_id IN (" + linkedStudents() + ")))",
            {v.userId, v.userId, v.userId, v.userId, v.userId}};
}

Result<bool> maySeeStudent(TenantDatabase& db, const Viewer& v, const std::string& studentId) {
    auto cond = studentVisible(v, "st.id");
    cond.params.insert(cond.params.begin(), studentId);
    auto row = db.queryOne("SELECT st.id FROM school_students st WHERE st.tenant_id = @tenant AND st.id = ? AND " + cond.sql,
                           cond.params);
    if (!row) {
        return row.status();
    }
    return row->has_value();
}

}  // namespace ardoise::plugins::school
