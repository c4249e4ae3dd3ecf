"""The calls file (stream ``calls``): the day's attempts as the dialler makes them (``dialler``:
worked cases, retries, numbers, outcomes, the legal stops and the breaches), their durations, the
promises to pay made on them, the documented bad call rows, and the calls breaking the legal
contact rules counted for the manifest (``attempts.contact_rule_flags``). What follows each
call, speech-analytics QA flags (``qa_flags``), human QA reviews (``qa_reviews``) and SMS
satisfaction surveys (``surveys``), is in ``feedback`` (``_Feedback``, which ``_Dialler``
extends through ``dialler._DialPlan``).

``_calls`` returns the day's calls as a :class:`_Calls` (``attempts``); the day loop hands it to
the parts that react to calls (payments, QA flags, surveys, complaints, tickets, plans, costs).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from kaohe.generate.attempts import _Calls, contact_rule_flags
from kaohe.generate.dialler import _DialPlan
from kaohe.generate.schema import COLUMNS, CSV_FORMAT, OUTCOMES, RPC, THIRD
from kaohe.generate.util import (
    DAY,
    HOUR,
    _bucket,
    _dates,
    _first_per,
    _labels,
    _money,
    _seq,
    _ts,
)

# The middle office's SLA in hours per ticket type (config metrics.ticket_sla_hours:
# legal_signoff, fee_waiver, restructuring_approval), as the shipped configuration has them.
TICKET_SLA_HOURS = np.array([72, 24, 120])
# How latent skill shows, through the agent's traits (roster.TRAIT_LOADING; t in standard
# deviations): as a multiplier like skill ** e (_Agents.factor) for promises made and the share
# of the balance promised (negotiation); right-party contacts in ``dialler`` (RPC_SKILL), the
# breaches of the contact rules there too (BYPASS_SKILL, on the conduct trait).
PTP_SKILL, SHARE_SKILL = 0.5, 0.3
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


class _Dialler(_DialPlan):
    """Calls; QA flags, QA reviews and surveys (``_Feedback``)."""

    def _calls(self, i: int) -> _Calls:
        """The day's attempts (``_DialPlan._dial``) written to the calls file with the number
        dialled; durations, promises and their fate follow the agent's traits
        (``roster.TRAIT_LOADING``)."""
        rng, ag = self._rng("calls", i), self.ag
        d, t0, day = self.d0 + i, (self.d0 + i) * DAY, self.days[i]
        case, agent, slot, t, outcome = self._dial(rng, i)
        n = len(case)
        debtor = self.case_debtor[case]
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
        number = self.phones[debtor, slot]
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
            "dialled_number": pl.Series(number).cast(pl.String),
        }).select(COLUMNS["calls"])
        if i == self.bad_calls_day:
            self._bad_calls(df, ymd, n)
        else:
            self._write("calls", day, df, ext="csv.gz" if day.weekday() == 6 else "csv")
        flags = contact_rule_flags(agent, debtor, self.number_id[debtor, slot], connected, t,
                                   self.nd, self.n_numbers)
        for rule in range(flags.shape[1]):  # three rules
            self.breaches[self.month_idx[i], :, rule] += np.bincount(
                agent[flags[:, rule]], minlength=ag.n)
        return _Calls(case, agent, t, flags[:, 2], flags[:, 0] | flags[:, 1],
                      np.bincount(debtor, minlength=self.nd)[debtor], outcome, duration, ids,
                      tickets)

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
