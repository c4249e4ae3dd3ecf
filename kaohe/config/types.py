"""The configuration's vocabulary and the frozen values the code reads (kaohe.config loads
them): the buckets, dimensions, grades and measures a rule may name, ``ConfigError``, and one
dataclass per section of the scorecard, pay and promotion rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kaohe.dictionaries import scorable_metrics
from kaohe.ingest.contract import BUCKETS, enum  # noqa: F401  (BUCKETS re-exported)

# the contract's vocabulary, never restated here (kaohe/ingest/contract.yaml)
QA_LABELS = enum("qa_flags", "label")
TICKET_TYPES = enum("tickets", "ticket_type")
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$")
EMAIL = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$")


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
    complaint_deadline_days: int = 15


DIMENSIONS = ("compliance", "recovery", "satisfaction", "skill")
GRADES = ("S", "A", "B", "C")
LEVELS = enum("agents", "level")
VIOLATION_TYPES = enum("violations", "violation_type")
INDUSTRIES = enum("cases", "industry")
# What a scoring rule may score, and which way is better: the columns marked ``scorable`` in the
# metric dictionaries (kaohe/dictionaries.py), never a list kept here.
SCORABLE: dict[str, str] = scorable_metrics()


@dataclass(frozen=True)
class ScoringRule:
    dimension: str
    metric: str
    floor: float
    target: float
    direction: str
    weight: float
    high_risk_weight: float = 0.0
    max_points: float = 100.0


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
    base_proration: str = "active_days"


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


# What a conduct alert may watch: the agent's own behaviour in the month (version 3: the legal
# contact rules first; the house-policy measures stay available).
ALERT_MEASURES = ("contact_rule_breach_rate", "answered_over_cap_calls",
                  "unanswered_over_cap_calls", "curfew_calls", "own_over_cap_rate",
                  "off_hours_rate", "threat_ratio", "substantiated_complaints",
                  "suspected_privacy_calls", "mandatory_not_passed")


@dataclass(frozen=True)
class AlertRule:
    measure: str
    above: float           # fires when the measure is strictly above this
    severity: str          # low | medium | high (before escalation)
    escalates: bool = True  # high after conduct_alerts.escalate_after_months in a row
    min_evidence: int = 1   # and only when at least this many calls (or events) are behind it


@dataclass(frozen=True)
class ConductConfig:
    """Conduct alerts: the compliance officer's review queue (not a veto)."""
    rules: tuple[AlertRule, ...] = (
        AlertRule("contact_rule_breach_rate", 0.02, "medium", min_evidence=5),
        AlertRule("threat_ratio", 0.03, "medium", min_evidence=3),
        AlertRule("substantiated_complaints", 1, "medium"),
        AlertRule("suspected_privacy_calls", 0, "medium"),
        AlertRule("mandatory_not_passed", 0, "low", escalates=False),
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
