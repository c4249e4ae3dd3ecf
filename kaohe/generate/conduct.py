"""What else follows the calls: complaints (with verdicts re-delivered later and debtors' free
text), middle-office tickets (closed later, re-delivered), repayment plans (status changes
re-delivered) and the costs of the agents' work. Each has its own stream, named after its source.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import kaohe.generate.names as vocab
from kaohe.generate.calls import _Calls
from kaohe.generate.schema import (
    COLUMNS,
    COMPLAINT_CATEGORIES,
    COMPLAINT_CHANNELS,
    COST_TYPES,
    PLAN_STATUSES,
    PLAN_TYPES,
    RPC,
    THIRD,
    TICKET_TYPES,
)
from kaohe.generate.util import (
    DAY,
    HOUR,
    NEVER,
    _dates,
    _first_per,
    _labels,
    _money,
    _seq,
    _ts,
)
from kaohe.generate.writer import _Writer

# Complaints per call weighted by exp(-COMPLAINT_SKILL x t), t the agent's conduct trait
# (roster.TRAIT_LOADING) in standard deviations.
COMPLAINT_SKILL = 0.8


class _Conduct(_Writer):
    """Complaints, tickets, plans and costs."""

    def _complaints(self, i: int, calls: _Calls) -> None:
        """2-5 complaints per 1,000 cases a month, drawn towards calls breaking the contact rules
        (in the curfew, over a legal daily cap) or to debtors rung many times that day,
        third-party and aggressive calls; verdicts re-delivered 5-20 days later, some stay
        pending."""
        rng, day = self._rng("complaints", i), self.days[i]
        n_calls = len(calls.case)
        held = int((self.cur_agent >= 0).sum())
        k = rng.poisson(held * 2.8 / 1000 / 30) if n_calls else 0
        if k:
            agg = self.ag.aggressive[calls.agent]
            # a call over a legal cap, or one of many the debtor got that day (a debtor rung 7
            # times or more by the centre feels harassed, each agent within the law or not)
            over = calls.over_cap | (calls.debtor_calls > 6)
            third = calls.outcome == THIRD
            # Less skilled agents draw more complaints (tone, pressure, careless disclosure).
            w = ((1 + 2.0 * (calls.outcome >= RPC) + 15.0 * calls.off + 6.0 * agg + 8.0 * over)
                 * np.exp(-COMPLAINT_SKILL * self.ag.traits["conduct"][calls.agent]))
            pick = np.unique(rng.choice(n_calls, k, p=w / w.sum()))
            k = len(pick)
            cat = rng.choice(6, k, p=[0.25, 0.15, 0.12, 0.10, 0.25, 0.13])
            cat = np.where((calls.off[pick] | over[pick]) & (rng.random(k) < 0.7), 0, cat)
            cat = np.where(third[pick] & (rng.random(k) < 0.6), 2, cat)
            cat = np.where(agg[pick] & (rng.random(k) < 0.5), 1, cat)
            channel = rng.choice(4, k, p=[0.45, 0.15, 0.15, 0.25])
            severity = rng.choice([1, 2, 3], k, p=[0.5, 0.35, 0.15])
            severity = np.where(channel == 1, np.maximum(severity, 2), severity)
            who = rng.choice(3, k, p=[0.72, 0.20, 0.08])  # both known / no agent / no case
            verdict = rng.choice(3, k, p=[0.45, 0.40, 0.15])  # true / false / stays pending
            verdict = np.where(agg[pick] & (rng.random(k) < 0.6), 0, verdict)
            received = calls.t[pick] + rng.integers(HOUR // 2, 60 * HOUR, k)
            self._enqueue("complaints", pl.DataFrame({
                "day": received // DAY - self.d0,
                "t": received,
                "case": calls.case[pick], "agent": calls.agent[pick],
                "channel": channel, "category": cat, "severity": severity, "who": who,
                "verdict": verdict, "verdict_in": rng.integers(5, 21, k),
                "description": self._complaint_text(rng, cat, calls.case[pick]),
            }))
        new = self._dequeue("complaints", i)
        verdicts = self._dequeue("verdicts", i)
        parts = []
        if new is not None:
            new = new.sort("t", "case", maintain_order=True)
            ymd = f"{day:%Y%m%d}"
            who = new["who"].to_numpy()
            rows = pl.DataFrame({
                "complaint_id": _seq(f"CP{ymd}", new.height, 5),
                "case_id": self.case_ids.gather(new["case"].to_numpy()).scatter(
                    np.flatnonzero(who == 2), None),
                "agent_id": self.ag.ids.gather(new["agent"].to_numpy()).scatter(
                    np.flatnonzero(who == 1), None),
                "received_at": _ts(new["t"].to_numpy()),
                "channel": _labels(COMPLAINT_CHANNELS, new["channel"].to_numpy()),
                "category": _labels(COMPLAINT_CATEGORIES, new["category"].to_numpy()),
                "severity": new["severity"],
                "substantiated": pl.Series([None] * new.height, dtype=pl.Boolean),
                "description": new["description"],
                "resolved_at": _ts(np.zeros(new.height, np.int64),
                                   null=np.ones(new.height, bool)),
            })
            parts.append(rows)
            decided = (new["verdict"] < 2).to_numpy()
            # The verdict closes the complaint with the complainant (resolved_at, version 2):
            # re-delivered on the verdict's day, in office hours; pending ones stay open.
            verdict_day = i + new["verdict_in"].to_numpy()[decided]
            closed_at = ((self.d0 + verdict_day) * DAY
                         + self._rng("complaints.resolved", i).integers(
                             9 * HOUR, 18 * HOUR, int(decided.sum())))
            self._enqueue("verdicts", rows.filter(pl.Series(decided)).with_columns(
                substantiated=pl.Series(new["verdict"].to_numpy()[decided] == 0),
                resolved_at=_ts(closed_at),
                day=pl.Series(verdict_day)))
        if verdicts is not None:
            parts.append(verdicts)
        if not parts and i != self.bad_complaint_day:
            return
        df = pl.concat(parts) if parts else pl.DataFrame(
            schema={c: pl.String for c in COLUMNS["complaints"]})
        if i == self.bad_complaint_day:
            bad_id = f"CP{day:%Y%m%d}99001"
            fields = [bad_id, self.case_ids[0], self.ag.ids[0], f"{day:%Y-%m-%d} 11:20:00",
                      "hotline", "harassment", "7", "", "一天打了二十多次电话，严重骚扰。", ""]
            self._write_with_bad("complaints", day, df, min(2, df.height),
                                 [("out_of_range", "severity", "7", fields)], encoding="gb18030")
        else:
            self._write("complaints", day, df, encoding="gb18030")

    def _complaint_text(self, rng: np.random.Generator, cat: np.ndarray, cases: np.ndarray
                        ) -> pl.Series:
        """Complainants' free text: Chinese, sometimes with their phone or name (PII), markup,
        quotes, commas or a line break."""
        k = len(cat)
        texts = [np.array(t) for t in vocab.COMPLAINT_TEXTS]
        sizes = np.array([len(t) for t in texts])
        flat = np.concatenate(texts)
        offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        main = flat[offset[cat] + rng.integers(0, 1 << 30, k) % sizes[cat]]
        other = flat[rng.integers(0, len(flat), k)]
        suffix = np.array(vocab.COMPLAINT_SUFFIXES)[rng.integers(0, len(vocab.COMPLAINT_SUFFIXES),
                                                                 k)]
        static = self.case_static
        phone = static["debtor_phone"].gather(cases).to_numpy().astype(str)
        name = static["debtor_name"].gather(cases).to_numpy().astype(str)
        markup = np.array(vocab.COMPLAINT_MARKUP)[rng.integers(0, len(vocab.COMPLAINT_MARKUP), k)]
        u = rng.random((4, k))
        text = np.strings.add(np.where(u[0] < 0.08, np.strings.add(np.strings.add("本人", name),
                                                                   "，"), ""), main)
        text = np.strings.add(text, suffix)
        text = np.strings.add(text, np.where(u[1] < 0.12, np.strings.add("联系电话：", phone), ""))
        text = np.strings.add(text, np.where(u[2] < 0.12, markup, ""))
        text = np.strings.add(text, np.where(u[3] < 0.04, np.strings.add("\n补充说明：", other),
                                             ""))
        return pl.Series(text, dtype=pl.String)

    def _tickets(self, i: int, calls: _Calls) -> None:
        """Middle-office requests after a contact; closed hours to days later (re-delivered),
        a few never. Plus the fee waivers and restructuring approvals a promise made on the
        day's calls hangs on (``calls.tickets``), some left open past their SLA."""
        rng, day, d = self._rng("tickets", i), self.days[i], self.d0 + i
        rpc = np.flatnonzero(calls.outcome == RPC)
        case = calls.case[rpc]
        risky_industry = self.industry[case] <= 1  # foreign trade, pharma distribution
        hardship = self.hardship[self.case_debtor[case]]
        late_stage = d - self.ovd[case] >= 91
        rates = (np.where(late_stage, 0.006, 0.0), np.full(len(rpc), 0.008),
                 0.004 * np.where(risky_industry | hardship, 3, 1))
        median_hours = (80, 18, 50)
        parts = []
        for kind, p in enumerate(rates):  # three ticket types
            hit = _first_per(calls.case, rpc[rng.random(len(rpc)) < p])
            opened = np.minimum(calls.t[hit] + rng.integers(300, 5_400, len(hit)),
                                d * DAY + DAY - 60)
            hours = rng.lognormal(np.log(median_hours[kind]), 0.9, len(hit))
            closed = opened + (hours * HOUR).astype(np.int64)
            closed = np.where(rng.random(len(hit)) < 0.04, NEVER, closed)
            parts.append(pl.DataFrame({"case": calls.case[hit], "agent": calls.agent[hit],
                                       "type": np.full(len(hit), kind), "opened": opened,
                                       "closed": closed,
                                       "approved": rng.random(len(hit)) < 0.78}))
        parts.append(calls.tickets)  # the tickets promises hang on (made with the calls)
        new = pl.concat(parts, how="vertical_relaxed").sort("opened", "case", maintain_order=True)
        rows = pl.DataFrame({
            "ticket_id": _seq(f"TK{day:%Y%m%d}", new.height, 6),
            "case_id": self.case_ids.gather(new["case"].to_numpy()),
            "agent_id": self.ag.ids.gather(new["agent"].to_numpy()),
            "ticket_type": _labels(TICKET_TYPES, new["type"].to_numpy()),
            "opened_at": _ts(new["opened"].to_numpy()),
            "closed_at": _ts(new["closed"].to_numpy()),
            "outcome": _labels(("rejected", "approved"), new["approved"].to_numpy().astype(int)),
        })
        close_day = new["closed"].to_numpy() // DAY - self.d0
        same_day = close_day == i
        open_now = pl.Series(~same_day)
        # Closed the same day: delivered once, closed; otherwise open now, closed later.
        today = rows.with_columns(
            closed_at=pl.when(open_now).then(None).otherwise(pl.col("closed_at")),
            outcome=pl.when(open_now).then(None).otherwise(pl.col("outcome")))
        self._enqueue("ticket_closures", rows.filter(open_now).with_columns(
            day=pl.Series(close_day[~same_day])))
        closures = self._dequeue("ticket_closures", i)
        df = pl.concat([today, closures]) if closures is not None else today
        if i == self.bad_tickets_day:
            # A system change dropped a column: the whole file must be rejected, so the day's
            # real tickets travel in a second file.
            cols = [c for c in COLUMNS["tickets"] if c != "opened_at"]
            phantom = df.head(3).select(cols).with_columns(
                ticket_id=_seq(f"TK{day:%Y%m%d}", min(3, df.height), 6, first=900_001))
            path = self._write("tickets", day, phantom)
            self.bad_files.append({"source": "tickets", "file": f"tickets/{path.name}",
                                   "reason_code": "missing_column", "column": "opened_at"})
            self._write("tickets", day, df, seq=2)
        elif df.height:
            self._write("tickets", day, df)

    def _plans(self, i: int, calls: _Calls) -> None:
        """Instalment and restructuring plans, and hardship relief (with social referrals) for
        debtors in hardship; statuses change later and are re-delivered."""
        rng, day, d = self._rng("plans", i), self.days[i], self.d0 + i
        rpc = np.flatnonzero((calls.outcome == RPC) & ~self.has_plan[calls.case])
        case = calls.case[rpc]
        hardship = self.hardship[self.case_debtor[case]]
        p_relief = np.where(hardship, 0.12, 0.0)
        p_inst = 0.012
        p_restr = 0.003 * np.where((self.industry[case] <= 1) | (d - self.ovd[case] >= 91), 3, 1)
        u = rng.random(len(rpc))
        kind = np.select([u < p_relief, u < p_relief + p_inst, u < p_relief + p_inst + p_restr],
                         [2, 0, 1], -1)
        hit = _first_per(calls.case, rpc[kind >= 0])
        kind = kind[np.searchsorted(rpc, hit)]
        k = len(hit)
        created = np.minimum(calls.t[hit] + rng.integers(600, 7_200, k), d * DAY + DAY - 60)
        referral = rng.random(k) < np.where(kind == 2, 0.35, 0.02)
        u = rng.random(k)
        # A skilled negotiator's plans fit what the debtor can pay: completed more, defaulted less.
        fit = self.ag.factor("negotiation", 1.0)[calls.agent[hit]]
        p_done, p_default = np.array([0.10, 0.25, 0.15])[kind] * fit, 0.2 / fit
        status = np.select([u < p_done, u < p_done + p_default, u < p_done + p_default + 0.05],
                           [1, 2, 3], 0)
        lo = np.select([status == 1, status == 2], [np.array([20, 30, 30])[kind], 15], 1)
        hi = np.select([status == 1, status == 2], [np.array([80, 80, 90])[kind], 60], 10)
        change = i + rng.integers(lo, hi + 1)
        self.has_plan[calls.case[hit]] = True
        self.plan_active[calls.case[hit]] = True
        rows = pl.DataFrame({
            "plan_id": _seq(f"PL{day:%Y%m%d}", k, 5),
            "case_id": self.case_ids.gather(calls.case[hit]),
            "agent_id": self.ag.ids.gather(calls.agent[hit]),
            "plan_type": _labels(PLAN_TYPES, kind),
            "created_at": _ts(created),
            "status": _labels(PLAN_STATUSES, np.zeros(k, np.int64)),
            "social_referral": pl.Series(referral),
        })
        later = status > 0
        self._enqueue("plan_changes", rows.filter(pl.Series(later)).with_columns(
            status=_labels(PLAN_STATUSES, status[later]), day=pl.Series(change[later]),
            case=pl.Series(calls.case[hit][later])))
        changes = self._dequeue("plan_changes", i)
        parts = [rows]
        if changes is not None:
            self.plan_active[changes["case"].to_numpy()] = False
            parts.append(changes.drop("case"))
        df = pl.concat(parts)
        if df.height:
            self._write("plans", day, df)

    def _costs(self, i: int, calls: _Calls) -> None:
        """Telecom and SMS per agent-day worked, occasional field visits and legal fees, and the
        agency fee for outsourced agents at month end."""
        rng, ag, day, d = self._rng("costs", i), self.ag, self.days[i], self.d0 + i
        attempts = np.bincount(calls.agent, minlength=ag.n)
        talk = np.bincount(calls.agent, weights=calls.duration, minlength=ag.n)
        worked = np.flatnonzero(attempts > 0)
        nw = len(worked)
        telecom = (attempts[worked] * rng.uniform(6, 10, nw) + talk[worked] / 60 * 12).round()
        sms = rng.poisson(30, nw) * 5
        visit = worked[~ag.outsourced[worked] & (rng.random(nw) < 0.025)]
        legal = worked[rng.random(nw) < 0.006]
        agents = [worked, worked, visit, legal]
        cents = [telecom.astype(np.int64), sms, rng.integers(200, 1_201, len(visit)) * 100,
                 rng.integers(800, 5_001, len(legal)) * 100]
        if i in self.month_last:
            first = self.d0 + self.month_first[self.month_idx[i]]
            fee = np.flatnonzero(ag.outsourced & (ag.hire <= d) & (ag.leave > first))
            agents.append(fee)
            cents.append(rng.integers(3_000, 7_001, len(fee)) * 100)
        kind = np.concatenate([np.full(len(a), k) for k, a in enumerate(agents)])
        agent = np.concatenate(agents)
        order = np.lexsort((kind, agent))
        agent, kind, amount = agent[order], kind[order], np.concatenate(cents)[order]
        if not len(agent):
            return
        df = pl.DataFrame({
            "cost_id": _seq(f"CO{day:%Y%m%d}", len(agent), 6),
            "agent_id": self.ag.ids.gather(agent),
            "incurred_on": _dates(np.full(len(agent), d)),
            "cost_type": _labels(COST_TYPES, kind),
            "amount": _money(amount),
        })
        self._write("costs", day, df)
