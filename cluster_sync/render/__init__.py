"""Documents and messages made from registrations: Word factsheets, emails, the CoP report."""
