"""Personal data as the GDPR expects: find and erase one person (`forget`), show what is held
about them (`export-person`), prune what is kept too long (retention). docs/privacy.md."""
