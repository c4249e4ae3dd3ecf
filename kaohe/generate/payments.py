"""Repayments: promised payments scheduled when a promise is made on a call (kept, partial, late
or broken), spontaneous payments (auto-debit at night, app, bank, counter; more under a plan),
reversals 1-20 days later (a claw-back for the agent), and the documented bad repayment rows
(stream ``repayments``; promised payments draw on the ``calls`` stream when the call is made).
Paying off a case marks it for release in the next night batch.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from kaohe.generate.calls import _Calls
from kaohe.generate.schema import PAY_CHANNELS, REPAYMENTS_PARQUET
from kaohe.generate.util import DAY, HOUR, _date, _labels, _money, _seq, _ts
from kaohe.generate.writer import _Writer

# Promises kept in full by an average agent, and the elasticity of that to latent skill.
PTP_KEPT, KEPT_SKILL = 0.55, 1.2


class _Payments(_Writer):
    """Promised, spontaneous and reversed payments."""

    def _schedule_promised_payments(self, rng: np.random.Generator, i: int, cases: np.ndarray,
                                    agents: np.ndarray, call_t: np.ndarray, amount: np.ndarray,
                                    due: np.ndarray, stuck_until: np.ndarray) -> None:
        """About half of promises are kept in full by the due date (more for skilled agents:
        PTP_KEPT x skill ^ KEPT_SKILL); some are partial, some a day late, the rest broken. A
        promise waiting for a ticket the middle office left open past the due date
        (``stuck_until``, seconds, 0 when none) is broken; half of those debtors pay once the
        ticket is closed."""
        k, d = len(cases), self.d0 + i
        u = rng.random(k)
        p_kept = np.minimum(PTP_KEPT * self.ag.factor("negotiation", KEPT_SKILL)[agents], 0.85)
        kept = u < p_kept
        partial, late = (u >= p_kept) & (u < p_kept + 0.11), (u >= p_kept + 0.11) & (
            u < p_kept + 0.17)
        pay_day = np.where(rng.random(k) < 0.45, due, d + rng.integers(0, due - d + 1))
        pay_day = np.where(late, due + 1, pay_day)
        stuck = stuck_until > 0
        after = stuck & (rng.random(k) < 0.5)
        kept, partial, late = kept & ~stuck, partial & ~stuck, (late & ~stuck) | after
        pay_day = np.where(stuck, stuck_until // DAY + rng.integers(0, 3, k), pay_day)
        rounded_up = -(-amount // 10_000) * 10_000
        part = (amount * rng.uniform(0.3, 0.9, k) // 1_000 * 1_000).astype(np.int64)
        cents = np.where(kept & (rng.random(k) < 0.12), rounded_up, amount)
        cents = np.where(partial, part, cents)
        happens = (kept | late | (partial & (part > 0))) & (cents > 0)
        t = pay_day * DAY + rng.integers(8 * HOUR, 23 * HOUR, k)
        # Paid on the day of the call: after the call; once a ticket is closed: after that.
        t = np.where(pay_day == d, np.minimum(np.maximum(t, call_t + 300 + rng.integers(
            0, HOUR, k)), pay_day * DAY + DAY - 1), t)
        t = np.where(stuck, np.maximum(t, stuck_until + 600), t)
        pay_day = t // DAY
        channel = rng.choice([0, 1, 3], k, p=[0.38, 0.55, 0.07])
        self._enqueue("payments", pl.DataFrame({
            "day": pay_day[happens] - self.d0, "case": cases[happens], "t": t[happens],
            "cents": cents[happens], "channel": channel[happens].astype(np.int8),
            "reversal_of": pl.Series([None] * int(happens.sum()), dtype=pl.String)}))

    def _repayments(self, i: int, calls: _Calls) -> None:
        """Promised and spontaneous payments (auto-debit at night, app, bank, counter) and
        reversals of earlier payments (1-20 days later, a claw-back for the agent)."""
        rng, d, day = self._rng("repayments", i), self.d0 + i, self.days[i]
        open_ = np.flatnonzero((self.entry <= i) & ~self.closed & ~self.close_pending
                               & (self.remaining > 0))
        p = 0.0035 * np.where(self.plan_active[open_], 6.0, 1.0)
        sp = open_[rng.random(len(open_)) < p]
        ch = rng.choice(4, len(sp), p=[0.20, 0.35, 0.40, 0.05])
        lo, hi = np.array([9, 7, 2, 9])[ch], np.array([17, 23, 6, 17])[ch]
        t = d * DAY + rng.integers(lo * HOUR, hi * HOUR)
        rem, inst = self.remaining[sp], self.instalment[sp]
        cents = np.where(ch == 2, np.minimum(inst, rem),
                         np.where(rng.random(len(sp)) < 0.08, rem,
                                  np.minimum(inst * rng.choice([1, 1, 1, 2, 3], len(sp)), rem)))
        spontaneous = pl.DataFrame({"case": sp, "t": t, "cents": np.maximum(cents, 1),
                                    "channel": ch.astype(np.int8),
                                    "reversal_of": pl.Series([None] * len(sp), dtype=pl.String)})
        queued = self._dequeue("payments", i)
        df = pl.concat([queued, spontaneous]) if queued is not None else spontaneous
        # A promise paid after the case was settled another way is not paid.
        case = df["case"].to_numpy()
        settled = self.closed[case] | self.close_pending[case]
        df = df.filter(pl.Series(~settled | df["reversal_of"].is_not_null().to_numpy()))
        df = df.sort("t", "case", maintain_order=True)
        ymd = f"{day:%Y%m%d}"
        df = df.with_columns(payment_id=_seq(f"PY{ymd}", df.height, 7))
        case, cents = df["case"].to_numpy(), df["cents"].to_numpy()
        is_rev = df["reversal_of"].is_not_null().to_numpy()
        np.subtract.at(self.remaining, case[~is_rev], cents[~is_rev])
        np.add.at(self.remaining, case[is_rev], cents[is_rev])
        self.close_pending |= (self.remaining <= 0) & ~self.closed

        # About 1 % of payments bounce or are recalled later.
        rev = np.flatnonzero(~is_rev & (rng.random(df.height) < 0.01))
        rev_day = i + rng.integers(1, 21, len(rev))
        self._enqueue("payments", pl.DataFrame({
            "day": rev_day, "case": case[rev],
            "t": (self.d0 + rev_day) * DAY + rng.integers(9 * HOUR, 18 * HOUR, len(rev)),
            "cents": cents[rev], "channel": df["channel"].to_numpy()[rev],
            "reversal_of": df["payment_id"].gather(rev)}))

        out = pl.DataFrame({
            "payment_id": df["payment_id"],
            "case_id": self.case_ids.gather(case),
            "paid_at": _ts(df["t"].to_numpy()),
            "amount": _money(cents),
            "payment_type": _labels(("payment", "reversal"), is_rev.astype(int)),
            "reversal_of": df["reversal_of"],
            "channel": _labels(PAY_CHANNELS, df["channel"].to_numpy()),
        })
        if i == self.bad_pay_day:
            good = np.flatnonzero(~is_rev)[:4]
            csv_rows = out[good]
            out = out.filter(~pl.Series(np.isin(np.arange(out.height), good)))
            self._bad_repayments(csv_rows, ymd, df.height)
        if out.height:
            path = self._path("repayments", day, "parquet")
            pq.write_table(out.to_arrow().cast(REPAYMENTS_PARQUET), path, compression="zstd")
            self._count("repayments", out.height)

    def _bad_repayments(self, good: pl.DataFrame, ymd: str, n: int) -> None:
        day = self.days[self.bad_pay_day]
        case = good["case_id"][0] if good.height else self.case_ids[0]
        paid = f"{day:%Y-%m-%d} 10:15:00"
        before = f"PY{_date(self.d0 - 1):%Y%m%d}0000001"  # dated before any payment exists
        bad = [
            ("unknown_reversal", "reversal_of", before,
             [f"PY{ymd}{n + 1:07d}", case, paid, "120.00", "reversal", before, "app"]),
            ("out_of_range", "amount", "0.00",
             [f"PY{ymd}{n + 2:07d}", case, paid, "0.00", "payment", "", "bank_transfer"]),
            ("bad_type", "amount", "12.345",
             [f"PY{ymd}{n + 3:07d}", case, paid, "12.345", "payment", "", "app"]),
        ]
        self._write_with_bad("repayments", day, good, good.height, bad, seq=2)
