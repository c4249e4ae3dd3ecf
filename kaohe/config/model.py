"""The configuration file's models: one pydantic model per section, shaped like the YAML
(``config/kaohe.yaml``); unknown keys, wrong types, values out of range and rules that contradict
each other are errors. kaohe.config loads the file through ``ConfigFile`` and hands the code
the values of kaohe.config.types; the sections added later are read as these models."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    create_model,
    field_validator,
    model_validator,
)

from kaohe.config.types import (
    ALERT_MEASURES,
    BUCKETS,
    DIMENSIONS,
    EMAIL,
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

# ---------------------------------------------------------------------------------------------
# the file models: one per section, shaped like the YAML; unknown keys are errors

Num = Annotated[float, Strict()]        # a number (int or float; not a bool, not a string)
Int = Annotated[int, Strict()]          # a whole number
Bool = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ident(key: str) -> str:
    return key.replace("+", "_plus").replace("-", "_")


def _keyed(name: str, keys: tuple[str, ...], doc: str, ge: float | None = None,
           le: float | None = None, check: Any = None) -> type[_Model]:
    """A mapping that must give exactly ``keys``, each a number in [ge, le]."""
    fields: dict[str, Any] = {_ident(k): (Num, Field(alias=k, ge=ge, le=le)) for k in keys}
    validators = {"check": model_validator(mode="after")(check)} if check else {}
    model = create_model(name, __base__=_Model, __doc__=doc, __validators__=validators,
                         **fields)
    model.KEYS = keys
    return model


def _as_dict(section: BaseModel) -> dict[str, float]:
    return {k: float(getattr(section, _ident(k))) for k in section.KEYS}


def _weights_sum_to_1(self: BaseModel) -> BaseModel:
    total = sum(_as_dict(self).values())
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"must sum to 1, not {total:g}")
    return self


def _bands_fall(self: BaseModel) -> BaseModel:
    bands = list(_as_dict(self).values())
    if bands != sorted(bands, reverse=True) or len(set(bands)) != len(bands):
        raise ValueError("bands must fall strictly from S to C")
    return self


def _percentages_sum_to_100(self: BaseModel) -> BaseModel:
    if abs(sum(_as_dict(self).values()) - 100) > 1e-6:
        raise ValueError("percentages must sum to 100")
    return self


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

    @field_validator("metric")
    @classmethod
    def _scorable(cls, metric: str) -> str:
        if metric not in SCORABLE:
            raise ValueError(f"{metric!r} is not a metric kaohe can score")
        return metric

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


class RetentionSection(_Model):
    raw_days: Int = Field(ge=1, description="Days collection records are kept (kaohe purge "
                          "refuses less than the legal minimum).")


class ReportsConfig(_Model):
    """``reports``: the language of the rendered reports (``kaohe report --lang`` overrides)."""
    lang: Literal["zh", "en"] = "zh"


# The DuckDB storage formats the published copy can be written in, and who can open each
# (DuckDB reads its own format and every older one). kaohe itself runs on DuckDB 2.0.
DEFAULT_STORAGE_VERSION = "v1.4.0"
STORAGE_VERSIONS = {
    "v1.4.0": "DuckDB 1.4 (the long-term-support line) and newer: the CLI 1.5 from PyPI, "
              "DBeaver, R and ODBC drivers built on 1.4 or 1.5",
    "v1.5.0": "DuckDB 1.5 and newer",
    "latest": "only DuckDB 2.0 and newer (the writer's own format)",
}


class PublishConfig(_Model):
    """``publish``: the analyst copy (<home>/warehouse/kaohe.duckdb)."""
    storage_version: Literal["v1.4.0", "v1.5.0", "latest"] = Field(
        default=DEFAULT_STORAGE_VERSION,
        description="The DuckDB storage format of the analyst copy: "
        + "; ".join(f"{k}: {v}" for k, v in STORAGE_VERSIONS.items())
        + ". The writer's own database stays on the newest format.")


def _address(value: Any) -> Any:
    if isinstance(value, str) and not EMAIL.match(value.strip()):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value.strip() if isinstance(value, str) else value


Email = Annotated[Text, BeforeValidator(_address)]


class SmtpConfig(_Model):
    """``delivery.smtp``: each value overridable by KAOHE_SMTP_HOST / _PORT / _STARTTLS / _USER."""
    host: Text = Field(default="localhost", min_length=1)
    port: Int = Field(default=25, ge=1, le=65535)
    starttls: Bool = False
    user: Text = ""
    password: Text | None = Field(
        default=None, deprecated=True,
        description="Ignored (with a warning): the SMTP password is only ever read from "
                    "KAOHE_SMTP_PASSWORD.")


class DeliveryConfig(_Model):
    """``delivery``: who receives the reports by e-mail, and through which server."""
    sender: Text | None = Field(default=None, description="From: 'name <address>' or an "
                                "address.")
    center_recipients: list[Email] = Field(default_factory=list, description="Receive the "
                                           "centre summary.")
    compliance_recipients: list[Email] = Field(default_factory=list, description="Receive "
                                               "the compliance officer's messages.")
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)

    @field_validator("sender")
    @classmethod
    def _sender(cls, sender: str | None) -> str | None:
        if sender is not None and not EMAIL.match(parseaddr(sender)[1]):
            raise ValueError("must be an e-mail address like 'kaohe <kaohe-reports@example.cn>'"
                             f", not {sender!r}")
        return sender


class RecordDateWindow(_Model):
    """Records dated more than ``before`` days before or ``after`` days after their file's
    business date are quarantined."""
    before: Int = Field(default=45, ge=0)
    after: Int = Field(default=7, ge=0)


class IngestConfig(_Model):
    """``ingest``: how much a landing file may get wrong before it is rejected."""
    max_rejected_share: Num = Field(default=0.20, ge=0, le=1, description="A file whose "
                                    "rejected rows exceed this share of its rows is rejected "
                                    "whole.")
    record_date_window_days: RecordDateWindow = Field(default_factory=RecordDateWindow)


class ComplianceConfig(_Model):
    """``compliance`` (version 2): the compliance officer's page and the agencies' spot checks."""
    spot_check_daily_min_share: Num = Field(
        default=0.03, gt=0, le=1, description="A day meets the spot-check minimum when an "
        "outsourced agency's recordings reviewed that day are at least this share of its "
        "connected calls of the day (human reviews; the AI-label proxy without them).")


# What a rule of the team manager's appraisal (team_scorecard) may score: the columns of
# marts.team_month_scorecard that measure the team's month.
TEAM_MEASURES = ("recovery_vs_target", "conduct_alerts_per_agent",
                 "skill_risk_mismatches_per_agent", "open_tickets_past_sla_per_agent",
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
            _team_rule("recovery_vs_target", 0.0, 1.0, "higher", 0.35),
            _team_rule("conduct_alerts_per_agent", 1.5, 0.0, "lower", 0.15),
            _team_rule("skill_risk_mismatches_per_agent", 3.0, 0.0, "lower", 0.15),
            _team_rule("open_tickets_past_sla_per_agent", 3.0, 0.0, "lower", 0.10),
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


def _version(value: Any) -> Any:
    # an unquoted `version: 2026.1` is a YAML number: keep its text
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _zone(value: Any) -> Any:
    if isinstance(value, str):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone (like Asia/Shanghai)") from None
    return value


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
