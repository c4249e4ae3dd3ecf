"""Who gets which of a month's reports, and each message built (kaohe/reporting/mail.py sends them).

Read from the work warehouse (read-only): the roster's team managers
(``sql/reports/delivery_roster.sql``), each team's appraised agents, what the send log already
records; planned: one message per team manager and team, one per centre recipient, one per
compliance recipient (the rules are in kaohe/reporting/mail.py's docstring); built: subject and body
from ``reports/i18n.yaml`` and ``reports/templates/email_body.*.j2``, the files attached.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

import duckdb

from kaohe.config import Config
from kaohe.models import model_sql
from kaohe.months import month_bounds
from kaohe.paths import data_path, safe_name
from kaohe.reporting.i18n import LANGS, cny, metric_labels, pct, render, texts
from kaohe.warehouse import connect

log = logging.getLogger("kaohe.reporting.mail")

EMAIL = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$")


class DeliveryError(RuntimeError):
    """Delivery cannot start or did not finish; the message says why and what to do."""


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
class Planned:
    """A message ready to build: its delivery, wording and files."""

    delivery: Delivery
    subject: str
    text: str
    html: str
    files: list[tuple[str, Path]]


def sender_of(cfg: Config) -> tuple[str, str]:
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


def read_recipients_data(work_db: Path, month: str) -> dict:
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
                     "select team_id, agents, vetoed_agents, collected, exposure_recovery_rate "
                     "from marts.team_month_metrics where month = ?", [start]).fetchall()}
        center = con.execute(
            "select teams, agents, vetoed_agents, collected, exposure_recovery_rate "
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


def plan(month: str, month_dir: Path, data: dict, cfg: Config, lang: str
          ) -> tuple[list[Planned], list[str]]:
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
                (m["exposure_recovery_rate"], pct(figures.get("rate"))),
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
            (m["exposure_recovery_rate"], pct(center[4])),
            (m["vetoed_agents"], _count(center[2])),
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
             files: list[tuple[str, Path]], lang: str) -> Planned:
    """The message's plain-text and HTML bodies, from reports/templates/email_body.*.j2."""
    text = render("email_body.txt.j2", lang, intro=intro, rows=rows) + "\n"
    html = render("email_body.html.j2", lang, intro=intro, rows=rows) + "\n"
    return Planned(delivery, subject, text, html, files)


def build_message(p: Planned, sender: str, domain: str) -> EmailMessage:
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
