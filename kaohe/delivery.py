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
shared environment of kaohe.i18n, in the language the month's reports were rendered in (their
``<html lang>``): subject, body and attachments are in one language.

SMTP: ``delivery.smtp`` (host, port, starttls, user) of the configuration, each overridable by
KAOHE_SMTP_HOST / KAOHE_SMTP_PORT / KAOHE_SMTP_STARTTLS (``true`` or ``false``) /
KAOHE_SMTP_USER. The password comes only from KAOHE_SMTP_PASSWORD: a ``password`` key in the
file is ignored (with a warning), and the password is never logged or shown. Login happens only
when a user is set.

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
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

import duckdb

from kaohe import audit
from kaohe.config import Config
from kaohe.i18n import LANGS, cny, metric_labels, pct, render, texts
from kaohe.models import model_sql
from kaohe.months import MONTH, month_bounds
from kaohe.paths import data_path, safe_name
from kaohe.warehouse import Home, connect, ensure_schema

log = logging.getLogger("kaohe.delivery")

EMAIL = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$")
SMTP_TIMEOUT_S = 60


class DeliveryError(RuntimeError):
    """Delivery cannot start or did not finish; the message says why and what to do."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str
    password: str | None = field(default=None, repr=False)


@dataclass
class Delivery:
    """One message: to whom, what kind (team | center | compliance), for which team, with what
    files."""

    recipient: str
    kind: str
    team_id: str | None
    attachments: list[str]
    status: str = "planned"          # sent | written (dry run) | skipped (already sent)
    message_id: str | None = None
    eml: Path | None = None


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


@dataclass
class _Planned:
    delivery: Delivery
    subject: str
    text: str
    html: str
    files: list[tuple[str, Path]]


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


def _sender(cfg: Config) -> tuple[str, str]:
    sender = (cfg.raw.get("delivery") or {}).get("sender")
    _, address = parseaddr(sender or "")
    if not isinstance(sender, str) or not EMAIL.match(address):
        raise DeliveryError(f"{cfg.path}: delivery.sender must be an e-mail address like "
                            f"'kaohe <kaohe-reports@example.cn>', not {sender!r}")
    return sender, address.rsplit("@", 1)[1]


def _recipients(cfg: Config, key: str = "center_recipients") -> list[str]:
    value = (cfg.raw.get("delivery") or {}).get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DeliveryError(f"{cfg.path}: delivery.{key} must be a list of e-mail addresses")
    out = []
    for v in value:
        if not EMAIL.match(v.strip()):
            raise DeliveryError(f"{cfg.path}: delivery.{key}: {v!r} is not an e-mail address")
        if v.strip() not in out:
            out.append(v.strip())
    return out


# ---------------------------------------------------------------------------------------------
# what to send


def _read(work_db: Path, month: str) -> dict:
    start, end, _ = month_bounds(month)
    try:
        con = connect(work_db, read_only=True)
    except duckdb.IOException as exc:
        raise DeliveryError(f"cannot open the work warehouse {work_db} ({exc}); if a kaohe run "
                            "is in progress, send when it has finished") from None
    try:
        rows = con.execute(model_sql("reports", "delivery_roster"), {"end": end}).fetchall()
        snapshot = rows[0][0] if rows else None  # the roster file's date
        roster = [row[1:] for row in rows]
        agents = con.execute(
            "select team_id, agent_id from marts.agent_month_scorecard where month = ? "
            "order by team_id, agent_id", [start]).fetchall()
        teams = {r[0]: {"agents": r[1], "vetoed": r[2], "collected": r[3], "rate": r[4]}
                 for r in con.execute(
                     "select team_id, agents, vetoed_agents, collected, recovery_rate "
                     "from marts.team_month_metrics where month = ?", [start]).fetchall()}
        center = con.execute(
            "select teams, agents, vetoed_agents, collected, recovery_rate "
            "from marts.center_month_summary where month = ?", [start]).fetchall()
        logged = con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'audit' and table_name = 'report_deliveries'").fetchall()[0][0]
        alerts = dict(con.execute(
            "select severity, count(*) from marts.conduct_alerts where month = ? group by all",
            [start]).fetchall())
        sent = {(r, k, t) for r, k, t in con.execute(
            "select recipient, kind, team_id from audit.report_deliveries "
            "where month = ? and not dry_run", [start]).fetchall()} if logged else set()
    except duckdb.CatalogException as exc:
        raise DeliveryError(f"the work warehouse {work_db} has no marts for {month} "
                            f"({exc}): run the month first") from None
    finally:
        con.close()
    if not agents:
        raise DeliveryError(f"no scorecards for {month} in {work_db}: run the month first")
    return {"snapshot": snapshot, "roster": roster, "agents": agents, "teams": teams,
            "center": center[0] if center else None, "sent": sent, "alerts": alerts}


def _managers(roster: list[tuple], snapshot) -> tuple[dict[str, tuple[str, str]], dict]:
    """team_id -> (manager address, team name); and team_id -> why it has no usable address."""
    emails: dict[str, set[str]] = {}
    names: dict[str, Counter] = {}
    for team_id, team_name, email in roster:
        if team_id is None:
            continue
        emails.setdefault(team_id, set())
        if email and email.strip():
            emails[team_id].add(email.strip())
        if team_name and team_name.strip():
            names.setdefault(team_id, Counter())[team_name.strip()] += 1
    found, problems = {}, {}
    for team_id, addresses in emails.items():
        name = names[team_id].most_common(1)[0][0] if team_id in names else team_id
        if not addresses:
            problems[team_id] = f"no manager_email in the roster of {snapshot}"
        elif len(addresses) > 1:
            problems[team_id] = (f"{len(addresses)} different manager_email values in the "
                                 f"roster of {snapshot}")
        elif not EMAIL.match(next(iter(addresses))):
            problems[team_id] = f"manager_email in the roster of {snapshot} is not an address"
        else:
            found[team_id] = (next(iter(addresses)), name)
    return found, problems


def _file(month_dir: Path, folder: str, ident: str) -> Path:
    return data_path(month_dir, folder, ident)


def _plan(month: str, month_dir: Path, data: dict, cfg: Config, lang: str
          ) -> tuple[list[_Planned], list[str]]:
    t, m = texts(lang), metric_labels(lang)
    by_team: dict[str | None, list[str]] = {}
    for team_id, agent_id in data["agents"]:
        by_team.setdefault(team_id, []).append(agent_id)
    managers, problems = _managers(data["roster"], data["snapshot"])
    planned, unaddressed = [], []
    for team_id in sorted(by_team, key=lambda x: (x is None, x or "")):
        agent_ids = sorted(by_team[team_id])
        if team_id is None or team_id not in managers:
            why = "agents without a team" if team_id is None else problems.get(
                team_id, f"team not in the roster of {data['snapshot']}")
            unaddressed.append(f"{team_id or '(no team)'}: {why} "
                               f"({len(agent_ids)} agent scorecard(s) not sent)")
            continue
        recipient, team_name = managers[team_id]
        files = [(f"team-{safe_name(team_id)}.html", _file(month_dir, "teams", team_id))]
        files += [(f"agent-{safe_name(a)}.html", _file(month_dir, "agents", a))
                  for a in agent_ids]
        figures = data["teams"].get(team_id, {})
        rows = [(t["email_team"], t["email_team_name"].format(team=team_name, team_id=team_id)),
                (t["month_label"], month), (t["email_agents"], str(len(agent_ids))),
                (m["collected"], cny(figures.get("collected"))),
                (m["recovery_rate"], pct(figures.get("rate"))),
                (m["vetoed_agents"], str(figures["vetoed"]) if figures.get("vetoed") is not None
                 else "–"),
                (t["email_attached"], t["email_attached_team"].format(n=len(agent_ids)))]
        intro = t["email_team_intro"].format(team=team_name, team_id=team_id, month=month)
        planned.append(_message(
            Delivery(recipient, "team", team_id, [n for n, _ in files]),
            t["email_team_subject"].format(month=month, team=team_name), intro, rows, files,
            lang))
    center = data["center"] or (None,) * 5
    files = [("center.html", month_dir / "center.html"), ("index.html", month_dir / "index.html")]
    rows = [(t["month_label"], month), (m["teams"], _count(center[0])),
            (t["email_agents"], _count(center[1])), (m["collected"], cny(center[3])),
            (m["recovery_rate"], pct(center[4])), (m["vetoed_agents"], _count(center[2])),
            (t["email_attached"], t["email_attached_center"])]
    for recipient in _recipients(cfg, "center_recipients"):
        planned.append(_message(
            Delivery(recipient, "center", None, [n for n, _ in files]),
            t["email_center_subject"].format(month=month),
            t["email_center_intro"].format(month=month), rows, files, lang))
    alerts = data["alerts"]
    files = [("compliance.html", month_dir / "compliance.html")]
    rows = [(t["month_label"], month),
            (t["alerts"], " · ".join(f"{t['severity_' + s]} {alerts.get(s, 0)}"
                                     for s in ("high", "medium", "low"))),
            (m["vetoed_agents"], _count(center[2])),
            (t["email_attached"], t["compliance_page"])]
    for recipient in _recipients(cfg, "compliance_recipients"):
        planned.append(_message(
            Delivery(recipient, "compliance", None, [n for n, _ in files]),
            t["email_compliance_subject"].format(month=month),
            t["email_compliance_intro"].format(month=month), rows, files, lang))
    return planned, unaddressed


def _count(value) -> str:
    return "–" if value is None else f"{value:,}"


def _message(delivery: Delivery, subject: str, intro: str, rows: list[tuple[str, str]],
             files: list[tuple[str, Path]], lang: str) -> _Planned:
    """The message's plain-text and HTML bodies, from reports/templates/email_body.*.j2."""
    text = render("email_body.txt.j2", lang, intro=intro, rows=rows) + "\n"
    html = render("email_body.html.j2", lang, intro=intro, rows=rows) + "\n"
    return _Planned(delivery, subject, text, html, files)


def _build(p: _Planned, sender: str, domain: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = p.delivery.recipient
    msg["Subject"] = p.subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(idstring="kaohe", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(p.text)
    msg.add_alternative(p.html, subtype="html")
    for name, path in p.files:
        msg.add_attachment(path.read_bytes(), maintype="text", subtype="html", filename=name,
                           params={"charset": "utf-8"})
    p.delivery.message_id = msg["Message-ID"]
    return msg


# ---------------------------------------------------------------------------------------------
# sending and the send log


_HTML_LANG = re.compile(r'<html lang="([^"]+)"')


def rendered_lang(month_dir: Path) -> str | None:
    """The language the month's reports are in (their ``<html lang>``: the index, else the
    centre summary), None when there is no report to tell."""
    by_tag = {texts(lang)["html_lang"]: lang for lang in LANGS}
    for name in ("index.html", "center.html"):
        try:
            with (month_dir / name).open(encoding="utf-8") as f:
                head = f.read(400)
        except OSError:
            continue
        found = _HTML_LANG.search(head)
        if found and found[1] in by_tag:
            return by_tag[found[1]]
    return None


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
    month_dir = h.reports / month
    lang = lang or rendered_lang(month_dir) or (cfg.raw.get("reports") or {}).get("lang") or "zh"
    if lang not in LANGS:
        raise DeliveryError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    if not month_dir.is_dir():
        raise DeliveryError(f"no reports for {month} in {month_dir}: render the reports first "
                            f"(kaohe report --month {month})")
    if not h.work_db.exists():
        raise DeliveryError(f"no work warehouse at {h.work_db}: run the month first")
    sender, domain = _sender(cfg)
    settings = smtp_settings(cfg)
    if not dry_run and settings.user and not settings.password:
        raise DeliveryError(f"SMTP user {settings.user!r} is set but KAOHE_SMTP_PASSWORD is not "
                            "(the password is only ever read from that variable)")

    data = _read(h.work_db, month)
    planned, unaddressed = _plan(month, month_dir, data, cfg, lang)
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


def _write_outbox(todo: list[_Planned], outbox: Path, sender: str, domain: str,
                  done: list[Delivery]) -> None:
    outbox.mkdir(parents=True, exist_ok=True)
    for p in todo:
        d = p.delivery
        msg = _build(p, sender, domain)
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


def _send(todo: list[_Planned], s: SmtpSettings, sender: str, domain: str,
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
                smtp.send_message(_build(p, sender, domain))
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
