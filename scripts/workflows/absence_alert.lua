-- Alert parents after N absences in the term. Expects the attendance
-- plugin's event attendance.absent with payload
-- {student_id, student_name, absences_this_term, guardian_user_ids = {…}}.
on("attendance.absent", function(e)
  local p = e.payload
  local count = p.absences_this_term or 0
  -- Exactly at the threshold, then every `repeat_every` absences after it.
  if count < settings.threshold then return end
  if (count - settings.threshold) % (settings.repeat_every or 1000000) ~= 0 then return end
  notify{to = p.guardian_user_ids or {}, template = "absence_alert",
         data = {student = p.student_name, count = count}}
  emit("absences.alert", {student_id = p.student_id, count = count})
end)
