"""Before the generated months: the plans of the past three years and what became of their
debtors (``credit_followups``, version 2), for the debt-rehabilitation index.

Each past month (a cohort) a few debtors got an instalment, restructuring or hardship-relief plan
from an agent of the centre. Their cases are closed and archived: they are in the first case-master
snapshot (after the book's cases), without PII (an archived case keeps no
contact data). The lender's risk team observes every followed debtor once a quarter from the
plan's month on, in monthly files dated at each month's end (the generated months included): the
credit status (``normal`` once the debtor has caught up everywhere, ``delinquent`` before,
``written_off`` for most defaulted plans after a year) and whether new credit was granted in the
last 12 months. Debtors of completed plans recover sooner than those of active ones
(RECOVERY_MONTHS), hardship relief slowest; new credit follows a recovery by some months.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from kaohe.generate.schema import COLUMNS, PLAN_STATUSES, PLAN_TYPES
from kaohe.generate.util import DAY, _add_months, _eday, _labels, _seq, _ts
from kaohe.generate.writer import _Writer

HISTORY_MONTHS = 36
# Plans per past month, per case of the book.
COHORT_SHARE = 0.004
# Historic plans: type (instalment, restructuring, hardship relief) and final status (active,
# completed, defaulted, cancelled) shares.
TYPE_P = np.array([0.5, 0.3, 0.2])
STATUS_P = np.array([0.25, 0.55, 0.15, 0.05])
# Median months until a debtor is back to normal credit, by plan status (active, completed) and
# type; a defaulted plan's debtor mostly never recovers (written off after a year).
RECOVERY_MONTHS = {1: np.array([8.0, 12.0, 18.0]), 0: np.array([16.0, 22.0, 30.0])}
NEVER_RECOVER = np.array([0.25, 0.15, 0.95, 0.6])  # by status
NEW_CREDIT_AFTER = 6.0  # median months from recovery to new credit


class _History(_Writer):
    """Past cohorts of plans and the credit follow-ups of their debtors."""

    def _write_history(self) -> None:
        rng = self._rng("history")
        n_cohort = max(5, round(self.scale.cases * COHORT_SHARE))
        first = _add_months(self.start.replace(day=1), -HISTORY_MONTHS)
        months = [_add_months(first, k) for k in range(HISTORY_MONTHS)]
        n = n_cohort * HISTORY_MONTHS
        cohort = np.repeat(np.arange(HISTORY_MONTHS), n_cohort)
        month_start = np.array([_eday(m) for m in months])[cohort]
        month_len = np.array([(_add_months(m, 1) - m).days for m in months])[cohort]
        created = (month_start + rng.integers(0, month_len)) * DAY + rng.integers(
            9 * 3600, 19 * 3600, n)
        kind = rng.choice(3, n, p=TYPE_P)
        status = rng.choice(4, n, p=STATUS_P)
        # the plan's agent: one already hired on the plan's day (any agent when none was)
        by_hire = np.argsort(self.ag.hire, kind="stable")
        hired = np.searchsorted(self.ag.hire[by_hire], created // DAY, side="right")
        pick = (rng.random(n) * np.where(hired > 0, hired, self.ag.n)).astype(np.int64)
        agent = np.where(hired > 0, by_hire[np.minimum(pick, self.ag.n - 1)], pick)
        case_ids = _seq("H", n, 7)
        debtor_ids = _seq("HD", n, 7)

        # the archived cases: in the first case-master snapshot (written with it)
        self.archived_cases = pl.DataFrame({c: pl.Series([None] * n, dtype=pl.String)
                              for c in COLUMNS["cases"]}).with_columns(
            case_id=case_ids, debtor_id=debtor_ids,
            product=_labels(("cash_loan", "credit_card", "installment"),
                            rng.choice(3, n, p=[0.5, 0.25, 0.25])),
            principal=pl.Series(
                np.strings.add((rng.integers(20, 300, n) * 100).astype(str), ".00")),
            hardship_flag=pl.Series(kind == 2),
            dpd=pl.Series(np.zeros(n, np.int64)), overdue_amount=pl.Series(["0.00"] * n),
        )
        # the plans, one file per cohort month (dated at its last day)
        plans = pl.DataFrame({
            "cohort": cohort,
            "plan_id": _seq("PH", n, 7),
            "case_id": case_ids,
            "agent_id": self.ag.ids.gather(agent),
            "plan_type": _labels(PLAN_TYPES, kind),
            "created_at": _ts(created),
            "status": _labels(PLAN_STATUSES, status),
            "social_referral": pl.Series(rng.random(n) < np.where(kind == 2, 0.35, 0.02)),
        })
        for (k,), part in plans.partition_by("cohort", as_dict=True,
                                             maintain_order=True).items():
            self._write("plans", _add_months(months[k], 1) - timedelta(days=1),
                        part.drop("cohort").sort("created_at", "plan_id"))

        # what became of each debtor, months after the plan's month
        median = np.where(status == 1, RECOVERY_MONTHS[1][kind], RECOVERY_MONTHS[0][kind])
        recover = rng.exponential(median / np.log(2))
        recover = np.where(rng.random(n) < NEVER_RECOVER[status], np.inf, recover)
        credit = recover + rng.exponential(NEW_CREDIT_AFTER / np.log(2), n)
        write_off = (status == 2) & (rng.random(n) < 0.8)
        # observed every 3 months from the plan's month, up to the last generated month
        last = HISTORY_MONTHS + self.n_months - 1
        counts = (last - cohort) // 3 + 1
        who = np.repeat(np.arange(n), counts)
        after = 3 * (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        at_month = cohort[who] + after  # months since the first cohort month
        state = np.where(after >= recover[who], 0, np.where(write_off[who] & (after >= 12), 2, 1))
        frame = pl.DataFrame({
            "at": at_month,
            "debtor_id": debtor_ids.gather(who),
            "credit_status": _labels(("normal", "delinquent", "written_off"), state),
            "new_credit": pl.Series(after >= credit[who]),
        })
        for (k,), part in frame.partition_by("at", as_dict=True, maintain_order=True).items():
            day = _add_months(first, int(k) + 1) - timedelta(days=1)
            self._write("credit_followups", day, part.drop("at").with_columns(
                observed_on=pl.lit(day)).select(COLUMNS["credit_followups"])
                .sort("debtor_id"))
