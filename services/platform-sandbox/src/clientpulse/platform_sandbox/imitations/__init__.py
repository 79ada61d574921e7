"""One module per imitated platform; the app finds every module of this package and serves it.

A module declares:

- ``PLATFORM``: the platform's key (``"meta_ads"``), as the control routes and ``/_sandbox/requests`` name it;
- ``add_routes(router)``: adds the platform's routes (and any control route of its own under ``/_sandbox/``);
- optionally ``FAULTS``: the faults it answers beyond the common ones of ``faults.ACCOUNT_FAULTS``
  (name → ``faults.Argument``);
- optionally ``GRANT_KINDS``: the kinds of access token ``POST /_sandbox/grants/{platform}`` can issue,
  each with its lifetime in seconds (the first is the default).
"""
