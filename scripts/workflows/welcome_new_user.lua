-- Welcome message for new users: an email to every user created in the
-- school, in their language.
on("user.created", function(e)
  if settings.roles and #settings.roles > 0 then
    local wanted = false
    for _, role in ipairs(e.payload.roles or {}) do
      for _, r in ipairs(settings.roles) do
        wanted = wanted or role == r
      end
    end
    if not wanted then return end
  end
  notify{to = e.payload.id, template = "welcome_user", data = {name = e.payload.name, message = settings.message}}
end)
