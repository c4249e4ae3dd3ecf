"""The configuration's operational sections: retention, the reports' language, the analyst
copy's storage format, e-mail delivery, ingestion tolerances and the compliance desk's spot-check
minimum (the appraisal's own sections are in kaohe/config/model.py)."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from kaohe.config.base import Bool, Int, Num, Text, _Model
from kaohe.config.types import EMAIL


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
    profiles: dict[Text, Text] = Field(
        default_factory=dict, description="Version 3: source -> the source profile that reads "
        "its folder (a shipped profile's name, e.g. asterisk_cdr, or a YAML file, relative to "
        "this configuration file); a profile.yaml inside the source folder wins. "
        "docs/profiles.md.")

    @field_validator("profiles")
    @classmethod
    def _sources(cls, v: dict[str, str]) -> dict[str, str]:
        from kaohe.ingest.contract import load_contract
        sources = load_contract()
        unknown = sorted(set(v) - set(sources))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a source of the data contract "
                             f"({', '.join(sorted(sources))})")
        return v


class ComplianceConfig(_Model):
    """``compliance`` (version 2): the compliance officer's page and the agencies' spot checks."""
    spot_check_daily_min_share: Num = Field(
        default=0.03, gt=0, le=1, description="A day meets the spot-check minimum when an "
        "outsourced agency's recordings reviewed that day are at least this share of its "
        "connected calls of the day (human reviews; the AI-label proxy without them).")


class AppealsConfig(_Model):
    """``appeals`` (version 3): when a month's grades become final (docs/scorecard.md
    "Appeals")."""
    window_days: Int = Field(
        default=15, ge=0, le=90, description="Days after the month's end during which agents "
        "may appeal its items; until then (and while an appeal about the month is pending) its "
        "grades are provisional, the card says so and the pay export flags the month. The "
        "nightly run rebuilds the previous month during these days (and the late-file grace).")
