"""The configuration file's models: one pydantic model per section, shaped like the YAML
(``config/kaohe.yaml``); unknown keys, wrong types, values out of range and rules that contradict
each other are errors. kaohe.config loads the file through ``ConfigFile`` and hands the code
the values of kaohe.config.types; the sections added later are read as these models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from kaohe.config.base import (  # noqa: F401  (re-exported)
    Bool,
    Int,
    Num,
    Text,
    _as_dict,
    _bands_fall,
    _ident,
    _keyed,
    _Model,
    _percentages_sum_to_100,
    _version,
    _weights_sum_to_1,
    _zone,
)
from kaohe.config.gaming import GamingConfig  # noqa: F401  (re-exported)
from kaohe.config.operations import (  # noqa: F401  (re-exported)
    DEFAULT_STORAGE_VERSION,
    STORAGE_VERSIONS,
    AppealsConfig,
    ComplianceConfig,
    DeliveryConfig,
    IngestConfig,
    PublishConfig,
    ReportsConfig,
    RetentionSection,
)
from kaohe.config.types import (
    ALERT_MEASURES,
    BUCKETS,
    DIMENSIONS,
    GRADES,
    INDUSTRIES,
    LEVELS,
    QA_LABELS,
    SCORABLE,
    TICKET_TYPES,
    TIME,
    VIOLATION_TYPES,
    GradingConfig,
)

BucketWeights = _keyed("BucketWeights", BUCKETS, "Weight of each bucket in credited "
                       "collections.", ge=0, le=10)
TicketSla = _keyed("TicketSla", TICKET_TYPES, "Hours a middle-office ticket may stay open.",
                   ge=0)
DimensionWeights = _keyed("DimensionWeights", DIMENSIONS, "Dimension weights, summing to 1.",
                          ge=0, le=1, check=_weights_sum_to_1)
GradeBands = _keyed("GradeBands", GRADES, "Lowest composite of each grade, falling strictly "
                    "from S to C (below C is D).", ge=0, le=100, check=_bands_fall)
Recoverability = _keyed("Recoverability", BUCKETS, "How recoverable a bucket is relative to "
                        "M1.", ge=0.01, le=10)
PayoutFactors = _keyed("PayoutFactors", (*GRADES, "D", "VETO"), "Variable pay factor of each "
                       "grade.", ge=0, le=5)
Distribution = _keyed("Distribution", ("S", "A", "B", "C", "D"), "Target share of each grade "
                      "in %, summing to 100.", ge=0, le=100, check=_percentages_sum_to_100)


def _time(value: Any) -> Any:
    if not isinstance(value, str) or not TIME.match(value):
        raise ValueError(f"must be a time HH:MM:SS, not {value!r}")
    return value


Time = Annotated[str, BeforeValidator(_time), Field(pattern=TIME.pattern)]


class ContactHours(_Model):
    """Calls before ``start`` or from ``end`` on are off-hours."""
    start: Time
    end: Time

    @model_validator(mode="after")
    def _ordered(self) -> ContactHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class MetricsSection(_Model):
    bucket_weights: BucketWeights  # type: ignore[valid-type]
    contact_cap_per_day: Int = Field(ge=1, description="Most contact attempts per debtor per "
                                     "calendar day.")
    contact_hours: ContactHours
    effective_call_min_s: Int = Field(ge=0, description="Seconds of right-party contact that "
                                      "make an effective call.")
    qa_flag_labels: list[Literal[QA_LABELS]] = Field(min_length=1)
    qa_confidence_threshold: Num = Field(ge=0, le=1)
    high_risk_score: Int = Field(ge=0, le=1000)
    min_tenure_months_for_high_risk: Int = Field(ge=0)
    ticket_sla_hours: TicketSla  # type: ignore[valid-type]
    complaint_deadline_days: Int = Field(
        default=15, ge=1, le=90, description="Days within which a complaint must be resolved "
        "with the complainant (the regulator's handling deadline): the teams' and the centre's "
        "complaint-resolution measures.")


class GradingSection(_Model):
    """How grades are given: absolute bands or a target distribution (强制分布)."""
    mode: Literal["bands", "distribution"]
    scope: Literal["centre", "team"] = "centre"
    distribution: Distribution = Field(  # type: ignore[valid-type]
        default_factory=lambda: Distribution.model_validate(dict(GradingConfig().distribution)))
    min_group_size: Int = Field(default=10, ge=1)


class AlertRuleSection(_Model):
    measure: Literal[ALERT_MEASURES]
    above: Num = Field(ge=0, description="Fires when the measure is strictly above this.")
    severity: Literal["low", "medium", "high"]
    escalates: bool = Field(default=True, description="Whether firing in "
                            "escalate_after_months consecutive months makes the alert high "
                            "(false for a state that persists until it is fixed, like a "
                            "training backlog).")
    min_evidence: Int = Field(default=1, ge=1, description="Fires only when at least this many "
                              "calls or events are behind the measure (a rate on 2 calls of "
                              "154 is no evidence).")


class ConductSection(_Model):
    """Conduct alerts: the compliance officer's review queue (not a veto)."""
    rules: list[AlertRuleSection] = Field(min_length=1)
    escalate_after_months: Int = Field(default=2, ge=1, le=12)


class AppraisalSection(_Model):
    """Who is appraised in a month."""
    min_active_days: Int = Field(ge=0, le=31)
    min_cases_handled: Int = Field(ge=0)


class ScoringRuleSection(_Model):
    """Maps a metric linearly from ``floor`` (0 points) to ``target`` (100 points)."""
    metric: Text = Field(json_schema_extra={"enum": sorted(SCORABLE)})
    direction: Literal["higher", "lower"]
    floor: Num
    target: Num
    weight: Num = Field(ge=0)
    high_risk_weight: Num = Field(default=0.0, ge=0)
    max_points: Num = Field(default=100, ge=100, le=200, description="Points go on rising "
                            "past the target, at the same slope, up to this (version 3): a "
                            "month above target keeps what it earned, so nothing is worth "
                            "saving for next month.")

    @field_validator("metric")
    @classmethod
    def _scorable(cls, metric: str) -> str:
        if metric not in SCORABLE:
            raise ValueError(f"{metric!r} is not a metric kaohe can score")
        return metric

    @field_validator("direction")
    @classmethod
    def _the_dictionarys_way(cls, direction: str, info: Any) -> str:
        # which way is better comes from the metric's dictionary entry (``scorable``); a rule
        # that rewards more complaints or fewer collections is a mistake, not a policy
        metric = info.data.get("metric")
        natural = SCORABLE.get(metric or "")
        if natural in ("higher", "lower") and direction != natural:
            raise ValueError(f"must be {natural}: the metric dictionary says {natural} "
                             f"{metric} is better")
        return direction

    @field_validator("target")
    @classmethod
    def _beyond_floor(cls, target: float, info: Any) -> float:
        floor, direction = info.data.get("floor"), info.data.get("direction")
        if floor is None or direction is None:
            return target  # reported on their own keys
        if floor == target or (direction == "higher") != (target > floor):
            raise ValueError(f"must be {'above' if direction == 'higher' else 'below'} the "
                             f"floor ({floor:g}) for direction {direction}")
        return target


def _rules_with_a_weight(rules: list[ScoringRuleSection]) -> list[ScoringRuleSection]:
    if not any(r.weight > 0 or r.high_risk_weight > 0 for r in rules):
        raise ValueError("needs at least one rule with a weight")
    return rules


class ScorecardRules(_Model):
    """The scoring rules of each dimension (a non-empty list each)."""
    compliance: list[ScoringRuleSection] = Field(min_length=1)
    recovery: list[ScoringRuleSection] = Field(min_length=1)
    satisfaction: list[ScoringRuleSection] = Field(min_length=1)
    skill: list[ScoringRuleSection] = Field(min_length=1)

    _weighted = field_validator(*DIMENSIONS)(_rules_with_a_weight)


class ScorecardSection(_Model):
    weights: DimensionWeights  # type: ignore[valid-type]
    missing_dimension: Literal["reweight", "zero"]
    rules: ScorecardRules
    grades: GradeBands  # type: ignore[valid-type]
    veto_violation_types: list[Literal[VIOLATION_TYPES]]


class TargetsSection(_Model):
    base_recovery_rate: Num = Field(ge=0.001, le=1)
    prosperity_elasticity: Num = Field(ge=0, le=5)
    unemployment_baseline: Num = Field(ge=0, le=100)
    unemployment_sensitivity: Num = Field(ge=0, le=1)
    dso_reference_days: Num = Field(ge=1)
    dso_elasticity: Num = Field(ge=0, le=5)
    high_risk_industries: list[Literal[INDUSTRIES]]
    high_risk_target_factor: Num = Field(ge=0.01, le=2)
    bucket_recoverability: Recoverability  # type: ignore[valid-type]


class PaySection(_Model):
    variable_share: Num = Field(ge=0, le=0.95)
    deferred_share: Num = Field(ge=0, le=1)
    payout_factors: PayoutFactors  # type: ignore[valid-type]
    base_proration: Literal["active_days", "full"] = Field(
        default="active_days", description="Base pay for the days worked: `active_days` pays "
        "base_salary x active days / days in the month (a joiner or leaver is paid for the days "
        "they were employed); `full` pays the contractual base to every agent with an active "
        "day. An agent with no active day in the month gets no pay row either way.")


class PromotionSection(_Model):
    """One step of the career ladder: ``from`` a level to the next one."""
    from_: Literal[LEVELS] = Field(alias="from")
    to: Literal[LEVELS]
    min_composite: Num = Field(ge=0, le=100)
    months: Int = Field(ge=1, le=36)
    requires_expertise: Bool = False

    @model_validator(mode="after")
    def _consecutive(self) -> PromotionSection:
        if LEVELS.index(self.to) != LEVELS.index(self.from_) + 1:
            raise ValueError("from/to must be consecutive levels L1..L4")
        return self


class ExpertiseSection(_Model):
    m6plus_min_assignments: Int = Field(ge=0)
    restructuring_min_completed: Int = Field(ge=0)


# What a team manager's rule (team_scorecard) may score: marts.team_month_scorecard's measures.
TEAM_MEASURES = ("recovery_vs_target", "conduct_alerts_per_agent",
                 "skill_risk_mismatches_per_agent", "open_tickets_past_sla_per_agent",
                 "skill_risk_mismatches_per_100_cases", "open_tickets_past_sla_per_100_cases",
                 "mandatory_pass_rate", "complaints_resolved_on_time_share")


class TeamRuleSection(_Model):
    """Maps a team measure linearly from ``floor`` (0 points) to ``target`` (100 points)."""
    measure: Literal[TEAM_MEASURES]
    direction: Literal["higher", "lower"]
    floor: Num
    target: Num
    weight: Num = Field(ge=0)

    @field_validator("target")
    @classmethod
    def _beyond_floor(cls, target: float, info: Any) -> float:
        return ScoringRuleSection._beyond_floor(target, info)


def _team_rule(measure: str, floor: float, target: float, direction: str, weight: float
               ) -> TeamRuleSection:
    return TeamRuleSection(measure=measure, floor=floor, target=target, direction=direction,
                           weight=weight)


class TeamScorecardConfig(_Model):
    """``team_scorecard`` (version 2): the team manager's appraisal (部门考核) from team-level
    rules; grades from the same bands as the agents' (scorecard.grades)."""
    rules: list[TeamRuleSection] = Field(
        min_length=1, default_factory=lambda: [
            _team_rule("recovery_vs_target", 0.5, 1.0, "higher", 0.35),
            _team_rule("conduct_alerts_per_agent", 1.0, 0.0, "lower", 0.15),
            _team_rule("skill_risk_mismatches_per_100_cases", 3.0, 0.0, "lower", 0.15),
            _team_rule("open_tickets_past_sla_per_100_cases", 2.0, 0.0, "lower", 0.10),
            _team_rule("mandatory_pass_rate", 0.8, 1.0, "higher", 0.10),
            _team_rule("complaints_resolved_on_time_share", 0.0, 1.0, "higher", 0.15),
        ])

    @field_validator("rules")
    @classmethod
    def _one_rule_per_measure(cls, rules: list[TeamRuleSection]) -> list[TeamRuleSection]:
        seen = [r.measure for r in rules]
        twice = sorted({m for m in seen if seen.count(m) > 1})
        if twice:
            raise ValueError(f"one rule per measure: {', '.join(twice)} more than once")
        if not any(r.weight > 0 for r in rules):
            raise ValueError("needs at least one rule with a weight")
        return rules


class ContactRulesConfig(_Model):
    """``contact_rules`` (version 3): the legal contact limits the appraisal judges conduct by
    (config/regulatory_rules.yaml cites each source). Stricter values are a house policy; looser
    ones are refused by ``kaohe audit-config``."""
    answered_per_debtor_day: Int = Field(
        default=3, ge=1, description="Most answered calls (connected_debtor or "
        "connected_third_party) an agent may make to one debtor in a calendar day "
        "(GB/T 45251-2025: effective interactive calls).")
    unanswered_per_number_day: Int = Field(
        default=6, ge=1, description="Most unanswered attempts (no_answer, busy, voicemail, "
        "invalid_number) an agent may make to one dialled number in a calendar day, per debtor "
        "when the lender sends no calls.dialled_number (China Banking Association, 2026).")
    legal_hours: ContactHours = Field(
        default_factory=lambda: ContactHours(start="08:00:00", end="22:00:00"),
        description="No call may start before `start` or at/after `end` (no collection "
        "between 22:00 and 08:00).")


class ConductGateConfig(_Model):
    """``conduct_gate`` (version 3): conduct decides the grade. An agent with a `high` conduct
    alert in the month, or a compliance score below ``min_compliance_score``, is graded at most
    ``max_grade`` and earns no variable pay for the month."""
    min_compliance_score: Num = Field(default=60, ge=0, le=100)
    max_grade: Literal["S", "A", "B", "C", "D"] = "C"


class FairnessConfig(_Model):
    """``fairness``: when the centre summary warns that grades follow the portfolio or the team
    (marts.center_month_summary.fairness_warning)."""
    warn_above: Num = Field(default=0.3, gt=0, le=1, description="Warn when the rank "
                            "correlation of the composite with the M6+ share or with the "
                            "difficulty coefficient is above this in absolute value (the team "
                            "effect is judged against chance, marts.fairness_diagnostics).")
    shrink_small_samples: bool = Field(
        default=True, description="Score a rate measured on few events (commitments kept, "
        "restructurings completed, cases reached) shrunk toward what is expected of a similar "
        "book, by empirical Bayes (kaohe/scoring/shrinkage.py); the card shows its 90% "
        "interval. false: score the raw rate (5.0).")
    peer_k: Int = Field(default=15, ge=1, description="Agents like you (marts.agent_peer_"
                        "comparisons): each appraised agent is compared with this many others "
                        "of the closest portfolio (docs/scorecard.md \"Agents like you\").")
    min_peers: Int = Field(default=8, ge=1, description="With fewer peers than this having a "
                           "value of a measure, the card shows no percentile for it.")
    reach_load_bands: Int = Field(default=5, ge=1, le=50, description="expected_case_reach_"
                                  "rate per bucket among agents of a similar case load: this many "
                                  "equal groups by cases held (1: per bucket only).")


class ConfigFile(_Model):
    """kaohe's configuration file (config/kaohe.yaml): every rule and number of the
    appraisal. Validated at load by kaohe/config/__init__.py; unknown keys are errors."""
    model_config = ConfigDict(title="kaohe configuration")

    version: Annotated[Text, BeforeValidator(_version)] = Field(
        description="The configuration's version, recorded (with its hash) on every result.")
    timezone: Annotated[Text, BeforeValidator(_zone)] = Field(
        default="Asia/Shanghai", description="The lender's local time zone.")
    metrics: MetricsSection
    grading: GradingSection | None = None
    conduct_alerts: ConductSection | None = None
    appraisal: AppraisalSection | None = None
    scorecard: ScorecardSection
    targets: TargetsSection
    pay: PaySection
    promotion: list[PromotionSection]
    expertise: ExpertiseSection
    retention: RetentionSection
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    compliance: ComplianceConfig = Field(default_factory=ComplianceConfig)
    team_scorecard: TeamScorecardConfig = Field(default_factory=TeamScorecardConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    appeals: AppealsConfig = Field(default_factory=AppealsConfig)
    contact_rules: ContactRulesConfig = Field(default_factory=ContactRulesConfig)
    conduct_gate: ConductGateConfig = Field(default_factory=ConductGateConfig)
    gaming: GamingConfig = Field(default_factory=GamingConfig)
