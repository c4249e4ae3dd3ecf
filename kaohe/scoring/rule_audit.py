"""``kaohe audit-config``: the appraisal's own configuration checked against regulation.

The rule pack is data (``config/regulatory_rules.yaml``): its ``sources`` name each text a rule
comes from (citation, dates, whether its wording was verified against the official text); each
rule has an id, a severity, its source(s), the date it binds from, whether it is verified, and one
of the checks below. An error makes the command exit non-zero, and ``kaohe run`` refuses the
configuration unless it is explicitly overridden (the override is recorded in
audit.config_overrides). ``load_pack`` refuses a malformed pack (an unknown check or source, a
rule without its date or verification, an unverified rule without a note).

The legal contact limits are read from ``contact_rules``; the centre's own cap on attempts
(``metrics.contact_cap_per_day``) is a house policy no rule reads. The house contact hours must
lie inside the legal hours.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import yaml

from kaohe.config import Config

RULE_PACK = Path(__file__).resolve().parents[2] / "config" / "regulatory_rules.yaml"
SEVERITIES = ("error", "warning")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # error | warning
    message: str  # the rule's message, its sources' short citation in brackets
    detail: str
    source: str  # citation(s), effective date, verification, and the rule's basis
    effective: str | None = None  # the date the rule binds from (None: undated)
    verified: bool = True  # false: the rule's wording was not checked against its official text


def _setting(cfg: Config, field: str) -> Any:
    """The value at a dotted path of the configuration (``contact_rules.legal_hours``)."""
    return reduce(getattr, field.split("."), cfg)


def _setting_at_most(cfg: Config, rule: dict) -> str | None:
    value = _setting(cfg, rule["field"])
    return f"{rule['field']} is {value} (limit {rule['limit']})" if value > rule["limit"] \
        else None


def _hours(cfg: Config, field: str) -> tuple[str, str]:
    if field == "metrics.contact_hours":  # the runtime metrics keep them as hours_start/_end
        return cfg.metrics.hours_start, cfg.metrics.hours_end
    hours = _setting(cfg, field)
    return hours.start, hours.end


def _contact_hours_within(cfg: Config, rule: dict) -> str | None:
    """Calls start no earlier than ``start`` and stop before ``end`` (times HH:MM:SS)."""
    field = rule.get("field", "metrics.contact_hours")
    start, end = _hours(cfg, field)
    if start < rule["start"] or end > rule["end"]:
        return f"{field} is {start}-{end} (bound {rule['start']}-{rule['end']})"
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
    "setting_at_most": _setting_at_most,
    "contact_hours_within": _contact_hours_within,
    "retention_at_least": _retention_at_least,
    "veto_list_includes": _veto_list_includes,
    "dimension_weight_at_least": _dimension_weight_at_least,
    "no_rule_rewards": _no_rule_rewards,
    "qa_threshold_at_most": _qa_threshold_at_most,
    "rule_target": _rule_target,
}


def load_pack(pack: Path = RULE_PACK) -> tuple[dict[str, dict], list[dict]]:
    """The pack's sources and rules, checked: a malformed pack is refused (ValueError)."""
    data = yaml.safe_load(pack.read_text(encoding="utf-8"))
    sources, rules = data.get("sources") or {}, data["rules"]
    problems = []
    for key, s in sources.items():
        for need in ("cite", "title", "effective", "verified"):
            if need not in s:
                problems.append(f"source {key}: no {need}")
        if s.get("effective") is not None and not _DATE.fullmatch(str(s["effective"])):
            problems.append(f"source {key}: effective {s['effective']!r} is not YYYY-MM-DD")
        if s.get("verified") is False and not s.get("note"):
            problems.append(f"source {key}: unverified without a note")
    ids = [r.get("id") for r in rules]
    problems += [f"rule {i}: id used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for r in rules:
        rid = r.get("id", "?")
        missing = [k for k in ("id", "severity", "source", "effective", "verified", "check",
                               "message") if k not in r]
        if missing:
            problems.append(f"rule {rid}: no {', '.join(missing)}")
            continue
        if r["severity"] not in SEVERITIES:
            problems.append(f"rule {rid}: severity {r['severity']!r} not in {SEVERITIES}")
        if r["check"] not in CHECKS:
            problems.append(f"rule {rid}: unknown check {r['check']!r}")
        unknown = [k for k in _keys(r) if k not in sources]
        if unknown:
            problems.append(f"rule {rid}: unknown source {', '.join(unknown)}")
        if r["effective"] is not None and not _DATE.fullmatch(str(r["effective"])):
            problems.append(f"rule {rid}: effective {r['effective']!r} is not YYYY-MM-DD")
        if r["verified"] is True and any(sources.get(k, {}).get("verified") is False
                                         for k in _keys(r)):
            problems.append(f"rule {rid}: verified, but a source of it is not")
        if r["verified"] is not True and not r.get("note"):
            problems.append(f"rule {rid}: unverified without a note saying what was not checked")
    if problems:
        raise ValueError(f"{pack}: " + "; ".join(problems))
    return sources, rules


def _keys(rule: dict) -> list[str]:
    return rule["source"] if isinstance(rule["source"], list) else [rule["source"]]


def _cite(sources: dict[str, dict], rule: dict) -> tuple[str, str]:
    """The rule's short citation (for the message) and its full source line."""
    keys = _keys(rule)
    short = "; ".join(sources[k]["cite"] for k in keys)
    parts = []
    for k in keys:
        s = sources[k]
        when = f", effective {s['effective']}" if s.get("effective") else ""
        parts.append(f"{s['cite']}{when}")
    line = "; ".join(parts)
    if not rule["verified"]:
        line += f" [NOT VERIFIED against the official text: {rule['note']}]"
    return short, f"{line}: {rule.get('basis', '')}".rstrip(": ")


def audit(cfg: Config, pack: Path = RULE_PACK) -> list[Finding]:
    """Every finding of the rule pack on this configuration (empty: compliant)."""
    sources, rules = load_pack(pack)
    findings = []
    for rule in rules:
        detail = CHECKS[rule["check"]](cfg, rule)
        if detail:
            short, line = _cite(sources, rule)
            findings.append(Finding(rule["id"], rule["severity"], f"{rule['message']} [{short}]",
                                    detail, line, rule["effective"], rule["verified"]))
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
