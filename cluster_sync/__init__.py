"""cluster-sync: the nightly sync of the Natural Heritage mission's cluster registrations."""

__version__ = "0.1.0"
