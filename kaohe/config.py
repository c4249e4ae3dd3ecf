"""The operator's configuration (``config/kaohe.yaml`` or ``--config``), validated at load.

Errors name the file, the key and what is wrong. The configuration's hash is stored with every
result it produced, so a month can be reproduced under the rules it was built with.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "kaohe.yaml"
BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6", "M6+")
QA_LABELS = ("threat", "abuse", "insult", "privacy_disclosure", "false_promise", "empathy")
TICKET_TYPES = ("legal_signoff", "fee_waiver", "restructuring_approval")
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$")


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message says where and why."""


@dataclass(frozen=True)
class MetricsConfig:
    bucket_weights: dict[str, float]
    contact_cap_per_day: int
    hours_start: str
    hours_end: str
    effective_call_min_s: int
    qa_flag_labels: tuple[str, ...]
    qa_confidence_threshold: float
    high_risk_score: int
    min_tenure_months_for_high_risk: int
    ticket_sla_hours: dict[str, float]


DIMENSIONS = ("compliance", "recovery", "satisfaction", "skill")
GRADES = ("S", "A", "B", "C")
LEVELS = ("L1", "L2", "L3", "L4")
VIOLATION_TYPES = ("private_collection_of_funds", "falsified_repayment_record",
                   "violent_collection", "privacy_breach", "unauthorized_disclosure", "other")
INDUSTRIES = ("foreign_trade", "pharma_distribution", "manufacturing", "retail", "construction",
              "it", "other")
# What a scoring rule may score: the metric dictionary's columns plus the scorecard's derived ones.
SCORABLE = {
    "recovery_vs_target", "recovery_rate", "ptp_kept_rate", "rpc_rate",
    "restructuring_success_rate", "over_cap_rate", "off_hours_rate", "complaints_per_1k_cases",
    "threat_ratio", "privacy_incidents", "csat_avg", "mandatory_pass_rate", "simulation_score",
    "cost_per_case", "field_visit_share", "relief_rate", "call_attempts", "connected_calls",
    "talk_time_s", "effective_calls", "over_cap_calls", "off_hours_calls", "cases_handled",
    "ptp_made", "complaints", "qa_flagged_calls", "collected", "credited_collections",
    # version 2: what the agent held and did (fair variants)
    "exposure_recovery_rate", "ptp_kept_rate_adjusted", "own_over_cap_rate",
    "own_over_cap_calls", "suspected_privacy_calls", "ptp_neutralised",
}


@dataclass(frozen=True)
class ScoringRule:
    dimension: str
    metric: str
    floor: float
    target: float
    direction: str
    weight: float
    high_risk_weight: float = 0.0


@dataclass(frozen=True)
class ScorecardConfig:
    weights: dict[str, float]
    missing_dimension: str
    rules: tuple[ScoringRule, ...]
    grades: dict[str, float]
    veto_violation_types: tuple[str, ...]


@dataclass(frozen=True)
class TargetsConfig:
    base_recovery_rate: float
    prosperity_elasticity: float
    unemployment_baseline: float
    unemployment_sensitivity: float
    dso_reference_days: float
    dso_elasticity: float
    high_risk_industries: tuple[str, ...]
    high_risk_target_factor: float
    bucket_recoverability: dict[str, float]


@dataclass(frozen=True)
class PayConfig:
    variable_share: float
    deferred_share: float
    payout_factors: dict[str, float]


@dataclass(frozen=True)
class PromotionRule:
    from_level: str
    to_level: str
    min_composite: float
    months: int
    requires_expertise: bool


@dataclass(frozen=True)
class GradingConfig:
    """Grades by absolute bands (scorecard.grades) or by a target distribution (强制分布)."""
    mode: str = "bands"
    scope: str = "centre"
    distribution: tuple[tuple[str, float], ...] = (("S", 5.0), ("A", 15.0), ("B", 30.0),
                                                   ("C", 35.0), ("D", 15.0))
    min_group_size: int = 10


# What a conduct alert may watch: the agent's own behaviour in the month.
ALERT_MEASURES = ("own_over_cap_rate", "off_hours_rate", "threat_ratio",
                  "substantiated_complaints", "suspected_privacy_calls", "mandatory_not_passed")


@dataclass(frozen=True)
class AlertRule:
    measure: str
    above: float           # fires when the measure is strictly above this
    severity: str          # low | medium | high (before escalation)


@dataclass(frozen=True)
class ConductConfig:
    """Conduct alerts: the compliance officer's review queue (not a veto)."""
    rules: tuple[AlertRule, ...] = (
        AlertRule("own_over_cap_rate", 0.05, "medium"),
        AlertRule("off_hours_rate", 0.02, "medium"),
        AlertRule("threat_ratio", 0.03, "medium"),
        AlertRule("substantiated_complaints", 1, "medium"),
        AlertRule("suspected_privacy_calls", 0, "medium"),
        AlertRule("mandatory_not_passed", 0, "low"),
    )
    escalate_after_months: int = 2


@dataclass(frozen=True)
class AppraisalConfig:
    """Who is appraised in a month: worked enough of it to be judged."""
    min_active_days: int = 15
    min_cases_handled: int = 10


@dataclass(frozen=True)
class ExpertiseConfig:
    m6plus_min_assignments: int
    restructuring_min_completed: int


@dataclass(frozen=True)
class Config:
    path: Path
    version: str
    hash: str
    timezone: str
    metrics: MetricsConfig
    raw: dict[str, Any]
    scorecard: ScorecardConfig | None = None
    targets: TargetsConfig | None = None
    pay: PayConfig | None = None
    promotion: tuple[PromotionRule, ...] = ()
    expertise: ExpertiseConfig | None = None
    retention_days: int = 730
    appraisal: AppraisalConfig = AppraisalConfig()
    grading: GradingConfig = GradingConfig()
    conduct: ConductConfig = ConductConfig()

    @property
    def config_version(self) -> str:
        """What results record: the declared version and the content hash."""
        return f"{self.version}+{self.hash[:12]}"


class _Reader:
    def __init__(self, path: Path, data: Any):
        self.path = path
        self.data = data

    def fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {what}")

    def get(self, key: str) -> Any:
        node = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise self.fail(key, "missing")
            node = node[part]
        return node

    def number(self, key: str, lo: float | None = None, hi: float | None = None,
               integer: bool = False) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                integer and not isinstance(value, int)):
            raise self.fail(key, f"must be {'a whole number' if integer else 'a number'}, "
                            f"not {value!r}")
        if lo is not None and value < lo:
            raise self.fail(key, f"must be >= {lo}, not {value}")
        if hi is not None and value > hi:
            raise self.fail(key, f"must be <= {hi}, not {value}")
        return value

    def time(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not TIME.match(value):
            raise self.fail(key, f"must be a time HH:MM:SS, not {value!r}")
        return value


def load_config(path: Path | str | None = None) -> Config:
    """Load and validate the configuration (the shipped default when ``path`` is None)."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of sections")
    r = _Reader(path, data)
    weights = r.get("metrics.bucket_weights")
    if not isinstance(weights, dict) or set(weights) != set(BUCKETS):
        raise r.fail("metrics.bucket_weights", f"must give a weight for each of {BUCKETS}")
    for bucket in BUCKETS:
        r.number(f"metrics.bucket_weights.{bucket}", lo=0, hi=10)
    labels = r.get("metrics.qa_flag_labels")
    if not isinstance(labels, list) or not labels or not set(labels) <= set(QA_LABELS):
        raise r.fail("metrics.qa_flag_labels", f"must be a non-empty list of {QA_LABELS}")
    sla = r.get("metrics.ticket_sla_hours")
    if not isinstance(sla, dict) or set(sla) != set(TICKET_TYPES):
        raise r.fail("metrics.ticket_sla_hours", f"must give hours for each of {TICKET_TYPES}")
    for t in TICKET_TYPES:
        r.number(f"metrics.ticket_sla_hours.{t}", lo=0)
    hours_start = r.time("metrics.contact_hours.start")
    hours_end = r.time("metrics.contact_hours.end")
    if hours_start >= hours_end:
        raise r.fail("metrics.contact_hours", "start must be before end")
    metrics = MetricsConfig(
        bucket_weights={b: float(weights[b]) for b in BUCKETS},
        contact_cap_per_day=int(r.number("metrics.contact_cap_per_day", lo=1, integer=True)),
        hours_start=hours_start,
        hours_end=hours_end,
        effective_call_min_s=int(r.number("metrics.effective_call_min_s", lo=0, integer=True)),
        qa_flag_labels=tuple(labels),
        qa_confidence_threshold=float(r.number("metrics.qa_confidence_threshold", lo=0, hi=1)),
        high_risk_score=int(r.number("metrics.high_risk_score", lo=0, hi=1000, integer=True)),
        min_tenure_months_for_high_risk=int(
            r.number("metrics.min_tenure_months_for_high_risk", lo=0, integer=True)),
        ticket_sla_hours={t: float(sla[t]) for t in TICKET_TYPES},
    )
    return Config(
        path=path,
        version=str(r.get("version")),
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        timezone=str(data.get("timezone", "Asia/Shanghai")),
        metrics=metrics,
        raw=data,
        scorecard=_scorecard(r),
        targets=_targets(r),
        pay=_pay(r),
        promotion=_promotion(r),
        expertise=ExpertiseConfig(
            m6plus_min_assignments=int(r.number("expertise.m6plus_min_assignments", lo=0,
                                                integer=True)),
            restructuring_min_completed=int(r.number("expertise.restructuring_min_completed",
                                                     lo=0, integer=True)),
        ),
        retention_days=int(r.number("retention.raw_days", lo=1, integer=True)),
        appraisal=_appraisal(r),
        grading=_grading(r),
        conduct=_conduct(r),
    )


def _conduct(r: _Reader) -> ConductConfig:
    """Optional section (version 2): the shipped thresholds when a configuration has none."""
    if "conduct_alerts" not in r.data:
        return ConductConfig()
    section = r.get("conduct_alerts")
    if not isinstance(section, dict) or set(section) - {"rules", "escalate_after_months"}:
        raise r.fail("conduct_alerts", "must be a mapping of rules and escalate_after_months")
    items = r.get("conduct_alerts.rules")
    if not isinstance(items, list) or not items:
        raise r.fail("conduct_alerts.rules", "must be a non-empty list")
    rules = []
    for i, item in enumerate(items):
        key = f"conduct_alerts.rules[{i}]"
        if not isinstance(item, dict) or set(item) - {"measure", "above", "severity"}:
            raise r.fail(key, "must be a mapping of measure, above, severity")
        if item.get("measure") not in ALERT_MEASURES:
            raise r.fail(f"{key}.measure", f"must be one of {', '.join(ALERT_MEASURES)}")
        above = item.get("above")
        if isinstance(above, bool) or not isinstance(above, int | float) or above < 0:
            raise r.fail(f"{key}.above", "must be a number >= 0")
        if item.get("severity") not in ("low", "medium", "high"):
            raise r.fail(f"{key}.severity", "must be low, medium or high")
        rules.append(AlertRule(item["measure"], float(above), item["severity"]))
    months = section.get("escalate_after_months", 2)
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 12:
        raise r.fail("conduct_alerts.escalate_after_months", "must be a whole number 1..12")
    return ConductConfig(tuple(rules), months)


def _grading(r: _Reader) -> GradingConfig:
    """Optional section (version 2): bands unless it says otherwise."""
    if "grading" not in r.data:
        return GradingConfig()
    mode = r.get("grading.mode")
    if mode not in ("bands", "distribution"):
        raise r.fail("grading.mode", f"must be bands or distribution, not {mode!r}")
    scope = r.data["grading"].get("scope", "centre")
    if scope not in ("centre", "team"):
        raise r.fail("grading.scope", f"must be centre or team, not {scope!r}")
    default = GradingConfig()
    dist = r.data["grading"].get("distribution", dict(default.distribution))
    grades = ("S", "A", "B", "C", "D")
    if not isinstance(dist, dict) or set(dist) != set(grades):
        raise r.fail("grading.distribution", f"must give a percentage for each of {grades}")
    if "distribution" in r.data["grading"]:
        for g in grades:
            r.number(f"grading.distribution.{g}", lo=0, hi=100)
    if abs(sum(float(v) for v in dist.values()) - 100) > 1e-6:
        raise r.fail("grading.distribution", "percentages must sum to 100")
    unknown = set(r.data["grading"]) - {"mode", "scope", "distribution", "min_group_size"}
    if unknown:
        raise r.fail(f"grading.{sorted(unknown)[0]}", "unknown key")
    size = r.data["grading"].get("min_group_size", default.min_group_size)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise r.fail("grading.min_group_size", "must be a whole number >= 1")
    return GradingConfig(mode, scope, tuple((g, float(dist[g])) for g in grades), size)


def _appraisal(r: _Reader) -> AppraisalConfig:
    """Optional section (version 2): its defaults when a configuration has none."""
    if "appraisal" not in r.data:
        return AppraisalConfig()
    return AppraisalConfig(
        min_active_days=int(r.number("appraisal.min_active_days", lo=0, hi=31, integer=True)),
        min_cases_handled=int(r.number("appraisal.min_cases_handled", lo=0, integer=True)),
    )


def _mapping(r: _Reader, key: str, keys: tuple[str, ...], lo: float | None = None,
             hi: float | None = None) -> dict[str, float]:
    value = r.get(key)
    if not isinstance(value, dict) or set(value) != set(keys):
        raise r.fail(key, f"must give exactly {', '.join(keys)}")
    return {k: float(r.number(f"{key}.{k}", lo=lo, hi=hi)) for k in keys}


def _choices(r: _Reader, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    value = r.get(key)
    if not isinstance(value, list) or any(v not in allowed for v in value):
        raise r.fail(key, f"must be a list of {', '.join(allowed)}")
    return tuple(value)


def _scorecard(r: _Reader) -> ScorecardConfig:
    weights = _mapping(r, "scorecard.weights", DIMENSIONS, lo=0, hi=1)
    if abs(sum(weights.values()) - 1.0) > 1e-9:
        raise r.fail("scorecard.weights", f"must sum to 1, not {sum(weights.values()):g}")
    missing = r.get("scorecard.missing_dimension")
    if missing not in ("reweight", "zero"):
        raise r.fail("scorecard.missing_dimension", "must be reweight or zero")
    rules = []
    for dim in DIMENSIONS:
        items = r.get(f"scorecard.rules.{dim}")
        if not isinstance(items, list) or not items:
            raise r.fail(f"scorecard.rules.{dim}", "must be a non-empty list of rules")
        for i, item in enumerate(items):
            key = f"scorecard.rules.{dim}[{i}]"
            sub = _Reader(r.path, item)
            sub.fail = lambda k, what, key=key: ConfigError(f"{r.path}: {key}.{k}: {what}")
            metric = sub.get("metric")
            if metric not in SCORABLE:
                raise sub.fail("metric", f"{metric!r} is not a metric kaohe can score")
            direction = sub.get("direction")
            if direction not in ("higher", "lower"):
                raise sub.fail("direction", "must be higher or lower")
            floor, target = sub.number("floor"), sub.number("target")
            if floor == target or (direction == "higher") != (target > floor):
                raise sub.fail("target", f"must be {'above' if direction == 'higher' else 'below'}"
                               f" the floor ({floor}) for direction {direction}")
            high_risk = sub.number("high_risk_weight", lo=0) if "high_risk_weight" in item \
                else 0.0
            rules.append(ScoringRule(dim, metric, float(floor), float(target), direction,
                                     float(sub.number("weight", lo=0)), float(high_risk)))
        if not any(rule.weight > 0 or rule.high_risk_weight > 0
                   for rule in rules if rule.dimension == dim):
            raise r.fail(f"scorecard.rules.{dim}", "needs at least one rule with a weight")
    grades = _mapping(r, "scorecard.grades", GRADES, lo=0, hi=100)
    bands = [grades[g] for g in GRADES]
    if bands != sorted(bands, reverse=True) or len(set(bands)) != len(bands):
        raise r.fail("scorecard.grades", "bands must fall strictly from S to C")
    return ScorecardConfig(weights, missing, tuple(rules), grades,
                           _choices(r, "scorecard.veto_violation_types", VIOLATION_TYPES))


def _targets(r: _Reader) -> TargetsConfig:
    n = r.number
    return TargetsConfig(
        base_recovery_rate=float(n("targets.base_recovery_rate", lo=0.001, hi=1)),
        prosperity_elasticity=float(n("targets.prosperity_elasticity", lo=0, hi=5)),
        unemployment_baseline=float(n("targets.unemployment_baseline", lo=0, hi=100)),
        unemployment_sensitivity=float(n("targets.unemployment_sensitivity", lo=0, hi=1)),
        dso_reference_days=float(n("targets.dso_reference_days", lo=1)),
        dso_elasticity=float(n("targets.dso_elasticity", lo=0, hi=5)),
        high_risk_industries=_choices(r, "targets.high_risk_industries", INDUSTRIES),
        high_risk_target_factor=float(n("targets.high_risk_target_factor", lo=0.01, hi=2)),
        bucket_recoverability=_mapping(r, "targets.bucket_recoverability", BUCKETS, lo=0.01,
                                       hi=10),
    )


def _pay(r: _Reader) -> PayConfig:
    return PayConfig(
        variable_share=float(r.number("pay.variable_share", lo=0, hi=0.95)),
        deferred_share=float(r.number("pay.deferred_share", lo=0, hi=1)),
        payout_factors=_mapping(r, "pay.payout_factors", (*GRADES, "D", "VETO"), lo=0, hi=5),
    )


def _promotion(r: _Reader) -> tuple[PromotionRule, ...]:
    items = r.get("promotion")
    if not isinstance(items, list):
        raise r.fail("promotion", "must be a list of rules")
    rules = []
    for i, item in enumerate(items):
        key = f"promotion[{i}]"
        if not isinstance(item, dict):
            raise r.fail(key, "must be a mapping")
        if item.get("from") not in LEVELS or item.get("to") not in LEVELS or \
                LEVELS.index(item["to"]) != LEVELS.index(item["from"]) + 1:
            raise r.fail(key, "from/to must be consecutive levels L1..L4")
        months = item.get("months")
        if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 36:
            raise r.fail(f"{key}.months", "must be a whole number of months from 1 to 36")
        score = item.get("min_composite")
        if not isinstance(score, int | float) or not 0 <= score <= 100:
            raise r.fail(f"{key}.min_composite", "must be a score from 0 to 100")
        rules.append(PromotionRule(item["from"], item["to"], float(score), months,
                                   bool(item.get("requires_expertise", False))))
    return tuple(rules)
