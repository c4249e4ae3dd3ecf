"""The generator: the parts combined, and the day loop that runs them.

The order of the calls in ``run`` is part of the output: each source draws from its own random
streams, but the parts share state (a payment settles a case, a promise made on a call schedules a
payment, a released case waits for its next holder), so the same seed gives the same files only
in this order.
"""

from __future__ import annotations

from kaohe.generate.appeals import _Appeals
from kaohe.generate.calls import _Dialler
from kaohe.generate.cases import _CaseBook
from kaohe.generate.conduct import _Conduct
from kaohe.generate.dialler import PRESENCE
from kaohe.generate.history import _History
from kaohe.generate.macro import _Macro
from kaohe.generate.payments import _Payments
from kaohe.generate.roster import _Roster


class _Generator(_Roster, _CaseBook, _Dialler, _Payments, _Conduct, _Macro, _History,
                 _Appeals):
    """Plans the centre, then walks the days writing each source's files."""

    def run(self) -> dict:
        """Plan the roster, the case book and the trainings; write the macro files; then, day by
        day: snapshots, the night assignment batch, the calls and everything that follows them,
        the planned violations and trainings. Last the manifest, which is returned."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._plan_agents()
        self._plan_cases()
        self._plan_numbers()
        trainings = self._plan_trainings()
        self.trainings = trainings.partition_by("day", as_dict=True)
        self.violations_by_day = self.violations.partition_by("day", as_dict=True)
        # Planned attempts per agent at work; 1.42 makes up for those the dialler's stops (a
        # debtor reached, a number at its cap) and idle agents remove.
        self.calls_target = 1.42 * self.scale.calls_per_agent_day / PRESENCE.mean()
        self._write_macro()
        self._write_history()
        snapshot_days = [i for i, d in enumerate(self.days) if i == 0 or d.day == 1
                         or d.weekday() == 0]
        self.wechat_day = snapshot_days[1] if len(snapshot_days) > 1 else 0
        for i in range(self.n_days):
            if i in snapshot_days:  # the 1st and every Monday (dpd: aging, roll rates)
                self._cases_snapshot(i)
            if i in snapshot_days:
                self._agents_snapshot(i)
            self._assignments(i)
            calls = self._calls(i)
            self._repayments(i, calls)
            flags = self._qa_flags(i, calls)
            self._qa_reviews(i, calls, flags)
            self._appeals(i, calls, flags)
            self._surveys(i, calls)
            self._complaints(i, calls)
            self._tickets(i, calls)
            self._plans(i, calls)
            self._costs(i, calls)
            self._from_plan("violations", self.violations_by_day, i)
            self._from_plan("trainings", self.trainings, i)
            self._report(i)
        return self._write_manifest()
