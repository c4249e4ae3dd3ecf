"""E-mail delivery of the reports, against a real SMTP server (aiosmtpd) on 127.0.0.1.

The module reads the shared sample's home (tests/conftest.py, sample_build: generated small data
through the real CLI; August is the month sent); each
test works on its own copy of the work warehouse (the send log lives there) with the rendered
reports shared read-only.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import shutil
import smtplib
import socket
from pathlib import Path

import duckdb
import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from kaohe.config import DEFAULT_CONFIG, load_config
from kaohe.reporting.mail import DeliveryError, send_reports, smtp_settings
from kaohe.warehouse import connect

MONTH = "2026-08"
CFG = load_config()
CENTER = CFG.raw["delivery"]["center_recipients"]
SMTP_ENV = ("KAOHE_SMTP_HOST", "KAOHE_SMTP_PORT", "KAOHE_SMTP_STARTTLS", "KAOHE_SMTP_USER",
            "KAOHE_SMTP_PASSWORD")


@pytest.fixture(scope="module")
def built(sample_build) -> dict:
    home = sample_build["home"]  # the shared sample (tests/conftest.py): read, never changed
    con = connect(home / "work" / "kaohe.duckdb", read_only=True)
    try:
        assert (home / "reports" / MONTH / "center.html").exists()  # rendered by the run
        latest = con.execute(
            "select team_id, any_value(manager_email), count(distinct manager_email) "
            "from staging.agents where snapshot_date = (select max(snapshot_date) "
            f"from staging.agents where snapshot_date <= date '{MONTH}-31') group by all"
        ).fetchall()
        agents = con.execute("select team_id, agent_id from marts.agent_month_scorecard "
                             f"where month = date '{MONTH}-01'").fetchall()
    finally:
        con.close()
    assert all(n == 1 for _, _, n in latest), "the generator gives each team one manager"
    managers = {team: mail for team, mail, _ in latest}
    expected: dict[str, set[str]] = {}
    for team, agent in agents:
        expected.setdefault(managers[team], {f"team-{team}.html"}).add(f"agent-{agent}.html")
    assert len(expected) >= 3 and all(len(v) > 2 for v in expected.values())
    return {"home": home, "managers": managers, "expected": expected,
            "teams": {t for t, _ in agents}}


@pytest.fixture
def home(built, tmp_path) -> Path:
    """A home of its own: a copy of the work warehouse, the rendered reports linked."""
    h = tmp_path / "home"
    (h / "work").mkdir(parents=True)
    shutil.copy(built["home"] / "work" / "kaohe.duckdb", h / "work" / "kaohe.duckdb")
    (h / "reports").symlink_to(built["home"] / "reports", target_is_directory=True)
    return h


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in SMTP_ENV:
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """aiosmtpd handler keeping every message; ``refuse`` rejects those recipients."""

    def __init__(self, refuse: set[str] | None = None):
        self.messages: list[dict] = []
        self.logins: list[tuple[str, str]] = []
        self.refuse = refuse or set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"rcpt": list(envelope.rcpt_tos), "msg": msg,
                              "files": {a.get_filename(): a.get_payload(decode=True)
                                        for a in msg.iter_attachments()}})
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    def by_recipient(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for m in self.messages:
            (rcpt,) = m["rcpt"]
            assert rcpt not in out, f"{rcpt} got more than one message"
            out[rcpt] = set(m["files"])
        return out


@pytest.fixture
def smtp_server(monkeypatch):
    """Start an SMTP server on 127.0.0.1; KAOHE_SMTP_HOST/PORT point delivery at it."""
    started = []

    def start(refuse: set[str] | None = None, auth: bool = False) -> Collector:
        handler = Collector(refuse)
        port = free_port()
        kwargs = {"authenticator": handler.authenticate, "auth_require_tls": False} \
            if auth else {}
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        monkeypatch.setenv("KAOHE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("KAOHE_SMTP_PORT", str(port))
        return handler

    yield start
    for controller in started:
        controller.stop()


def log_rows(home: Path) -> list[tuple]:
    con = duckdb.connect(str(home / "work" / "kaohe.duckdb"), read_only=True)
    try:
        return con.execute("select recipient, kind, team_id, attachments, message_id, dry_run "
                           "from audit.report_deliveries order by sent_at").fetchall()
    finally:
        con.close()


def config_copy(tmp_path: Path, **smtp) -> object:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["delivery"]["smtp"].update(smtp)
    path = tmp_path / "kaohe.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path)


# ---------------------------------------------------------------------------------------------


def test_each_manager_gets_exactly_their_team_report_and_their_agents_cards(
        built, home, smtp_server):
    server = smtp_server()
    result = send_reports(home, MONTH, CFG)

    got = server.by_recipient()
    managers = {r: files for r, files in got.items() if r not in CENTER}
    assert managers == built["expected"]
    for recipient in CENTER:
        assert got[recipient] == {"center.html", "index.html"}
    # no file of a team reaches anyone but its manager (and each card goes out exactly once)
    cards = [f for files in managers.values() for f in files if f.startswith("agent-")]
    assert len(cards) == len(set(cards))
    for recipient, files in managers.items():
        teams = {f[5:-5] for f in files if f.startswith("team-")}
        assert [built["managers"][t] for t in teams] == [recipient]
    # the attachments are the rendered files themselves
    reports = built["home"] / "reports" / MONTH
    for m in server.messages:
        for name, content in m["files"].items():
            source = reports / (name if not name.startswith(("team-", "agent-")) else
                                f"{name.split('-', 1)[0]}s/{name.split('-', 1)[1]}")
            assert content == source.read_bytes(), name
        body = m["msg"].get_body(("plain",)).get_content()
        html = m["msg"].get_body(("html",)).get_content()
        assert MONTH in m["msg"]["Subject"] and m["msg"]["Subject"].startswith("【考核】")
        assert m["msg"]["Message-ID"] and "http" not in body + html and "<a " not in html
    t01 = next(m for m in server.messages if m["rcpt"] == [built["managers"]["T01"]])
    assert t01["msg"]["Subject"] == f"【考核】{MONTH} 催收一组 团队月报"
    assert "催收一组" in t01["msg"].get_body(("plain",)).get_content()

    assert result.sent == len(built["expected"]) + len(CENTER) and result.skipped == 0
    assert not result.dry_run and result.unaddressed == []
    assert {r: set(v) for r, v in result.attachments.items()} == got
    rows = log_rows(home)
    assert len(rows) == result.sent and not any(r[5] for r in rows)
    assert {r[0]: set(json.loads(r[3])) for r in rows} == got
    assert {r[4] for r in rows} == {m["msg"]["Message-ID"] for m in server.messages}


def test_a_rerun_sends_nothing_and_force_sends_again(built, home, smtp_server):
    server = smtp_server()
    first = send_reports(home, MONTH, CFG)
    assert len(server.messages) == first.sent > 0

    again = send_reports(home, MONTH, CFG)
    assert again.sent == 0 and again.skipped == first.sent and again.attachments == {}
    assert len(server.messages) == first.sent
    assert {m.status for m in again.messages} == {"skipped"}

    forced = send_reports(home, MONTH, CFG, force=True)
    assert forced.sent == first.sent and len(server.messages) == 2 * first.sent
    assert len(log_rows(home)) == 2 * first.sent


def test_sending_resumes_where_a_refused_recipient_stopped_it(built, home, smtp_server):
    refused = built["managers"]["T03"]
    server = smtp_server(refuse={refused})
    with pytest.raises(DeliveryError, match="run again to send the rest"):
        send_reports(home, MONTH, CFG)
    sent_before = {m["rcpt"][0] for m in server.messages}
    assert sent_before == {built["managers"]["T01"], built["managers"]["T02"]}
    assert {r[0] for r in log_rows(home)} == sent_before

    server.refuse.clear()
    rest = send_reports(home, MONTH, CFG)
    assert rest.skipped == 2 and refused in rest.attachments
    assert not sent_before & set(rest.attachments)
    assert {m["rcpt"][0] for m in server.messages} == set(built["expected"]) | set(CENTER)


def test_dry_run_writes_eml_files_and_opens_no_connection(built, home, monkeypatch,
                                                          smtp_server):
    def no_smtp(*args, **kwargs):
        raise AssertionError("a dry run must not connect")

    monkeypatch.setattr(smtplib, "SMTP", no_smtp)
    monkeypatch.setenv("KAOHE_SMTP_PORT", str(free_port()))  # nothing listens there
    result = send_reports(home, MONTH, CFG, dry_run=True)

    assert result.dry_run and result.outbox == home / "outbox" / MONTH
    emls = sorted(result.outbox.glob("*.eml"))
    assert len(emls) == result.sent == len(built["expected"]) + len(CENTER)
    parsed = {}
    for path in emls:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        parsed[msg["To"]] = {a.get_filename() for a in msg.iter_attachments()}
        assert msg["Message-ID"] and msg["From"] == CFG.raw["delivery"]["sender"]
    assert {r: files for r, files in parsed.items() if r not in CENTER} == built["expected"]
    assert all(parsed[r] == {"center.html", "index.html"} for r in CENTER)
    assert all(r[5] for r in log_rows(home))  # logged as dry runs

    other = send_reports(home, MONTH, CFG, dry_run=True, outbox=home / "elsewhere")
    assert other.sent == result.sent and len(list((home / "elsewhere").glob("*.eml"))) == \
        result.sent  # a dry run never counts as sent

    monkeypatch.undo()  # the real smtplib again, and a real server: everything still goes out
    for name in SMTP_ENV:
        monkeypatch.delenv(name, raising=False)
    server = smtp_server()
    assert send_reports(home, MONTH, CFG).sent == result.sent == len(server.messages)


def test_env_overrides_the_smtp_settings_of_the_file():
    cfg = CFG
    assert smtp_settings(cfg, {}) == smtp_settings(cfg, {"KAOHE_SMTP_HOST": ""})
    base = smtp_settings(cfg, {})
    assert (base.host, base.port, base.starttls, base.user) == ("localhost", 25, False, "")
    s = smtp_settings(cfg, {"KAOHE_SMTP_HOST": "mail.example.cn", "KAOHE_SMTP_PORT": "2525",
                            "KAOHE_SMTP_STARTTLS": "TRUE", "KAOHE_SMTP_USER": "svc",
                            "KAOHE_SMTP_PASSWORD": "s3cret"})
    assert (s.host, s.port, s.starttls, s.user, s.password) == (
        "mail.example.cn", 2525, True, "svc", "s3cret")
    assert "s3cret" not in repr(s)
    assert smtp_settings(cfg, {"KAOHE_SMTP_STARTTLS": "false"}).starttls is False
    with pytest.raises(DeliveryError, match="KAOHE_SMTP_PORT must be a port number"):
        smtp_settings(cfg, {"KAOHE_SMTP_PORT": "smtp"})


@pytest.mark.parametrize("value", ["yes", "1", "on", "tru"])
def test_a_bad_starttls_value_is_a_clear_error_before_anything_is_sent(home, smtp_server,
                                                                        monkeypatch, value):
    server = smtp_server()
    monkeypatch.setenv("KAOHE_SMTP_STARTTLS", value)
    with pytest.raises(DeliveryError, match=f"KAOHE_SMTP_STARTTLS must be true or false, "
                                            f"not '{value}'"):
        send_reports(home, MONTH, CFG)
    assert server.messages == []


def test_the_password_is_never_read_from_the_config_file(built, home, smtp_server, tmp_path,
                                                         monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    server = smtp_server(auth=True)
    # no user: no login at all, even with a password in the file
    cfg = config_copy(tmp_path, password="file-secret")
    assert send_reports(home, MONTH, cfg).sent > 0
    assert server.logins == [] and "delivery.smtp.password is ignored" in caplog.text

    # a user but no KAOHE_SMTP_PASSWORD: refused before connecting, the file's one not used
    cfg = config_copy(tmp_path, user="svc-kaohe", password="file-secret")
    with pytest.raises(DeliveryError, match="KAOHE_SMTP_PASSWORD is not"):
        send_reports(home, MONTH, cfg, force=True)
    assert server.logins == []

    # with KAOHE_SMTP_PASSWORD: the login uses it, and it is logged nowhere
    monkeypatch.setenv("KAOHE_SMTP_PASSWORD", "env-secret")
    assert send_reports(home, MONTH, cfg, force=True).sent > 0
    assert set(server.logins) == {("svc-kaohe", "env-secret")}
    assert "env-secret" not in caplog.text and "file-secret" not in caplog.text
    assert not any("secret" in str(r) for r in log_rows(home))


def test_missing_reports_are_a_clear_error(built, tmp_path, home):
    bare = tmp_path / "bare"
    (bare / "work").mkdir(parents=True)
    shutil.copy(home / "work" / "kaohe.duckdb", bare / "work" / "kaohe.duckdb")
    with pytest.raises(DeliveryError, match="render the reports first"):
        send_reports(bare, MONTH, CFG, dry_run=True)
    # a month directory missing a team's report is refused too, before anything is written
    partial = bare / "reports" / MONTH
    shutil.copytree(built["home"] / "reports" / MONTH, partial)
    (partial / "teams" / "T02.html").unlink()
    with pytest.raises(DeliveryError, match=r"teams/T02\.html.*render the reports first"):
        send_reports(bare, MONTH, CFG, dry_run=True)
    assert not (bare / "outbox").exists()
    with pytest.raises(DeliveryError, match="YYYY-MM"):
        send_reports(bare, "2026-8", CFG, dry_run=True)


def test_a_shared_manager_gets_one_message_per_team_and_a_team_without_one_none(built, home):
    managers = built["managers"]
    con = duckdb.connect(str(home / "work" / "kaohe.duckdb"))
    con.execute("update raw.agents set manager_email = ? where team_id = 'T02'",
                [managers["T01"]])
    con.execute("update raw.agents set manager_email = null where team_id = 'T03'")
    con.close()
    result = send_reports(home, MONTH, CFG, dry_run=True)

    by_team = {m.team_id: m for m in result.messages if m.kind == "team"}
    assert "T03" not in by_team and any(u.startswith("T03: no manager_email")
                                        for u in result.unaddressed)
    assert by_team["T01"].recipient == by_team["T02"].recipient == managers["T01"]
    for team in ("T01", "T02"):
        msg = email.message_from_bytes(by_team[team].eml.read_bytes(),
                                       policy=email.policy.default)
        files = {a.get_filename() for a in msg.iter_attachments()}
        assert files == built["expected"][managers[team]]  # that team's files only
    everything = [a for m in result.messages for a in m.attachments]
    assert "team-T03.html" not in everything
    assert not built["expected"][managers["T03"]] & set(everything)
    assert os.path.basename(by_team["T02"].eml) == "team-T02.eml"
