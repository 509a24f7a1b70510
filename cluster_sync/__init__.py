"""cluster-sync: the nightly sync of the Natural Heritage mission's cluster registrations."""

import logging

__version__ = "0.1.0"

# Log records go only where the configuration sends them (cli.logs.setup), never to stderr
# by accident through Python's last-resort handler.
logging.getLogger("cluster_sync").addHandler(logging.NullHandler())
