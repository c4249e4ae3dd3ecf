"""Reporting: the month's HTML pages (``reports.py``, ``charts.py``), every label and number
format (``i18n.py``), and e-mailing them (``mail_plan.py`` decides who gets what, ``mail.py``
sends)."""
