"""Calibration is never more lenient on conduct (docs/scorecard.md, "Calibrating safely").

Two checks a proposed configuration must pass before ``kaohe calibrate`` writes it:

``loosened(base, proposed)``: every way the proposal would judge conduct more leniently than
the configuration it starts from. Looser means: a compliance rule removed, down-weighted, or
with a floor or target further from zero tolerance; a lighter compliance dimension; a lower
conduct-gate minimum or a better capped grade; a contact rule allowing more calls or longer hours;
a shorter veto list; a conduct alert removed, firing later (higher ``above`` or
``min_evidence``), of a lower severity or no longer escalating; a higher QA confidence threshold;
the team managers' rule on conduct alerts removed, lighter or more lenient.

``paid_despite_conduct(rows)``: the agents of a what-if (kaohe.scoring.whatif) who would earn
variable pay although vetoed or conduct-gated, before (as published) or after (as re-scored).
Read with the what-if of every month calibrated on, it is the proof that the proposal pays no
harasser.
"""

from __future__ import annotations

import polars as pl

from kaohe.config import Config

SEVERITY = {"low": 0, "medium": 1, "high": 2}
GRADES = ("S", "A", "B", "C", "D")


def _farther(direction: str, old: float, new: float) -> bool:
    """Whether ``new`` is more lenient than ``old`` for a rule of ``direction``."""
    return new > old + 1e-12 if direction == "lower" else new < old - 1e-12


def loosened(base: Config, proposed: Config) -> list[str]:
    out = []
    bw, pw = base.scorecard.weights, proposed.scorecard.weights
    if pw.get("compliance", 0) < bw.get("compliance", 0) - 1e-12:
        out.append(f"the compliance weight falls from {bw['compliance']:g} to "
                   f"{pw.get('compliance', 0):g}")
    new_rules = {r.metric: r for r in proposed.scorecard.rules if r.dimension == "compliance"}
    for old in (r for r in base.scorecard.rules if r.dimension == "compliance"):
        new = new_rules.get(old.metric)
        if new is None:
            out.append(f"compliance rule {old.metric} is removed")
            continue
        if new.weight < old.weight - 1e-12:
            out.append(f"compliance rule {old.metric}: weight {old.weight:g} -> {new.weight:g}")
        for part in ("floor", "target"):
            if _farther(old.direction, getattr(old, part), getattr(new, part)):
                out.append(f"compliance rule {old.metric}: {part} {getattr(old, part):g} -> "
                           f"{getattr(new, part):g} (more lenient)")
    bg, pg = base.conduct_gate, proposed.conduct_gate
    if pg.min_compliance_score < bg.min_compliance_score:
        out.append(f"conduct_gate.min_compliance_score {bg.min_compliance_score:g} -> "
                   f"{pg.min_compliance_score:g}")
    if GRADES.index(pg.max_grade) < GRADES.index(bg.max_grade):
        out.append(f"conduct_gate.max_grade {bg.max_grade} -> {pg.max_grade}")
    bc, pc = base.contact_rules, proposed.contact_rules
    for name in ("answered_per_debtor_day", "unanswered_per_number_day"):
        if getattr(pc, name) > getattr(bc, name):
            out.append(f"contact_rules.{name} {getattr(bc, name)} -> {getattr(pc, name)}")
    if (pc.legal_hours.start < bc.legal_hours.start or pc.legal_hours.end > bc.legal_hours.end):
        out.append("contact_rules.legal_hours are wider")
    dropped = set(base.scorecard.veto_violation_types) - set(
        proposed.scorecard.veto_violation_types)
    if dropped:
        out.append("the veto list drops " + ", ".join(sorted(dropped)))
    alerts = {(a.measure, a.severity): a for a in proposed.conduct.rules}
    for old in base.conduct.rules:
        new = alerts.get((old.measure, old.severity)) or next(
            (a for a in proposed.conduct.rules if a.measure == old.measure), None)
        if new is None:
            out.append(f"conduct alert {old.measure} is removed")
        elif (new.above > old.above or new.min_evidence > old.min_evidence
              or SEVERITY[new.severity] < SEVERITY[old.severity]
              or (old.escalates and not new.escalates)):
            out.append(f"conduct alert {old.measure} fires later or lower")
    # the team managers' rule on conduct alerts: a manager is not paid for looking away
    team = {r.measure: r for r in proposed.team_scorecard.rules}
    for old in (r for r in base.team_scorecard.rules if r.measure == "conduct_alerts_per_agent"):
        new = team.get(old.measure)
        if new is None or new.weight < old.weight - 1e-12 or any(
                _farther(old.direction, getattr(old, p), getattr(new, p))
                for p in ("floor", "target")):
            out.append("the team rule on conduct_alerts_per_agent is removed, lighter or more "
                       "lenient")
    if proposed.conduct.escalate_after_months > base.conduct.escalate_after_months:
        out.append("conduct alerts escalate later")
    old_qa, new_qa = (base.metrics.qa_confidence_threshold,
                      proposed.metrics.qa_confidence_threshold)
    if new_qa > old_qa:
        out.append(f"metrics.qa_confidence_threshold {old_qa:g} -> {new_qa:g} (fewer calls "
                   "flagged)")
    return out


def paid_despite_conduct(rows: pl.DataFrame) -> pl.DataFrame:
    """The what-if rows of agents vetoed or conduct-gated (before or after) who would earn
    variable pay under the proposal."""
    return rows.filter(
        (pl.col("conduct_held_before").fill_null(False) | pl.col("conduct_held_after"
                                                                 ).fill_null(False))
        & (pl.col("variable_pay_after").fill_null(0) > 0))
