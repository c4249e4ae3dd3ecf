"""Scoring: the month's balanced scorecard (``scorecard.py``), pay for HR (``payroll.py``), and
the rule tools over the published history: ``kaohe whatif`` (``whatif.py``), ``kaohe calibrate``
(``calibrate.py``) and ``kaohe audit-config`` (``rule_audit.py``, the configuration checked
against regulation); ``history.py`` is the scratch copy they share."""
