"""How well ``marts.gaming_signals`` finds the gaming planted by :mod:`kaohe.generate.gaming`:
per signal, precision and recall over the planted agents and the share of honest agent-months it
flags (tests/scoring/test_gaming_signals.py, benchmarks/gaming_signals.py).

Counting rules (docs/scorecard.md "Gaming signals"):
- an agent planted with a behaviour is a positive for its signal, and for the signals the
  behaviour implies: a case never dialled that pays is also a held case never attempted, and a
  case taken over just before its payment is usually one the new holder never dialled
  (``IMPLIED``); a flag there is not a false positive, a miss there is not counted against
  recall;
- the unit is the agent over the months planted (an agent is found when a signal is raised in
  any of them); honest agent-months are those of agents planted with nothing (nor named in the
  generator's manifest as harassers: their re-dials seconds apart are padding's signature too);
- only appraised agent-months count: signals are raised for appraised agents only;
- honest look-alikes (``kaohe.generate.gaming_lookalikes``) are honest agents; their months are
  also counted apart (``lookalike_months``, ``lookalike_flagged``), as that is where a signal
  is most likely to cry wolf.
"""

from __future__ import annotations

import duckdb

from kaohe.config.gaming import SIGNALS

# behaviour -> the other signals it legitimately raises as well
IMPLIED: dict[str, set[str]] = {
    "uncontacted_collections": {"unattempted_cases"},
    "late_reassignment": {"uncontacted_collections", "unattempted_cases"},
    "unattempted_cases": {"uncontacted_collections"},
}


def evaluate(con: duckdb.DuckDBPyConnection, gaming_agents: dict[str, list[str]],
             months: list[str], exclude: list[str] = (),
             lookalikes: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """Per signal: planted, flagged, true_positives, precision, recall, honest_months,
    honest_flagged, honest_flagged_share, lookalike_months, lookalike_flagged (precision/recall
    None when undefined)."""
    starts = [f"{m}-01" for m in months]
    flags = con.execute(
        "select signal, agent_id, month from marts.gaming_signals "
        "where month::varchar in (select unnest(?))", [starts]).fetchall()
    appraised = con.execute(
        "select agent_id, month from marts.agent_month_scorecard "
        "where grade <> 'NA' and month::varchar in (select unnest(?))", [starts]).fetchall()
    planted_any = {a for agents in gaming_agents.values() for a in agents} | set(exclude)
    honest_months = {(a, m) for a, m in appraised if a not in planted_any}
    alike = {a for agents in (lookalikes or {}).values() for a in agents}
    lookalike_months = {(a, m) for a, m in honest_months if a in alike}
    out = {}
    for signal in SIGNALS:
        positives = set(gaming_agents.get(signal, []))
        also = {a for b, agents in gaming_agents.items() if signal in IMPLIED.get(b, set())
                for a in agents} - positives
        flagged = {a for s, a, _ in flags if s == signal}
        tp = flagged & positives
        counted = flagged - also
        honest_flagged = {(a, m) for s, a, m in flags if s == signal} & honest_months
        out[signal] = {
            "planted": len(positives), "flagged": len(flagged), "true_positives": len(tp),
            "precision": round(len(tp) / len(counted), 3) if counted else None,
            "recall": round(len(tp) / len(positives), 3) if positives else None,
            "honest_months": len(honest_months), "honest_flagged": len(honest_flagged),
            "honest_flagged_share": round(len(honest_flagged) / len(honest_months), 4)
            if honest_months else None,
            "lookalike_months": len(lookalike_months),
            "lookalike_flagged": len(honest_flagged & lookalike_months),
        }
    return out
