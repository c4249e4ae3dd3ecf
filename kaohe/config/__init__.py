"""The operator's configuration (``config/kaohe.yaml`` or ``--config``), validated at load.

Every value is validated when the file is loaded, by the pydantic models of
``kaohe/config/model.py`` (the *file models*, one per section, shaped like the YAML): an unknown
or misspelt key, a wrong type, a value out of range or rules that contradict each other stop the
load with a one-line ``ConfigError`` naming the file, the dotted key and what is wrong
(``config/x.yaml: scorecard.weigths: unknown key``); so does a key written twice in one
mapping (``UniqueKeyLoader``: plain YAML would keep the last value silently). The validated
values are then handed to the code as the frozen dataclasses it has always used (``Config``
here, ``MetricsConfig``... in ``kaohe/config/types.py`` with the vocabulary a rule may use),
and, for the sections added later (``reports``, ``delivery``, ``ingest``, ``compliance``,
``team_scorecard``, ``fairness``, ``contact_rules``, ``conduct_gate``), as the frozen models
themselves.

The same models give the JSON schema editors use to complete and check the file
(``config/kaohe.schema.json``, ``kaohe config-schema``). The configuration's hash is stored
with every result it produced, so a month can be reproduced under the rules it was built with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kaohe.config.model import (
    AppealsConfig,
    ComplianceConfig,
    ConductGateConfig,
    ConfigFile,
    ContactRulesConfig,
    DeliveryConfig,
    FairnessConfig,
    GamingConfig,
    IngestConfig,
    PublishConfig,
    ReportsConfig,
    TeamScorecardConfig,
    _as_dict,
)
from kaohe.config.types import (
    DIMENSIONS,
    TICKET_TYPES,
    AlertRule,
    AppraisalConfig,
    ConductConfig,
    ConfigError,
    ExpertiseConfig,
    GradingConfig,
    MetricsConfig,
    PayConfig,
    PromotionRule,
    ScorecardConfig,
    ScoringRule,
    TargetsConfig,
)

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "kaohe.yaml"
SCHEMA_FILE = DEFAULT_CONFIG.parent / "kaohe.schema.json"

# what other modules import from here (the file's models and the values live in
# kaohe.config.model and kaohe.config.types)
__all__ = ["DEFAULT_CONFIG", "DIMENSIONS", "SCHEMA_FILE", "TICKET_TYPES", "AppraisalConfig",
           "Config", "ConfigError", "GradingConfig", "IngestConfig", "PromotionRule",
           "TeamScorecardConfig", "json_schema", "json_schema_text", "load_config",
           "validation_message"]

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
    publish: PublishConfig = field(default_factory=PublishConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    compliance: ComplianceConfig = field(default_factory=ComplianceConfig)
    team_scorecard: TeamScorecardConfig = field(default_factory=TeamScorecardConfig)
    fairness: FairnessConfig = field(default_factory=FairnessConfig)
    contact_rules: ContactRulesConfig = field(default_factory=ContactRulesConfig)
    conduct_gate: ConductGateConfig = field(default_factory=ConductGateConfig)
    gaming: GamingConfig = field(default_factory=GamingConfig)
    appeals: AppealsConfig = field(default_factory=AppealsConfig)

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
        data = yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: no object tags
    except DuplicateKey as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of sections")
    try:
        model = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {validation_message(exc)}") from None
    return _runtime(model, path, text, data)


class DuplicateKey(yaml.YAMLError):
    """A key written twice in one mapping of the YAML file."""


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key written twice in one mapping, at any depth (plain
    PyYAML keeps the last value without a word: an operator who adds ``contact_cap_per_day: 5``
    at the end of a section that already says 3 would not know which one counts). The error
    names the dotted key and both lines. The keys a merge (``<<: *defaults``) brings may be
    overridden, as YAML intends: only keys written in the mapping itself are compared."""

    def construct_document(self, node):
        self._paths: dict[int, tuple] = {}
        self._walk(node, ())
        return super().construct_document(node)

    def _walk(self, node, path: tuple) -> None:
        """The dotted path of every mapping node, for the message (an alias: its first)."""
        if id(node) in self._paths:
            return
        self._paths[id(node)] = path
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self._walk(value, (*path, key.value if isinstance(key, yaml.ScalarNode)
                                   else "?"))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*path, i))

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:  # an unhashable key: the constructor refuses it
                    continue
                if first is not key_node:
                    name = dotted((*self._paths.get(id(node), ()), key_node.value))
                    raise DuplicateKey(
                        f"{name}: written twice, line {first.start_mark.line + 1} and line "
                        f"{key_node.start_mark.line + 1} (the second would silently replace "
                        "the first): keep one")
        return super().construct_mapping(node, deep=deep)


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
                                float(r.weight), float(r.high_risk_weight),
                                float(r.max_points))
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
        tuple(AlertRule(r.measure, float(r.above), r.severity, r.escalates, r.min_evidence)
              for r in c.rules),
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
                      _as_dict(f.pay.payout_factors), f.pay.base_proration),
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
        publish=f.publish,
        delivery=f.delivery,
        ingest=f.ingest,
        compliance=f.compliance,
        team_scorecard=f.team_scorecard,
        fairness=f.fairness,
        contact_rules=f.contact_rules,
        conduct_gate=f.conduct_gate,
        gaming=f.gaming,
        appeals=f.appeals,
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
