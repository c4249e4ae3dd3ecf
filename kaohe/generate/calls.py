"""The dialler: the day's call attempts (stream ``calls``) with the promises to pay made on them
and the documented bad call rows. What follows each call, speech-analytics QA flags
(``qa_flags``), human QA reviews (``qa_reviews``) and SMS satisfaction surveys (``surveys``),
is in ``feedback`` (``_Feedback``, which ``_Dialler`` extends).

``_calls`` returns the day's calls as a :class:`_Calls` (``attempts``); the day loop hands it to
the parts that react to calls (payments, QA flags, surveys, complaints, tickets, plans, costs).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from kaohe.generate.attempts import _Calls
from kaohe.generate.feedback import _Feedback
from kaohe.generate.schema import (
    BUSY,
    COLUMNS,
    CSV_FORMAT,
    INVALID,
    NO_ANSWER,
    OUTCOMES,
    RPC,
    THIRD,
    VOICEMAIL,
)
from kaohe.generate.util import (
    DAY,
    HOUR,
    _bucket,
    _cap_per_key,
    _dates,
    _first_per,
    _labels,
    _money,
    _seq,
    _ts,
)

# Share of agents at work by weekday (Mon..Sun): collection centres run 7 days, thinner at weekends.
PRESENCE = np.array([0.94, 0.94, 0.94, 0.94, 0.94, 0.70, 0.50])
# Dialling hours 08..20 (the article's 08:00-21:00 window) with the usual morning/afternoon peaks.
CALL_HOURS = np.arange(8, 21)
CALL_HOUR_P = np.array([6, 10, 11, 9, 4, 6, 9, 10, 9, 7, 6, 8, 5], dtype=float)
CALL_HOUR_P /= CALL_HOUR_P.sum()
OFF_HOURS = np.array([7, 21, 22])
# By bucket M1..M6, M6+: early buckets get dialled more and answer more.
BUCKET_CALL_WEIGHT = np.array([1.3, 1.15, 1.0, 0.9, 0.85, 0.8, 0.7])
RPC_BASE = np.array([0.30, 0.26, 0.22, 0.19, 0.17, 0.15, 0.11])
# The daily contact cap (config metrics.contact_cap_per_day) and the middle office's SLA in hours
# per ticket type (config metrics.ticket_sla_hours: legal_signoff, fee_waiver,
# restructuring_approval), as the shipped configuration has them.
CONTACT_CAP = 3
TICKET_SLA_HOURS = np.array([72, 24, 120])
# How latent skill shows, through the agent's traits (roster.TRAIT_LOADING; t in standard
# deviations): as a multiplier like skill ** e (_Agents.factor) for right-party contacts
# (contact), promises made and the share of the balance promised (negotiation); as a factor
# exp(-k t) (conduct) for own redials past the cap (REDIAL_RATE of an average agent's attempts)
# and off-hours calls.
RPC_SKILL, PTP_SKILL, SHARE_SKILL = 1.0, 0.5, 0.3
REDIAL_RATE, REDIAL_SKILL = 0.004, 1.0
OFF_HOURS_RATE, OFF_HOURS_SKILL = 0.003, 0.9
# By bucket M1..M6, M6+: the chance a promise covers the whole balance, and a factor on the part
# promised otherwise. Calibrated so that the month's collections per yuan held (exposure) follow
# targets.bucket_recoverability of config/kaohe.yaml (M1 1.0 ... M6+ 0.3) at about 0.6 x it (M1
# ~65 %, M6+ ~20 %): an average agent reaches about 85-90 % of the shipped recovery target,
# whatever the bucket mix.
PTP_FULL = np.array([0.25, 0.20, 0.16, 0.12, 0.09, 0.07, 0.04])
PTP_PART = np.array([0.63, 0.56, 0.57, 0.55, 0.52, 0.52, 0.68])
# Share of promises that hang on a fee waiver or restructuring approval.
PTP_CONDITIONAL = 0.04
# Promise horizon 1..14 days: "by Friday" and "on payday" are the usual answers.
PTP_DAYS_P = np.array([3, 3, 3, 3, 3, 2, 4, 1, 1, 1, 1, 1, 1, 2], dtype=float)
PTP_DAYS_P /= PTP_DAYS_P.sum()


class _Dialler(_Feedback):
    """Calls; QA flags, QA reviews and surveys (``_Feedback``)."""

    def _calls(self, i: int) -> _Calls:
        """Dialler attempts by the agents at work on the cases they hold: about one a case a
        day, clustered, capped at 3 a debtor a day per product dialler and per agent (some
        debtors still get more), mostly 08:00-21:00; outcomes, promises and their fate follow
        the agent's traits (``roster.TRAIT_LOADING``)."""
        rng, ag = self._rng("calls", i), self.ag
        d, t0, day = self.d0 + i, (self.d0 + i) * DAY, self.days[i]
        present = (ag.hire <= d) & (ag.leave > d) & (rng.random(ag.n) < PRESENCE[day.weekday()])
        held = np.flatnonzero(self.cur_agent >= 0)
        h = self.cur_agent[held]
        keep = present[h]
        held, h = held[keep], h[keep]
        w = (BUCKET_CALL_WEIGHT[_bucket(d - self.ovd[held])]
             * np.where(self.ptp_due[held] >= d, 0.35, 1.0))  # a live promise: leave them be
        per_agent = np.bincount(h, weights=w, minlength=ag.n)
        target = self.calls_target * ag.productivity[h] * np.where(ag.aggressive[h], 1.3, 1.0)
        lam = np.minimum(target * w / np.maximum(per_agent[h], 1e-9),
                         np.where(ag.aggressive[h], 4.0, 2.5))  # few cases: dial them less
        k = np.where(ag.aggressive[h], 0.5, 2.5)  # smaller shape = more clustering
        count = rng.poisson(lam * rng.gamma(k, 1 / k))
        # Each product's dialler stops at 3 attempts a debtor a day over all the queues it
        # serves, and each agent's queue at 3 a debtor (all the debtor's cases the agent holds).
        # Agents redial by hand past the cap now and then, the careless ones more: their own
        # over-cap calls, about REDIAL_RATE of an average agent's attempts. The diallers do not
        # see each other, so a debtor with cases of two products held by two agents still gets
        # more than 3 calls some days (the centre's dialler governance, no agent's doing). The
        # aggressive agents dial by hand, uncapped.
        debtor_h = self.case_debtor[held]
        capped = _cap_per_key(debtor_h * np.int64(3) + self.product[held], count, CONTACT_CAP)
        key = h * np.int64(self.nd) + debtor_h
        capped = _cap_per_key(key, capped, CONTACT_CAP)
        _, group = np.unique(key, return_inverse=True)
        at_cap = (np.bincount(group, weights=capped)[group] >= CONTACT_CAP) & (capped > 0)
        attempts = np.bincount(h, weights=capped, minlength=ag.n)
        n_at_cap = np.bincount(h, weights=at_cap, minlength=ag.n)
        redial_rate = np.minimum(REDIAL_RATE * np.exp(-REDIAL_SKILL * ag.traits["conduct"]), 0.08)
        mu = np.minimum(redial_rate * attempts / np.maximum(n_at_cap, 1), 3.0)
        redials = np.where(at_cap, rng.poisson(mu[h]), 0)
        count = np.where(ag.aggressive[h], count, capped + redials)
        case, agent = np.repeat(held, count), np.repeat(h, count)
        n = len(case)
        # Off-hours calls (07:xx, 21:xx-22:xx): careless agents more, the aggressive ones most.
        p_off = np.minimum(OFF_HOURS_RATE * np.exp(-OFF_HOURS_SKILL * ag.traits["conduct"]), 0.05)
        off = rng.random(n) < np.where(ag.aggressive[agent], 0.08, p_off[agent])
        hour = np.where(off, OFF_HOURS[rng.choice(3, n, p=[0.4, 0.45, 0.15])],
                        CALL_HOURS[rng.choice(len(CALL_HOURS), n, p=CALL_HOUR_P)])
        t = t0 + hour * HOUR + rng.integers(0, HOUR, n)
        order = np.lexsort((case, t))
        case, agent, t, hour, off = case[order], agent[order], t[order], hour[order], off[order]

        debtor = self.case_debtor[case]
        # Skilled agents reach the debtor more often (timing, the right number, skip tracing).
        p_rpc = (RPC_BASE[_bucket(d - self.ovd[case])] * self.contact[debtor]
                 * ag.factor("contact", RPC_SKILL)[agent]
                 * np.where(hour >= 18, 1.15, 1.0))  # evenings reach more debtors
        u = rng.random(n)
        outcome = np.select(
            [u < p_rpc, u < p_rpc + 0.035, u < p_rpc + 0.125, u < p_rpc + 0.235,
             u < p_rpc + 0.245],
            [RPC, THIRD, VOICEMAIL, BUSY, INVALID], NO_ANSWER).astype(np.int8)
        outcome = np.where(self.bad_phone[debtor],
                           np.where(rng.random(n) < 0.85, INVALID, NO_ANSWER), outcome)
        duration = np.zeros(n, np.int64)
        rpc, third = outcome == RPC, outcome == THIRD
        duration[rpc] = np.clip(rng.lognormal(np.log(95), 0.85, rpc.sum()), 4, 1_800)
        duration[third] = np.clip(rng.lognormal(np.log(35), 0.6, third.sum()), 3, 600)

        # Promises to pay: about a third of right-party contacts (more for skilled agents), at
        # most one a case a day.
        live = self.ptp_due[case] >= d
        p_ptp = (np.where(duration >= 60, 0.42, np.where(duration >= 30, 0.25, 0.05))
                 * np.where(live, 0.3, 1.0) * ag.factor("negotiation", PTP_SKILL)[agent])
        ptp_idx = _first_per(case, np.flatnonzero(rpc & (rng.random(n) < p_ptp)))
        ptp = np.zeros(n, bool)
        ptp[ptp_idx] = True
        pc, pa, kp = case[ptp_idx], agent[ptp_idx], len(ptp_idx)
        rem = self.remaining[pc]
        bucket = _bucket(d - self.ovd[pc])
        # What a debtor can promise shrinks with the overdue age: the whole arrears early on, a
        # part of a large balance later; skilled agents negotiate a little more.
        full = rng.random(kp) < PTP_FULL[bucket]
        negotiation = ag.factor("negotiation", SHARE_SKILL)[pa]
        share = np.where(full, 1.0, np.minimum(
            rng.uniform(0.15, 0.7, kp) * PTP_PART[bucket] * negotiation, 1.0))
        amount = np.clip(np.round(rem * share / 1_000) * 1_000, np.minimum(5_000, rem), rem)
        amount = amount.astype(np.int64)
        due = d + 1 + rng.choice(14, kp, p=PTP_DAYS_P)
        # Some promises hang on the middle office: the debtor pays once a fee waiver (or a
        # restructuring) is approved, and the agent opens the ticket after the call. When the
        # middle office misses its SLA (metrics.ticket_sla_hours) and the due date, the promise
        # breaks through no fault of the agent (the metrics call it neutralised).
        cond = rng.random(kp) < PTP_CONDITIONAL
        kind = np.where(rng.random(kp) < 0.7, 1, 2)  # fee_waiver, restructuring_approval
        due = np.where(cond & (kind == 2), np.maximum(due, d + 6), due)
        opened = np.minimum(t[ptp_idx] + rng.integers(300, 5_400, kp), t0 + DAY - 60)
        sla = TICKET_SLA_HOURS[kind] * HOUR
        stuck = cond & (rng.random(kp) < 0.4)
        closed = np.where(stuck, np.maximum(opened + sla, (due + 1) * DAY)
                          + rng.integers(HOUR, 3 * DAY, kp),
                          opened + (rng.uniform(0.1, 0.9, kp) * sla).astype(np.int64))
        tickets = pl.DataFrame({"case": pc[cond], "agent": pa[cond], "type": kind[cond],
                                "opened": opened[cond], "closed": closed[cond],
                                "approved": rng.random(int(cond.sum())) < 0.8})
        self.ptp_due[pc] = due
        self._schedule_promised_payments(rng, i, pc, pa, t[ptp_idx], amount, due,
                                         np.where(stuck, closed, 0))
        ptp_amount = np.zeros(n, np.int64)
        ptp_due = np.zeros(n, np.int64)
        ptp_amount[ptp_idx], ptp_due[ptp_idx] = amount, due

        ymd = f"{day:%Y%m%d}"
        ids = _seq(f"CL{ymd}", n, 7)
        connected = rpc | third
        df = pl.DataFrame({
            "call_id": ids,
            "case_id": self.case_ids.gather(case),
            "agent_id": ag.ids.gather(agent),
            "started_at": _ts(t),
            "duration_s": pl.Series(duration),
            "outcome": _labels(OUTCOMES, outcome),
            "ptp_amount": _money(ptp_amount, null=~ptp),
            "ptp_due_date": _dates(ptp_due, null=~ptp),
            "recording_id": _seq(f"RC{ymd}", n, 7).scatter(np.flatnonzero(~connected), None),
        })
        if i == self.bad_calls_day:
            self._bad_calls(df, ymd, n)
        else:
            self._write("calls", day, df, ext="csv.gz" if day.weekday() == 6 else "csv")
        debtor_calls = np.bincount(debtor, minlength=self.nd)[debtor]
        return _Calls(case, agent, t, off, outcome, duration, debtor_calls, ids, tickets)

    def _bad_calls(self, df: pl.DataFrame, ymd: str, n: int) -> None:
        """The documented bad call rows, each with exactly one fault, after data row 15. They
        are made from unanswered calls (no promise, no recording), so nothing else changes."""
        quiet = df.filter(pl.col("ptp_amount").is_null() & pl.col("recording_id").is_null())
        base = [line.split(",") for line in
                quiet.head(6).write_csv(include_header=False, **CSV_FORMAT).splitlines()]
        col = COLUMNS["calls"].index
        extra = iter(range(n + 1, n + 10))

        def row(k: int, **changes: str) -> list[str]:
            fields = list(base[k])
            fields[0] = f"CL{ymd}{next(extra):07d}"
            for name, value in changes.items():
                fields[col(name)] = value
            return fields

        day = f"{ymd[:4]}-{ymd[4:6]}-{ymd[6:]}"
        bad = [
            ("bad_type", "started_at", f"{day} 25:61:00", row(1, started_at=f"{day} 25:61:00")),
            ("unknown_enum", "outcome", "hung_up", row(2, outcome="hung_up")),
            ("duplicate_key", "call_id", base[0][0], [base[0][0], *base[3][1:]]),
            ("missing_value", "call_id", "", ["", *base[4][1:]]),
            ("out_of_range", "duration_s", "-5", row(5, duration_s="-5")),
            ("malformed_row", None, "extra", row(1) + ["extra"]),
        ]
        self._write_with_bad("calls", self.days[self.bad_calls_day], df, min(15, df.height), bad)
