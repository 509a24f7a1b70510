"""The Community of Practice clusters report: figures, charts, a Word file and a Markdown copy,
made on demand (`cluster-sync report`, in command.py) or once a month by the sync
(`service.scheduled_report`).

Nothing is imported here, so registering the command in the CLI does not load matplotlib or
docxtpl until a report is actually made."""
