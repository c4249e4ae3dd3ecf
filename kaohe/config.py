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


@dataclass(frozen=True)
class Config:
    path: Path
    version: str
    hash: str
    timezone: str
    metrics: MetricsConfig
    raw: dict[str, Any]

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
    )
