"""The case book and who holds each case: debtors with PII, products, risk, industry and overdue
age (planned once, stream ``cases``), case snapshots on the start day and every 1st (stream
``cases.month``: monthly re-scoring, new hardship), and the nightly assignment batch (stream
``assignments``): cases released when they roll to the next bucket, when their agent leaves or
when they are paid off, then handed to the next holder, sometimes after days in the pool.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import kaohe.generate.names as vocab
from kaohe.generate.people import _people, resident_id_check
from kaohe.generate.schema import COLUMNS, INDUSTRIES, PRODUCTS
from kaohe.generate.util import (
    DAY,
    HOUR,
    NEVER,
    _bucket,
    _labels,
    _money,
    _numbered,
    _seq,
    _ts,
    _ymd_int,
)
from kaohe.generate.writer import _Writer


class _CaseBook(_Writer):
    """Cases, debtors and assignments. The state below is set up by ``_plan_cases`` and carried
    across days; the other parts read it (and a few write it: payments settle cases, calls set
    ``ptp_due``, plans set ``has_plan`` and ``plan_active``)."""

    nc: int  # cases, including those entering on later 1sts
    nd: int  # debtors
    case_ids: pl.Series  # per case: C0000001 ...
    case_static: pl.DataFrame  # per case: the snapshot columns that never change
    # Per debtor (numpy arrays, one slot per debtor):
    hardship: np.ndarray  # registered hardship (a few more each month)
    contact: np.ndarray  # how reachable the debtor is (mean 1)
    bad_phone: np.ndarray  # the number on file does not work
    debtor_phone: np.ndarray  # the number on file (int64)
    # Per case (numpy arrays, one slot per case; amounts in cents, days in epoch days):
    case_debtor: np.ndarray  # the debtor's index
    entry: np.ndarray  # the day index the case enters the book (0 for the initial book)
    industry: np.ndarray  # the debtor's industry (index into INDUSTRIES)
    principal: np.ndarray
    product: np.ndarray  # index into PRODUCTS: each product has its own dialler
    instalment: np.ndarray
    ovd: np.ndarray  # the day the case fell overdue (days past due = day - ovd)
    risk_now: np.ndarray  # the current risk score 0..1000
    remaining: np.ndarray  # still due
    closed: np.ndarray  # paid off and released
    close_pending: np.ndarray  # paid off today: released in the next night batch
    cur_asg: np.ndarray  # current assignment number, -1 if nobody holds the case
    cur_agent: np.ndarray  # current holder, -1 if none
    last_agent: np.ndarray  # the latest holder (never handed back to them)
    cur_at: np.ndarray  # current assignment: assigned at (seconds)
    cur_dpd: np.ndarray  # current assignment: days past due when assigned
    cur_due: np.ndarray  # current assignment: amount due when assigned
    rel_day: np.ndarray  # the day the current assignment is due to be released
    pend_t: np.ndarray  # when a case waiting in the pool gets its next holder (seconds)
    ptp_due: np.ndarray  # the due day of the latest promise to pay, -1 if none
    has_plan: np.ndarray  # a repayment plan was ever made
    plan_active: np.ndarray  # a repayment plan is running (more spontaneous payments)
    initial_assignments: np.ndarray  # cases held at the start, in assignment number order

    def _plan_cases(self) -> None:
        """Case book: debtors with PII, products, risk, industry, overdue age, initial holders."""
        sc, rng, d0 = self.scale, self._rng("cases"), self.d0
        n0 = sc.cases
        n_new = round(n0 * sc.new_cases_per_month)
        entry = np.concatenate([np.zeros(n0, np.int64)]
                               + [np.full(n_new, self.month_first[m], np.int64)
                                  for m in range(1, self.n_months)])
        nc = len(entry)
        # Debtors: most have one case, some two or three; new cases bring new debtors.
        owner_parts, nd = [], 0
        for size in [n0] + [n_new] * (self.n_months - 1):  # one batch per month
            per = rng.choice([1, 2, 3], size, p=[0.86, 0.11, 0.03])
            k = int(np.searchsorted(np.cumsum(per), size)) + 1
            owner = np.repeat(np.arange(k), per[:k])[:size]
            owner_parts.append(nd + owner[rng.permutation(size)])
            nd += int(owner.max()) + 1 if size else 0
        debtor = np.concatenate(owner_parts)

        prov_codes = np.array([int(c) for c, _, _ in vocab.PROVINCES])
        prov_w = np.array([w for _, _, w in vocab.PROVINCES])
        home = rng.choice(len(prov_codes), nd, p=prov_w / prov_w.sum())
        born = np.where(rng.random(nd) < 0.8, home,
                        rng.choice(len(prov_codes), nd, p=prov_w / prov_w.sum()))
        area = prov_codes[born] + rng.integers(1, 13, nd) * 100 + rng.integers(1, 26, nd)
        birth = _ymd_int(d0 - rng.integers(20 * 365, 59 * 365, nd))
        first17 = area * 10 ** 11 + birth * 1_000 + rng.integers(1, 1_000, nd)
        id_number = np.strings.add(np.strings.zfill(first17.astype(str), 17),
                                   resident_id_check(first17))
        prefix = np.array(vocab.PHONE_PREFIXES)[rng.integers(0, len(vocab.PHONE_PREFIXES), nd)]
        self.debtor_phone = prefix * 10 ** 8 + rng.integers(0, 10 ** 8, nd)
        phone = self.debtor_phone.astype(str)
        names, _ = _people(rng, nd)
        industry = rng.choice(7, nd, p=[0.12, 0.08, 0.22, 0.18, 0.12, 0.08, 0.20])
        self.hardship = rng.random(nd) < 0.05
        self.contact = rng.beta(4, 3, nd) / (4 / 7)  # how reachable the debtor is, mean 1
        self.bad_phone = rng.random(nd) < 0.07
        debtor_risk = rng.beta(2.2, 1.8, nd) * 1000

        product = rng.choice(3, nc, p=[0.5, 0.25, 0.25])
        median = np.array([12_000, 20_000, 6_000])[product]
        sigma = np.array([0.7, 0.8, 0.6])[product]
        principal = np.clip(rng.lognormal(np.log(median), sigma), 1_000, 300_000) // 100 * 10_000
        principal = principal.astype(np.int64)
        self.instalment = (principal * np.array([1 / 12, 0.1, 1 / 6])[product]).astype(np.int64)
        region = np.where(rng.random(nc) < 0.92, prov_codes[home[debtor]],
                          rng.choice(prov_codes, nc))

        # Overdue age at the start: a realistic M1..M6+ book (M6+ about 16 %).
        init = np.arange(nc) < n0
        b = rng.choice(7, nc, p=[0.30, 0.15, 0.12, 0.10, 0.09, 0.08, 0.16])
        dpd0 = np.where(b < 6, rng.integers(30 * b + 1, 30 * b + 31),
                        181 + np.minimum(rng.exponential(150, nc), 700).astype(np.int64))
        new_dpd = rng.integers(1, 6, nc)  # new cases arrive 1-5 days past due
        self.ovd = np.where(init, d0 - dpd0, d0 + entry - new_dpd).astype(np.int64)
        risk = np.clip(debtor_risk[debtor] + rng.normal(0, 40, nc) + np.where(init, 12 * b, 0),
                       0, 1000)
        self.risk_now = risk.round().astype(np.int64)
        due0 = np.where(b < 6, self.instalment * (b + 1) * rng.uniform(1.0, 1.08, nc),
                        principal * rng.uniform(0.7, 1.15, nc))
        due0 = np.minimum(due0, principal * 1.15).astype(np.int64)
        new_due = (self.instalment * rng.uniform(1.0, 1.05, nc)).astype(np.int64)
        self.remaining = np.maximum(np.where(init, due0, new_due), 100)

        self.nc, self.nd, self.entry, self.case_debtor = nc, nd, entry, debtor
        self.industry = industry[debtor]
        self.case_ids = _seq("C", nc, 7)
        self.case_static = pl.DataFrame({
            "case_id": self.case_ids,
            "debtor_id": _numbered("D", debtor + 1, 7),
            "debtor_name": pl.Series(names).gather(debtor),
            "debtor_phone": pl.Series(phone).gather(debtor),
            "debtor_id_number": pl.Series(id_number).gather(debtor),
            "product": _labels(PRODUCTS, product),
            "region_code": pl.Series(region.astype(str)),
            "industry": _labels(INDUSTRIES, industry[debtor]),
        })
        self.principal = principal
        self.product = product

        # Holding state, one slot per case (the current assignment).
        self.closed = np.zeros(nc, bool)
        self.close_pending = np.zeros(nc, bool)
        self.cur_asg = np.full(nc, -1, np.int64)
        self.cur_agent = np.full(nc, -1, np.int64)
        self.last_agent = np.full(nc, -1, np.int64)
        self.cur_at = np.zeros(nc, np.int64)
        self.cur_dpd = np.zeros(nc, np.int64)
        self.cur_due = np.zeros(nc, np.int64)
        self.rel_day = np.full(nc, NEVER, np.int64)
        self.pend_t = np.full(nc, NEVER, np.int64)
        self.ptp_due = np.full(nc, -1, np.int64)
        self.has_plan = np.zeros(nc, bool)
        self.plan_active = np.zeros(nc, bool)
        # New cases get their first holder 0-2 days after they enter, in the night batch.
        later = ~init
        self.pend_t[later] = ((d0 + entry[later] + rng.integers(0, 3, later.sum())) * DAY
                              + rng.integers(HOUR, 6 * HOUR, later.sum()))

        # Initial holders: assigned when the case entered its current bucket (before the start).
        idx = np.flatnonzero(init)
        bi = b[idx]
        entered = np.where(bi < 6, self.ovd[idx] + 30 * bi + 1,
                           self.ovd[idx] + 181 + 90 * ((dpd0[idx] - 181) // 90))
        day = np.minimum(entered + rng.integers(0, 3, len(idx)), d0)
        agent = self._choose_agents(rng, 0, idx)
        day = np.maximum(day, self.ag.hire[agent] + 3)
        at = day * DAY + rng.integers(HOUR, 6 * HOUR, len(idx))
        order = np.argsort(at, kind="stable")  # assignment numbers follow time
        number = np.empty(len(idx), np.int64)
        number[order] = np.arange(1, len(idx) + 1)
        self.next_assignment = len(idx) + 1
        self.cur_asg[idx], self.cur_agent[idx], self.last_agent[idx] = number, agent, agent
        self.cur_at[idx], self.cur_dpd[idx] = at, day - self.ovd[idx]
        self.cur_due[idx] = self.remaining[idx]
        rel = self._release_day(rng, idx, day, self.cur_dpd[idx])
        self.rel_day[idx] = np.where(rel <= d0, d0 + rng.integers(1, 31, len(idx)), rel)
        self.initial_assignments = idx[order]

    def _release_day(self, rng: np.random.Generator, cases: np.ndarray, day: np.ndarray,
                     dpd: np.ndarray) -> np.ndarray:
        """Cases move to the next bucket's queue when they roll (30-day buckets); M6+ cases are
        reallocated every 2-3 months (outsourcing cycles)."""
        b = _bucket(dpd)
        roll = self.ovd[cases] + 30 * (b + 1) + 1 + rng.integers(0, 3, len(cases))
        rel = np.where(b == 6, day + rng.integers(60, 91, len(cases)), roll)
        return np.where(rel - day < 5, rel + 30, rel)  # never for less than a few days

    def _choose_agents(self, rng: np.random.Generator, i: int, cases: np.ndarray) -> np.ndarray:
        """Allocation: high-risk cases mostly to senior agents, but some reach L1 trainees (the
        skill-risk mismatch the scorecard must show); M6+ favours outsourcers and seniors. The
        other cases fill up what that leaves, so that every agent is given about as many cases
        (new hires fewer): the mix follows level and outsourcing, the workload does not. Nothing
        here knows the agents' skill or results."""
        ag, d = self.ag, self.d0 + i
        cand = np.flatnonzero((ag.hire + 3 <= d) & (ag.leave > d + 2))
        level = ag.levels[self.month_idx[i], cand]
        fresh = np.where(d - ag.hire[cand] < 30, 0.6, 1.0)
        hard = (
            np.array([0.35, 1.0, 2.2, 2.8])[level] * fresh,
            np.array([0.5, 1.0, 1.5, 1.5])[level] * np.where(ag.outsourced[cand], 3, 1) * fresh,
        )
        dpd = d - self.ovd[cases]
        cat = np.where(self.risk_now[cases] >= 800, 1, np.where(dpd >= 181, 2, 0))
        mix = np.bincount(cat, minlength=3) / max(len(cases), 1)
        fair = fresh / fresh.sum()  # each agent's share of the batch
        intake = mix[1] * hard[0] / hard[0].sum() + mix[2] * hard[1] / hard[1].sum()
        weights = (np.maximum(fair - intake, 0.05 * fair), *hard)
        pos = np.empty(len(cases), np.int64)
        for c, w in enumerate(weights):  # three risk categories
            sel = cat == c
            pos[sel] = rng.choice(len(cand), sel.sum(), p=w / w.sum())
        # A case moves on to someone else: never back to the agent who just released it.
        same = cand[pos] == self.last_agent[cases]
        pos[same] = (pos[same] + 1 + rng.integers(0, max(1, len(cand) - 1), same.sum())) % len(
            cand)
        return cand[pos]

    def _cases_snapshot(self, i: int) -> None:
        """The case master's full state: on the 1st of every month (risk re-scored, new cases
        entered) and every Monday, each with the version-2 columns dpd (0 once settled) and
        overdue_amount (what is left to pay; 0 once settled)."""
        rng, m = self._rng("cases.month", i), self.month_idx[i]
        if m > 0 and self.days[i].day == 1:  # monthly re-scoring; a few debtors register hardship
            self.risk_now = np.clip(self.risk_now + rng.normal(0, 25, self.nc).round(), 0, 1000
                                    ).astype(np.int64)
            self.hardship |= rng.random(self.nd) < 0.004
        n = int(np.searchsorted(self.entry, i, side="right"))
        settled = (self.closed | self.close_pending)[:n]
        df = self.case_static.head(n).with_columns(
            risk_score=pl.Series(self.risk_now[:n]),
            hardship_flag=pl.Series(self.hardship[self.case_debtor[:n]]),
            principal=_money(self.principal[:n]),
            # settled (closed, or paid off yesterday and released in tonight's batch): current
            dpd=pl.Series(np.where(settled, 0, self.d0 + i - self.ovd[:n])),
            overdue_amount=_money(np.where(settled, 0, self.remaining[:n])),
        ).select(COLUMNS["cases"])
        if i != 0:
            self._write("cases", self.days[i], df)
            return
        # the archived cases of past plan cohorts (generate/history.py), after the book's
        df = pl.concat([df, self.archived_cases.select(
            pl.col(c).cast(df.schema[c]) for c in df.columns)])
        # The documented bad row: a risk score that is not a number, on a row full of PII.
        row = df.row(min(7, n - 1), named=True)
        fields = [str(v).lower() if isinstance(v, bool) else str(v) for v in row.values()]
        fields[0] = f"C{self.nc + 1:07d}"
        fields[1] = f"D{self.nd + 1:07d}"
        fields[COLUMNS["cases"].index("risk_score")] = "abc"
        self._write_with_bad("cases", self.days[i], df, min(40, n),
                             [("bad_type", "risk_score", "abc", fields)])

    def _assignments(self, i: int) -> None:
        """Night batch (01:00-06:30): release cases that roll to the next bucket, whose agent
        leaves or that are paid off, then hand out the cases waiting for a holder."""
        rng, d, t0 = self._rng("assignments", i), self.d0 + i, (self.d0 + i) * DAY
        holder = self.cur_agent
        leaving = np.where(holder >= 0, self.ag.leave[np.maximum(holder, 0)], NEVER) == d
        released = np.flatnonzero((self.cur_asg >= 0)
                                  & ((self.rel_day == d) | self.close_pending | leaving))
        rel_t = t0 + rng.integers(HOUR, 5 * HOUR, len(released))
        out = []
        if i == 0:  # holders from before the start, unless released this very night
            initial = self.initial_assignments
            out.append(self._assignment_rows(initial[~np.isin(initial, released)], None))
        out.append(self._assignment_rows(released, rel_t))
        self.closed |= self.close_pending
        self.close_pending[:] = False
        self.pend_t[self.closed] = NEVER
        moving = released[~self.closed[released]]
        # Most cases go straight to the next holder; some wait in the pool for 1-3 days, during
        # which their payments belong to nobody (unattributed).
        gap = rng.random(len(moving)) < 0.28
        wait_days = rng.integers(1, 4, len(moving))
        self.pend_t[moving] = np.where(
            gap, (d + wait_days) * DAY + rng.integers(HOUR, 6 * HOUR, len(moving)),
            rel_t[~self.closed[released]] + rng.integers(60, 1_800, len(moving)))
        self.cur_asg[released] = -1
        self.cur_agent[released] = -1
        self.rel_day[released] = NEVER

        start = np.flatnonzero((self.pend_t >= t0) & (self.pend_t < t0 + DAY))
        if len(start):
            at = self.pend_t[start]
            order = np.lexsort((start, at))
            start, at = start[order], at[order]
            agent = self._choose_agents(rng, i, start)
            dpd = d - self.ovd[start]
            # Rolling into a new bucket adds the next overdue instalment and a late fee.
            rolled = (self.cur_dpd[start] > 0) & (_bucket(dpd) != _bucket(self.cur_dpd[start]))
            add = np.where(rolled & (dpd <= 180), self.instalment[start], 0)
            self.remaining[start] += add + np.where(rolled, self.remaining[start] // 200, 0)
            self.cur_asg[start] = np.arange(self.next_assignment,
                                            self.next_assignment + len(start))
            self.next_assignment += len(start)
            self.cur_agent[start] = self.last_agent[start] = agent
            self.cur_at[start], self.cur_dpd[start] = at, dpd
            self.cur_due[start] = np.maximum(self.remaining[start], 100)
            self.rel_day[start] = self._release_day(rng, start, np.full(len(start), d), dpd)
            self.pend_t[start] = NEVER
            out.append(self._assignment_rows(start, None))
        df = pl.concat(out)
        if df.height:
            self._write("assignments", self.days[i], df)

    def _assignment_rows(self, cases: np.ndarray, released: np.ndarray | None) -> pl.DataFrame:
        """The current assignment of ``cases``; ``released`` (seconds) closes it."""
        released_at = (_ts(released) if released is not None
                       else pl.Series([None] * len(cases), dtype=pl.Datetime("us")))
        return pl.DataFrame({
            "assignment_id": _numbered("AS", self.cur_asg[cases], 9),
            "case_id": self.case_ids.gather(cases),
            "agent_id": self.ag.ids.gather(self.cur_agent[cases]),
            "assigned_at": _ts(self.cur_at[cases]),
            "released_at": released_at,
            "dpd_at_assignment": pl.Series(self.cur_dpd[cases], dtype=pl.Int64),
            "amount_due": _money(self.cur_due[cases]),
        })
