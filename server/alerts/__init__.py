"""Alerts to the officer: rules over the devices' stored state, alerts that open, are acknowledged and resolve,
and the e-mail digest.

- ``rules``: which conditions hold (built on ``services.compliance`` and ``services.licences``: an alert never
  decides differently from the figures).
- ``store``: the ``alert`` table: one live alert per rule, device and subject; acknowledgement (audited).
- ``evaluate``: the whole district from its snapshot (the schedule), or a few devices (as reports arrive).
- ``arrival``: the queue that evaluates the devices of stored reports right after their commit.
- ``config``, ``mail``, ``digest``: SMTP settings, the message (text and HTML, vi/en), one digest per officer.
- ``schedule``: the jobs, each run by one replica (``JobRun`` claims).
"""
