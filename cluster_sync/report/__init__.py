"""The Community of Practice clusters report: figures, charts, a Word file and a Markdown copy,
made on demand (`cluster-sync report`) or once a month by the sync (`scheduled_report`)."""

from cluster_sync.report.gather import Period, default_period, previous_month
from cluster_sync.report.service import Report, make_report, scheduled_report, send_report

__all__ = [
    "Period",
    "Report",
    "default_period",
    "make_report",
    "previous_month",
    "scheduled_report",
    "send_report",
]
