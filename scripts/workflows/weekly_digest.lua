-- Weekly digest: the week's announcements, emailed to chosen users on a
-- schedule in the school's time zone (default: Friday 17:00).
every(settings.cron or "0 17 * * 5", function(run)
  local recent = announcements.recent{limit = 10}
  local lines = {}
  for _, a in ipairs(recent.items) do
    if a.published_at > run.time - 7 * 24 * 3600 then
      lines[#lines + 1] = "- " .. a.title
    end
  end
  if #lines == 0 then return end
  notify{to = settings.recipients, template = "weekly_digest",
         data = {week = date(run.time, "%d/%m/%Y"), items = table.concat(lines, "\n")}}
end)
