-- The demo school's own rule: a welcome announcement for teachers and staff
-- when their account is created, and names written with a capital letter.
on("user.created", function(e)
  for _, role in ipairs(e.payload.roles) do
    if role == "teacher" then
      announcements.publish{title = "Bienvenue à " .. e.payload.name, body = "Un nouveau collègue rejoint l'équipe.",
                            roles = {"teacher", "admin"}}
      return
    end
  end
end)

filter("user.before_create", function(user)
  if user.email:match("@example%.invalid$") then
    return {reject = "Les adresses @example.invalid ne sont pas acceptées. / Addresses at example.invalid are not accepted."}
  end
  return {name = (user.name:gsub("^%l", string.upper))}
end)
