"""Local stand-ins for remote services, used by the tests and the offline demos.

Nothing here is used by a real sync; it lives in the package so `make demo-google` can start the
fake Sheets API from an installed copy.
"""
