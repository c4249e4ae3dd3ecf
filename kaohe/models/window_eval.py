"""The honest evaluation of the contact windows (docs/contact-windows.md, "Does it work?"): on the
next month, do the windows a month's estimate ranks best (marts.contact_windows, ``window_rank``)
reach debtors better than the hours the agents chose themselves?

For month M+1, every legal attempt (intermediate.window_attempts) falls in a stratum: its agent,
its debtor segment and its kind of day. Within a stratum the agent, the segment and the shift
pattern of that kind of day are the same on both sides, so what differs is the hour (call hours
are confounded with schedules: the agents who work the evening shift are not those of the
morning, and a skilled agent's hours would look good whatever the hour). Per stratum s:

- the agents' own hour mix reached ``O_s`` (its right-party contacts);
- placed in the top-k windows of M's estimate for its segment and day kind, the stratum's
  attempts would have reached ``E_s x O_top,s / E_top,s``: the contacts per expected contact in
  the stratum's attempts that were in those windows, applied to all its expected contacts.
  Expected contacts (intermediate.window_attempts: the centre's rate for the attempt's order in
  the debtor's day and its bucket) make the two sides comparable: a dialler stops once a debtor
  is reached, so an attempt in an early hour is more often the day's first.

uplift = sum over strata of the second / sum of the first - 1 (strata with an attempt in a top
window; the others cannot say). ``raw`` does the same with attempts in place of expected
contacts. The interval: a bootstrap over agents (each agent's strata resampled together), the
percentile interval. Data work in Polars and numpy; no loop over rows.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import polars as pl

from kaohe.config import Config
from kaohe.months import month_bounds

STRATUM = ("agent_id", "segment", "day_kind")
WINDOW = ("segment", "day_kind", "hour")


def window_counts(con: duckdb.DuckDBPyConnection, cfg: Config, month: str | date
                  ) -> pl.DataFrame:
    """The month's legal attempts per (agent, segment, day kind, hour): attempts, contacts,
    expected contacts (intermediate.window_attempts)."""
    start, end, _ = month_bounds(month)
    rules = cfg.contact_rules.legal_hours
    return con.sql(
        "select agent_id, segment, day_kind, hour, count(*) as attempts, "
        "sum(contact)::double as contacts, sum(expected) as expected "
        "from intermediate.window_attempts($s::date, $e::date, $a, $b) group by all",
        params={"s": start, "e": end, "a": str(rules.start), "b": str(rules.end)}).pl()


def top_windows(con: duckdb.DuckDBPyConnection, month: str | date, k: int) -> pl.DataFrame:
    """The k best windows of each segment and day kind by the month's shrunk estimate."""
    start, _, _ = month_bounds(month)
    return con.sql(
        "select segment, day_kind, hour from marts.contact_windows where month = $m and "
        "window_rank <= $k", params={"m": start, "k": k}).pl()


def curve_top_windows(curves: dict, hours: list[int], k: int) -> pl.DataFrame:
    """The k best windows of each segment and day kind by a curve ({segment: {day_kind:
    [multiplier per hour]}}, the generator's manifest): the oracle for the benchmark."""
    frame = pl.DataFrame([{"segment": s, "day_kind": dk, "hour": h, "m": m}
                          for s, kinds in curves.items() for dk, values in kinds.items()
                          for h, m in zip(hours, values, strict=True)])
    return (frame.with_columns(pl.col("m").rank("ordinal", descending=True)
                               .over("segment", "day_kind").alias("r"))
            .filter(pl.col("r") <= k).select(*WINDOW))


def _per_agent(counts: pl.DataFrame, top: pl.DataFrame, weight: str) -> pl.DataFrame:
    """Per agent: the contacts made (``made``) and the contacts the same attempts would have
    made in the top windows (``top``), over the strata with an attempt in a top window."""
    flagged = counts.join(top.with_columns(pl.lit(True).alias("in_top")), on=list(WINDOW),
                          how="left").with_columns(pl.col("in_top").fill_null(False))
    strata = flagged.group_by(STRATUM).agg(
        pl.col("contacts").sum().alias("made"),
        pl.col(weight).sum().alias("w_all"),
        pl.col("contacts").filter(pl.col("in_top")).sum().alias("made_top"),
        pl.col(weight).filter(pl.col("in_top")).sum().alias("w_top"),
        pl.col("attempts").sum().alias("attempts"),
        pl.col("attempts").filter(pl.col("in_top")).sum().alias("attempts_top"),
    ).filter(pl.col("w_top") > 0)
    return strata.group_by("agent_id").agg(
        pl.col("made").sum(),
        (pl.col("w_all") * pl.col("made_top") / pl.col("w_top")).sum().alias("top"),
        pl.col("attempts").sum(), pl.col("attempts_top").sum(),
    ).sort("agent_id")


def evaluate(counts: pl.DataFrame, top: pl.DataFrame, reps: int = 2000, seed: int = 0,
             level: float = 0.95) -> dict:
    """The uplift of placing the next month's attempts in ``top`` windows over the agents' own
    hour mix (``counts``: :func:`window_counts` of the next month), adjusted (expected contacts)
    and raw (attempts), each with its bootstrap interval over agents."""
    out: dict = {"agents": 0, "reps": reps, "level": level}
    total = int(counts["attempts"].sum()) if counts.height else 0
    for name, weight in (("adjusted", "expected"), ("raw", "attempts")):
        agents = _per_agent(counts, top, weight)
        if agents.height == 0 or agents["made"].sum() == 0:
            out[name] = {"uplift": None, "low": None, "high": None}
            continue
        made, moved = agents["made"].to_numpy(), agents["top"].to_numpy()
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(len(made), np.full(len(made), 1 / len(made)), size=reps)
        boot = (draws @ moved) / np.maximum(draws @ made, 1e-12) - 1
        tail = (1 - level) / 2
        out[name] = {"uplift": round(float(moved.sum() / made.sum() - 1), 4),
                     "low": round(float(np.quantile(boot, tail)), 4),
                     "high": round(float(np.quantile(boot, 1 - tail)), 4)}
        if name == "adjusted":
            attempts = int(agents["attempts"].sum())
            out.update(
                agents=agents.height,
                attempts_compared=attempts,
                share_of_attempts=round(attempts / total, 4) if total else None,
                share_already_in_top=round(int(agents["attempts_top"].sum()) / attempts, 4),
                rpc_own_mix=round(float(made.sum()) / attempts, 4),
                rpc_in_top=round(float(moved.sum()) / attempts, 4))
    return out
