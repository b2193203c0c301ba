-- Reminder for unpaid invoices. Expects the fees plugin's event
-- fees.invoice.overdue with payload
-- {invoice_number, amount_text, due_date, days_overdue, payer_user_ids = {…}}.
on("fees.invoice.overdue", function(e)
  local p = e.payload
  if (p.days_overdue or 0) < (settings.after_days or 0) then return end
  notify{to = p.payer_user_ids or {}, template = "invoice_overdue",
         data = {number = p.invoice_number, amount = p.amount_text, due = p.due_date}}
end)
