"""E-mailing a month's rendered reports: each team manager their team, the centre its summary.

``send_reports(home, month, cfg)`` reads who gets what from the work warehouse (read-only), then
sends one e-mail per message over SMTP (or, with ``dry_run``, writes ``.eml`` files to an outbox)
and records every message in ``audit.report_deliveries`` of the work warehouse.

Who gets what:
  * a team's manager (``manager_email`` of the team in the latest roster file on or before the
    month's last day: ``sql/reports/delivery_roster.sql``) gets ONE message per team: a short
    summary in the body and, as attachments, ``teams/<team_id>.html`` plus
    ``agents/<agent_id>.html`` of exactly the agents with a ``marts.agent_month_scorecard`` row
    of that team in the month, and nothing else. A manager of two teams gets two messages, one
    per team: each message then matches one team report and one send-log row, so a re-run, a
    resend (``force``) and the log stay per team;
  * every address in ``delivery.center_recipients`` gets its own message with ``center.html``
    and ``index.html``;
  * every address in ``delivery.compliance_recipients`` (the compliance officer) gets its own
    message with ``compliance.html`` (conduct alerts, vetoes, agency spot checks, the
    speech-analytics model against human reviewers): nobody else receives that page, and it is
    not linked from the index;
  * a team without a usable manager address (none, several different ones, or not an e-mail
    address) is not sent anywhere and is listed in ``DeliveryResult.unaddressed``: nobody else
    receives its files in its stead.

Attachments are named ``team-<team_id>.html``, ``agent-<agent_id>.html``, ``center.html`` and
``index.html``. Bodies hold team figures only (names, counts, sums, rates): no debtor data, no
links. Subjects and bodies are worded in ``reports/i18n.yaml`` (``email_*``) and the mart
dictionaries' labels, and rendered by ``reports/templates/email_body.{txt,html}.j2`` through the
shared environment of kaohe.reporting.i18n, in the language the month's reports were rendered in
(their ``<html lang>``): subject, body and attachments are in one language.

SMTP: ``delivery.smtp`` (host, port, starttls, user) of the configuration, each overridable by
KAOHE_SMTP_HOST / KAOHE_SMTP_PORT / KAOHE_SMTP_STARTTLS (``true`` or ``false``) /
KAOHE_SMTP_USER. The password comes only from KAOHE_SMTP_PASSWORD: a ``password`` key in the
file is ignored (with a warning), and the password is never logged or shown. Login happens only
when a user is set.

Who gets what is decided in kaohe/reporting/mail_plan.py (reading the warehouse, building each
message); this module checks the settings, sends (or writes the outbox) and keeps the send log.

Re-runs: a message logged as sent (not a dry run) for the same month, recipient, kind and team
is skipped unless ``force``. A dry run applies the same rule, so it previews exactly what a real
run would send. Messages are logged after sending; when sending stops half-way (a refused
recipient, a lost connection) the ones already sent are still logged before the error is raised,
so running again resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from kaohe.config import Config
from kaohe.months import MONTH, month_bounds
from kaohe.paths import data_path, rendering_dir
from kaohe.reporting.i18n import LANGS
from kaohe.reporting.mail_plan import (
    Delivery,
    DeliveryError,
    Planned,
    build_message,
    plan,
    read_recipients_data,
    rendered_lang,
    sender_of,
)
from kaohe.warehouse import Home, connect, ensure_schema
from kaohe.warehouse import audit_tables as audit

log = logging.getLogger("kaohe.reporting.mail")

SMTP_TIMEOUT_S = 60
# who gets what (kaohe/reporting/mail_plan.py): read here, sent from here
__all__ = ["Delivery", "DeliveryError", "DeliveryResult", "SmtpSettings", "send_reports",
           "smtp_settings"]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str
    password: str | None = field(default=None, repr=False)


@dataclass
class DeliveryResult:
    month: str
    dry_run: bool
    sent: int = 0                    # messages sent, or written to the outbox in a dry run
    skipped: int = 0                 # messages already logged as sent (re-run without force)
    # recipient -> attachment names of the messages sent (or written) by this call
    attachments: dict[str, list[str]] = field(default_factory=dict)
    messages: list[Delivery] = field(default_factory=list)
    unaddressed: list[str] = field(default_factory=list)   # teams sent nowhere, with the reason
    outbox: Path | None = None


# ---------------------------------------------------------------------------------------------
# settings


def smtp_settings(cfg: Config, environ: Mapping[str, str] | None = None) -> SmtpSettings:
    """SMTP settings: the configuration's ``delivery.smtp``, then KAOHE_SMTP_* overrides."""
    env = os.environ if environ is None else environ
    smtp = (cfg.raw.get("delivery") or {}).get("smtp") or {}
    if not isinstance(smtp, dict):
        raise DeliveryError(f"{cfg.path}: delivery.smtp must be a mapping")
    if "password" in smtp:
        log.warning("%s: delivery.smtp.password is ignored: the SMTP password is only ever read "
                    "from KAOHE_SMTP_PASSWORD", cfg.path)

    host = env.get("KAOHE_SMTP_HOST") or smtp.get("host") or "localhost"
    if not isinstance(host, str) or not host.strip():
        raise DeliveryError(f"{cfg.path}: delivery.smtp.host must be a host name")

    port_value = env.get("KAOHE_SMTP_PORT")
    where = "KAOHE_SMTP_PORT" if port_value else f"{cfg.path}: delivery.smtp.port"
    if not port_value:
        port_value = smtp.get("port", 25)
    if isinstance(port_value, bool):
        raise DeliveryError(f"{where} must be a port number 1-65535, not {port_value!r}")
    try:
        port = int(str(port_value).strip())
    except ValueError:
        raise DeliveryError(f"{where} must be a port number 1-65535, not {port_value!r}") \
            from None
    if not 1 <= port <= 65535:
        raise DeliveryError(f"{where} must be a port number 1-65535, not {port_value!r}")

    starttls_value = env.get("KAOHE_SMTP_STARTTLS")
    if starttls_value is not None and starttls_value != "":
        flag = starttls_value.strip().lower()
        if flag not in ("true", "false"):
            raise DeliveryError(f"KAOHE_SMTP_STARTTLS must be true or false, "
                                f"not {starttls_value!r}")
        starttls = flag == "true"
    else:
        starttls = smtp.get("starttls", False)
        if not isinstance(starttls, bool):
            raise DeliveryError(f"{cfg.path}: delivery.smtp.starttls must be true or false, "
                                f"not {starttls!r}")

    user = env.get("KAOHE_SMTP_USER") or smtp.get("user") or ""
    if not isinstance(user, str):
        raise DeliveryError(f"{cfg.path}: delivery.smtp.user must be a string")
    return SmtpSettings(host=host.strip(), port=port, starttls=starttls, user=user.strip(),
                        password=env.get("KAOHE_SMTP_PASSWORD") or None)


def send_reports(home: Path, month: str, cfg: Config, *, dry_run: bool = False,
                 force: bool = False, outbox: Path | None = None,
                 lang: str | None = None) -> DeliveryResult:
    """E-mail the month's rendered reports (see the module docstring for who gets what).

    ``dry_run`` writes each message as an ``.eml`` file into ``outbox`` (default
    ``<home>/outbox/<month>``) and opens no SMTP connection. ``force`` sends again messages the
    send log already records as sent. ``lang`` (zh | en) is the language of subjects and
    bodies; by default the language the month's reports were rendered in (``kaohe report
    --lang``), so a message never mixes a subject in one language with attachments in the other;
    ``reports.lang`` when that cannot be told. Raises DeliveryError when delivery cannot start
    (no reports, no warehouse, bad settings) or stops (SMTP error; what was sent is logged
    first).
    """
    if not MONTH.match(month or ""):
        raise DeliveryError(f"month must be YYYY-MM, not {month!r}")
    h = Home(Path(home))
    primary = cfg.reports.lang
    if lang is None:
        month_dir = h.reports / month
        lang = rendered_lang(month_dir) or primary
    elif lang not in LANGS:
        raise DeliveryError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    else:
        month_dir = rendering_dir(h.reports, month, lang, primary)
    if not month_dir.is_dir():
        raise DeliveryError(f"no reports for {month} in {month_dir}: render the reports first "
                            f"(kaohe report --month {month} --lang {lang})")
    if not h.work_db.exists():
        raise DeliveryError(f"no work warehouse at {h.work_db}: run the month first")
    sender, domain = sender_of(cfg)
    settings = smtp_settings(cfg)
    if not dry_run and settings.user and not settings.password:
        raise DeliveryError(f"SMTP user {settings.user!r} is set but KAOHE_SMTP_PASSWORD is not "
                            "(the password is only ever read from that variable)")

    data = read_recipients_data(h.work_db, month)
    planned, unaddressed = plan(month, month_dir, data, cfg, lang)
    missing = [str(path.relative_to(month_dir)) for p in planned for _, path in p.files
               if not path.is_file()]
    if missing:
        raise DeliveryError(f"{len(missing)} report file(s) of {month} missing in {month_dir} "
                            f"(e.g. {', '.join(sorted(missing)[:3])}): render the reports "
                            f"first (kaohe report --month {month})")
    for line in unaddressed:
        log.warning("not sent: %s", line)

    result = DeliveryResult(month=month, dry_run=dry_run, unaddressed=unaddressed,
                            messages=[p.delivery for p in planned])
    todo = []
    for p in planned:
        d = p.delivery
        if not force and (d.recipient, d.kind, d.team_id) in data["sent"]:
            d.status = "skipped"
            result.skipped += 1
        else:
            todo.append(p)
    done: list[Delivery] = []
    try:
        if dry_run:
            result.outbox = Path(outbox) if outbox else h.root / "outbox" / month
            _write_outbox(todo, result.outbox, sender, domain, done)
        elif todo:
            _send(todo, settings, sender, domain, done)
    finally:
        if done:
            _log_deliveries(h.work_db, month, done, dry_run)
    for d in done:
        result.sent += 1
        result.attachments.setdefault(d.recipient, []).extend(d.attachments)
    return result


def _write_outbox(todo: list[Planned], outbox: Path, sender: str, domain: str,
                  done: list[Delivery]) -> None:
    outbox.mkdir(parents=True, exist_ok=True)
    for p in todo:
        d = p.delivery
        msg = build_message(p, sender, domain)
        path = (data_path(outbox.parent, outbox.name, d.team_id, ".eml", "team-")
                if d.kind == "team" else
                data_path(outbox.parent, outbox.name,
                          re.sub(r"[^A-Za-z0-9_.-]", "_", d.recipient), ".eml", f"{d.kind}-"))
        tmp = path.with_suffix(".eml.tmp")
        tmp.write_bytes(msg.as_bytes())
        tmp.replace(path)
        d.status, d.eml = "written", path
        done.append(d)
        log.info("dry run: wrote %s report for %s to %s (%d attachments)", d.kind,
                 d.team_id or "the centre", path, len(d.attachments))


def _send(todo: list[Planned], s: SmtpSettings, sender: str, domain: str,
          done: list[Delivery]) -> None:
    where = f"SMTP server {s.host}:{s.port}"
    try:
        with smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT_S) as smtp:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif s.user:
                log.warning("logging in to %s without STARTTLS", where)
            if s.user:
                smtp.login(s.user, s.password or "")
            for p in todo:
                d = p.delivery
                smtp.send_message(build_message(p, sender, domain))
                d.status = "sent"
                done.append(d)
                log.info("sent %s report for %s to %s (%d attachments, %s)", d.kind,
                         d.team_id or "the centre", d.recipient, len(d.attachments),
                         d.message_id)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{where} refused the login of {s.user!r} (code {exc.smtp_code}); "
                            "check KAOHE_SMTP_USER and KAOHE_SMTP_PASSWORD") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"sending through {where} failed after {len(done)} of {len(todo)} "
                            f"message(s): {type(exc).__name__}: {exc}; the ones sent are logged, "
                            "run again to send the rest") from None


def _log_deliveries(work_db: Path, month: str, done: list[Delivery], dry_run: bool) -> None:
    start, _, _ = month_bounds(month)
    rows = [[start, d.recipient, d.kind, d.team_id, json.dumps(d.attachments), d.message_id,
             datetime.now(), dry_run] for d in done]
    for attempt in range(10):
        try:
            con = connect(work_db)
        except duckdb.IOException as exc:
            if attempt == 9:
                raise DeliveryError(
                    f"{len(done)} message(s) were {'written' if dry_run else 'sent'} but could "
                    f"not be logged in {work_db} ({exc}): a re-run without the log would send "
                    "them again") from None
            time.sleep(1)
            continue
        try:
            ensure_schema(con)
            con.executemany(f"insert into audit.report_deliveries "
                            f"{audit.columns('report_deliveries')} values (?, ?, ?, ?, ?, ?, ?, ?)",
                            rows)
        finally:
            con.close()
        return
