"""The operator's configuration (``config/kaohe.yaml`` or ``--config``), validated at load.

Every value is validated when the file is loaded, by the pydantic models below (the *file
models*, one per section, shaped like the YAML): an unknown or misspelt key, a wrong type, a
value out of range or rules that contradict each other stop the load with a one-line
``ConfigError`` naming the file, the dotted key and what is wrong
(``config/x.yaml: scorecard.weigths: unknown key``). The validated values are then handed to
the code as the frozen dataclasses it has always used (``Config``, ``MetricsConfig``...), and,
for the sections added later (``reports``, ``delivery``, ``ingest``, ``compliance``,
``team_scorecard``), as the frozen models themselves.

The same models give the JSON schema editors use to complete and check the file
(``config/kaohe.schema.json``, ``kaohe config-schema``). The configuration's hash is stored
with every result it produced, so a month can be reproduced under the rules it was built with.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "kaohe.yaml"
SCHEMA_FILE = DEFAULT_CONFIG.parent / "kaohe.schema.json"
BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6", "M6+")
QA_LABELS = ("threat", "abuse", "insult", "privacy_disclosure", "false_promise", "empathy")
TICKET_TYPES = ("legal_signoff", "fee_waiver", "restructuring_approval")
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
    # version 2, optional data (cases.dpd): the rule drops out of its dimension without it
    "aging_reduction_rate", "roll_forward_rate",
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
    escalates: bool = True  # high after conduct_alerts.escalate_after_months in a row


@dataclass(frozen=True)
class ConductConfig:
    """Conduct alerts: the compliance officer's review queue (not a veto)."""
    rules: tuple[AlertRule, ...] = (
        AlertRule("own_over_cap_rate", 0.05, "medium"),
        AlertRule("off_hours_rate", 0.02, "medium"),
        AlertRule("threat_ratio", 0.03, "medium"),
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
    appraisal. Validated at load by kaohe/config.py; unknown keys are errors."""
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
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    compliance: ComplianceConfig = Field(default_factory=ComplianceConfig)
    team_scorecard: TeamScorecardConfig = Field(default_factory=TeamScorecardConfig)


# ---------------------------------------------------------------------------------------------
# what the code reads


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
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    compliance: ComplianceConfig = field(default_factory=ComplianceConfig)
    team_scorecard: TeamScorecardConfig = field(default_factory=TeamScorecardConfig)

    @property
    def config_version(self) -> str:
        """What results record: the declared version and the content hash."""
        return f"{self.version}+{self.hash[:12]}"


def load_config(path: Path | str | None = None) -> Config:
    """Load and validate the configuration (the shipped default when ``path`` is None).

    A run's every step loads it: a file unchanged since it was last loaded (same path, size and
    modification time) gives the same frozen ``Config`` without parsing it again."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        st = path.stat()
        stamp = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None
    if stamp is not None and stamp == _last[0]:
        return _last[1]
    config = _load(path)
    if stamp is not None:
        _last[:] = [stamp, config]  # the last one loaded: a run loads one configuration
    return config


_last: list = [None, None]  # [(path, mtime_ns, size), Config] of the last file loaded


def _load(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of sections")
    try:
        model = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {validation_message(exc)}") from None
    return _runtime(model, path, text, data)


def _runtime(f: ConfigFile, path: Path, text: str, data: dict[str, Any]) -> Config:
    m = f.metrics
    metrics = MetricsConfig(
        bucket_weights=_as_dict(m.bucket_weights),
        contact_cap_per_day=m.contact_cap_per_day,
        hours_start=m.contact_hours.start,
        hours_end=m.contact_hours.end,
        effective_call_min_s=m.effective_call_min_s,
        qa_flag_labels=tuple(m.qa_flag_labels),
        qa_confidence_threshold=float(m.qa_confidence_threshold),
        high_risk_score=m.high_risk_score,
        min_tenure_months_for_high_risk=m.min_tenure_months_for_high_risk,
        ticket_sla_hours=_as_dict(m.ticket_sla_hours),
        complaint_deadline_days=m.complaint_deadline_days,
    )
    sc = f.scorecard
    scorecard = ScorecardConfig(
        weights=_as_dict(sc.weights),
        missing_dimension=sc.missing_dimension,
        rules=tuple(ScoringRule(dim, r.metric, float(r.floor), float(r.target), r.direction,
                                float(r.weight), float(r.high_risk_weight))
                    for dim in DIMENSIONS for r in getattr(sc.rules, dim)),
        grades=_as_dict(sc.grades),
        veto_violation_types=tuple(sc.veto_violation_types),
    )
    t = f.targets
    targets = TargetsConfig(
        base_recovery_rate=float(t.base_recovery_rate),
        prosperity_elasticity=float(t.prosperity_elasticity),
        unemployment_baseline=float(t.unemployment_baseline),
        unemployment_sensitivity=float(t.unemployment_sensitivity),
        dso_reference_days=float(t.dso_reference_days),
        dso_elasticity=float(t.dso_elasticity),
        high_risk_industries=tuple(t.high_risk_industries),
        high_risk_target_factor=float(t.high_risk_target_factor),
        bucket_recoverability=_as_dict(t.bucket_recoverability),
    )
    g = f.grading
    grading = GradingConfig() if g is None else GradingConfig(
        g.mode, g.scope, tuple(_as_dict(g.distribution).items()), g.min_group_size)
    c = f.conduct_alerts
    conduct = ConductConfig() if c is None else ConductConfig(
        tuple(AlertRule(r.measure, float(r.above), r.severity, r.escalates) for r in c.rules),
        c.escalate_after_months)
    a = f.appraisal
    return Config(
        path=path,
        version=f.version,
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        timezone=f.timezone,
        metrics=metrics,
        raw=data,
        scorecard=scorecard,
        targets=targets,
        pay=PayConfig(float(f.pay.variable_share), float(f.pay.deferred_share),
                      _as_dict(f.pay.payout_factors)),
        promotion=tuple(PromotionRule(p.from_, p.to, float(p.min_composite), p.months,
                                      p.requires_expertise) for p in f.promotion),
        expertise=ExpertiseConfig(f.expertise.m6plus_min_assignments,
                                  f.expertise.restructuring_min_completed),
        retention_days=f.retention.raw_days,
        appraisal=AppraisalConfig() if a is None else AppraisalConfig(a.min_active_days,
                                                                      a.min_cases_handled),
        grading=grading,
        conduct=conduct,
        reports=f.reports,
        delivery=f.delivery,
        ingest=f.ingest,
        compliance=f.compliance,
        team_scorecard=f.team_scorecard,
    )


# ---------------------------------------------------------------------------------------------
# messages


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}{problem}"


def dotted(loc: tuple[int | str, ...]) -> str:
    """('scorecard', 'rules', 'recovery', 1, 'metric') -> scorecard.rules.recovery[1].metric"""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _what(err: Any) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    bounds = {"greater_than_equal": (">=", "ge"), "less_than_equal": ("<=", "le"),
              "greater_than": (">", "gt"), "less_than": ("<", "lt")}
    if kind in bounds:
        sign, key = bounds[kind]
        return f"must be {sign} {ctx[key]}, not {_shown(value)}"
    simple = {"int_type": "a whole number", "float_type": "a number",
              "bool_type": "true or false", "string_type": "a text", "list_type": "a list",
              "model_type": "a mapping", "model_attributes_type": "a mapping",
              "dict_type": "a mapping"}
    if kind in simple:
        return f"must be {simple[kind]}, not {_shown(value)}"
    if kind == "literal_error":
        return f"must be {ctx['expected']}, not {_shown(value)}"
    if kind == "too_short" and isinstance(value, list | str):
        return "must not be empty"
    msg = err["msg"]
    return f"{msg[:1].lower()}{msg[1:]}, not {_shown(value)}"


def validation_message(exc: ValidationError, most: int = 5) -> str:
    """pydantic's errors as ``dotted.key: what is wrong``, joined by "; " (one line)."""
    parts = []
    for err in exc.errors(include_url=False):
        key = dotted(tuple(err["loc"]))
        parts.append(f"{key}: {_what(err)}" if key else _what(err))
    more = f"; and {len(parts) - most} more" if len(parts) > most else ""
    return "; ".join(parts[:most]) + more


# ---------------------------------------------------------------------------------------------
# the JSON schema for editors


def json_schema() -> dict[str, Any]:
    """The configuration file's JSON schema (draft 2020-12), generated from the file models."""
    schema = ConfigFile.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def json_schema_text() -> str:
    """What config/kaohe.schema.json holds: the schema as indented JSON."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
