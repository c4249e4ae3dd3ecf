"""``kaohe audit-config``: the appraisal's own configuration checked against regulation.

The rule pack is data (``config/regulatory_rules.yaml``): each rule has an id, a severity, the
source it comes from and one of the checks below. An error makes the command exit non-zero, and
``kaohe run`` refuses the configuration unless it is explicitly overridden (the override is
recorded in audit.config_overrides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from kaohe.config import Config

RULE_PACK = Path(__file__).resolve().parents[2] / "config" / "regulatory_rules.yaml"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # error | warning
    message: str
    detail: str
    source: str


def _contact_cap_at_most(cfg: Config, rule: dict) -> str | None:
    cap = cfg.metrics.contact_cap_per_day
    return f"contact_cap_per_day is {cap}" if cap > rule["limit"] else None


def _contact_hours_within(cfg: Config, rule: dict) -> str | None:
    m = cfg.metrics
    if m.hours_start < rule["start"] or m.hours_end > rule["end"]:
        return f"contact hours are {m.hours_start}-{m.hours_end}"
    return None


def _retention_at_least(cfg: Config, rule: dict) -> str | None:
    days = cfg.retention_days
    return f"retention.raw_days is {days}" if days < rule["days"] else None


def _veto_list_includes(cfg: Config, rule: dict) -> str | None:
    missing = [t for t in rule["types"] if t not in cfg.scorecard.veto_violation_types]
    return f"missing from scorecard.veto_violation_types: {', '.join(missing)}" if missing \
        else None


def _dimension_weight_at_least(cfg: Config, rule: dict) -> str | None:
    weight = cfg.scorecard.weights[rule["dimension"]]
    return f"{rule['dimension']} weighs {weight:.0%}" if weight < rule["weight"] else None


def _no_rule_rewards(cfg: Config, rule: dict) -> str | None:
    bad = [f"{r.dimension}: {r.metric} ({r.direction} is better)" for r in cfg.scorecard.rules
           if r.metric in rule["metrics"] and r.direction == "higher"
           and (r.weight > 0 or r.high_risk_weight > 0)]
    return "; ".join(bad) or None


def _qa_threshold_at_most(cfg: Config, rule: dict) -> str | None:
    t = cfg.metrics.qa_confidence_threshold
    return f"qa_confidence_threshold is {t}" if t > rule["limit"] else None


def _rule_target(cfg: Config, rule: dict) -> str | None:
    found = [r for r in cfg.scorecard.rules if r.metric == rule["metric"]]
    off = [r for r in found if r.target != rule["target"]]
    if not found:
        return f"no scoring rule on {rule['metric']}"
    return f"{rule['metric']} targets {off[0].target}" if off else None


def _no_rule_on(cfg: Config, rule: dict) -> str | None:
    """A scoring rule on a raw amount or volume, in either direction, appraises by amount."""
    bad = [f"{r.dimension}: {r.metric}" for r in cfg.scorecard.rules
           if r.metric in rule["metrics"] and (r.weight > 0 or r.high_risk_weight > 0)]
    return "; ".join(bad) or None


def _rules_scored(cfg: Config, rule: dict) -> str | None:
    """Each essential compliance measure has a scoring rule with a weight (any of its forms)."""
    missing = []
    for need in rule["measures"]:
        names = need if isinstance(need, list) else [need]
        if not any(r.metric in names and r.dimension == "compliance" and r.weight > 0
                   for r in cfg.scorecard.rules):
            missing.append(" or ".join(names))
    return f"unscored or at weight 0: {', '.join(missing)}" if missing else None


def _floor_at_most(cfg: Config, rule: dict) -> str | None:
    """A lower-is-better compliance rule scores 0 no later than the regulatory limit."""
    bad = [f"{r.metric} floor {r.floor:g} > {rule['limits'][r.metric]:g}"
           for r in cfg.scorecard.rules
           if r.metric in rule["limits"] and r.direction == "lower"
           and (r.floor > rule["limits"][r.metric] or r.target > r.floor)]
    return "; ".join(bad) or None


def _share_at_least(cfg: Config, rule: dict) -> str | None:
    share = getattr(cfg.pay, rule["field"])
    return f"pay.{rule['field']} is {share:g}" if share < rule["minimum"] else None


def _no_pay_for(cfg: Config, rule: dict) -> str | None:
    paid = [f"{g} {cfg.pay.payout_factors.get(g, 0):g}" for g in rule["grades"]
            if cfg.pay.payout_factors.get(g, 0) > 0]
    return f"payout factor {', '.join(paid)}" if paid else None


CHECKS: dict[str, Callable[[Config, dict], str | None]] = {
    "no_rule_on": _no_rule_on,
    "rules_scored": _rules_scored,
    "floor_at_most": _floor_at_most,
    "share_at_least": _share_at_least,
    "no_pay_for": _no_pay_for,
    "contact_cap_at_most": _contact_cap_at_most,
    "contact_hours_within": _contact_hours_within,
    "retention_at_least": _retention_at_least,
    "veto_list_includes": _veto_list_includes,
    "dimension_weight_at_least": _dimension_weight_at_least,
    "no_rule_rewards": _no_rule_rewards,
    "qa_threshold_at_most": _qa_threshold_at_most,
    "rule_target": _rule_target,
}


def audit(cfg: Config, pack: Path = RULE_PACK) -> list[Finding]:
    """Every finding of the rule pack on this configuration (empty: compliant)."""
    rules = yaml.safe_load(pack.read_text(encoding="utf-8"))["rules"]
    findings = []
    for rule in rules:
        detail = CHECKS[rule["check"]](cfg, rule)
        if detail:
            findings.append(Finding(rule["id"], rule["severity"], rule["message"], detail,
                                    rule["source"]))
    return findings


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def history_findings(published: Path, cfg: Config, months: int = 12,
                     full_marks_share: float = 0.8) -> list[Finding]:
    """With a history: a rule that would give full marks to more than ``full_marks_share`` of
    the appraised agent-months of the last ``months`` published months measures nothing (a
    floor and target both looser than what the centre does anyway)."""
    import duckdb
    import polars as pl

    from kaohe.scoring.history import scoring_history
    from kaohe.scoring.scorecard import score

    con = duckdb.connect(str(published), read_only=True)
    try:
        done = [m.strftime("%Y-%m") for (m,) in con.execute(
            "select distinct month from marts.agent_month_scorecard order by month desc "
            "limit ?", [months]).fetchall()]
    finally:
        con.close()
    if not done:
        return []
    scored = score(scoring_history(published, sorted(done), cfg), cfg)
    points = scored.select("rule_points").explode("rule_points").unnest("rule_points").filter(
        pl.col("weight") > 0)
    out = []
    for (dim, metric), group in points.group_by(["dimension", "metric"], maintain_order=True):
        share = float((group["points"] >= 100).mean())
        if share > full_marks_share:
            out.append(Finding(
                "full-marks", "warning",
                f"a scoring rule gives full marks to more than {full_marks_share:.0%} of the "
                "appraised agent-months: it measures nothing",
                f"{dim}: {metric} full marks for {share:.0%} of {group.height} agent-months "
                f"({min(done)}..{max(done)})",
                "kaohe rule pack: a rule must separate good from poor practice"))
    return out
