"""kaohe calibrate is safe (issue 30, docs/scorecard.md "Calibrating safely"): on the generated
sample (both months), its proposal lands on the target distribution, changes only values of the
centre's own file (comments and spelling kept: a diff of the files shows it), never touches the
compliance rules, and, replayed by kaohe whatif, pays no planted harasser; a proposal that would
pay a conduct-gated agent is refused, and so is any configuration that loosens conduct."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from kaohe.config import DEFAULT_CONFIG, load_config
from kaohe.config.edit import EditError, edit, format_value
from kaohe.scoring import whatif
from kaohe.scoring.calibrate import CalibrationError, calibrate
from kaohe.scoring.conduct_guard import loosened, paid_despite_conduct
from tests.conftest import SAMPLE_MONTHS, copy_home

FIRST, LAST = SAMPLE_MONTHS[0], SAMPLE_MONTHS[-1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True,
                          text=True, timeout=600, env=os.environ.copy())


@pytest.fixture(scope="module")
def home(tmp_path_factory, sample_build) -> Path:
    return copy_home(sample_build, tmp_path_factory.mktemp("calibrate") / "home")


@pytest.fixture(scope="module")
def proposed(home, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("proposal") / "calibrated.yaml"
    res = cli("calibrate", "--from", FIRST, "--to", LAST, "--home", str(home), "--out", str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    return {"out": out, "stdout": res.stdout}


def published(home: Path) -> Path:
    return home / "warehouse" / "kaohe.duckdb"


def _value_paths(data, prefix=()):
    """Every scalar of a parsed YAML document with its key path."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _value_paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _value_paths(v, (*prefix, i))
    else:
        yield prefix, data


def test_the_written_file_differs_from_the_original_only_in_the_changed_values(proposed):
    original = DEFAULT_CONFIG.read_text(encoding="utf-8").splitlines()
    written = proposed["out"].read_text(encoding="utf-8").splitlines()
    assert len(written) == len(original)  # no line added or dropped: every comment kept
    changed = [(a, b) for a, b in zip(original, written, strict=True) if a != b]
    assert 2 <= len(changed) <= 12, changed
    number = re.compile(r"-?\d+(\.\d+)?")
    for a, b in changed:
        if a.startswith("version:"):
            assert b.startswith('version: "2026.1-calibrated-2026-08-2026-09"'), b
            continue
        # the same line with other numbers: keys, order, flow style and comments as they were
        assert number.sub("#", a) == number.sub("#", b), (a, b)
        assert "#" not in a.split("}")[-1] or a.split("}")[-1] == b.split("}")[-1]
    # value by value: what differs is only floors and targets of rules, the bands and the version
    before = dict(_value_paths(yaml.safe_load("\n".join(original))))
    after = dict(_value_paths(yaml.safe_load("\n".join(written))))
    assert before.keys() == after.keys()
    moved = {p for p in before if before[p] != after[p]}
    assert moved and all(p == ("version",) or p[:2] == ("scorecard", "grades")
                         or (p[:2] in (("scorecard", "rules"), ("team_scorecard", "rules"))
                             and p[-1] in ("floor", "target"))
                         for p in moved), moved
    assert not any(p[2] == "compliance" for p in moved if p[:2] == ("scorecard", "rules"))
    # the team managers' rules are fitted too, except conduct, the pinned courses and the
    # regulator's deadline
    team = yaml.safe_load("\n".join(written))["team_scorecard"]["rules"]
    fitted = {team[p[2]]["measure"] for p in moved if p[:2] == ("team_scorecard", "rules")}
    assert fitted and fitted <= {"recovery_vs_target", "skill_risk_mismatches_per_100_cases",
                                 "open_tickets_past_sla_per_100_cases"}, fitted


def test_the_proposal_lands_on_the_target_distribution_and_pays_no_harasser(
        proposed, home, sample_build):
    proposal = load_config(proposed["out"])
    assert "No vetoed or conduct-gated agent earns variable pay" in proposed["stdout"]
    assert "Team managers:" in proposed["stdout"] and "team_scorecard." in proposed["stdout"]
    assert (proposed["out"].with_suffix(".summary.txt")).exists()
    harassers = json.loads((sample_build["landing"] / "_manifest.json").read_text()
                           )["harassing_agents"]
    assert harassers
    shares = {g: 0 for g in "SABCD"}
    for month in SAMPLE_MONTHS:
        result = whatif.run(published(home), month, proposal, home / "reports")
        assert result.html.exists()
        rows = result.rows
        graded = rows.filter(pl.col("grade_after").is_in(list("SABCD")))
        for g in shares:
            shares[g] += (graded["grade_after"] == g).sum()
        paid = rows.filter(pl.col("agent_id").is_in(harassers)
                           & (pl.col("variable_pay_after").fill_null(0) > 0))
        assert paid.is_empty(), paid
        assert paid_despite_conduct(rows).is_empty()
    total = sum(shares.values())
    target = {"S": 5, "A": 15, "B": 30, "C": 35, "D": 15}
    assert all(abs(100 * shares[g] / total - target[g]) <= 4 for g in target), shares


def test_no_compliance_rule_is_looser_nor_moved(proposed):
    base, proposal = load_config(None), load_config(proposed["out"])
    assert loosened(base, proposal) == []
    compliance = lambda cfg: [r for r in cfg.scorecard.rules  # noqa: E731
                              if r.dimension == "compliance"]
    assert compliance(proposal) == compliance(base)
    assert proposal.conduct_gate == base.conduct_gate
    assert proposal.contact_rules == base.contact_rules


def test_a_proposal_that_would_pay_a_gated_agent_is_refused(home, tmp_path):
    # the centre's current file has a lenient gate (compliance 0 is enough): the agents the
    # published months gated on their compliance score would earn variable pay again
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["conduct_gate"]["min_compliance_score"] = 0
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                       encoding="utf-8")
    with pytest.raises(CalibrationError, match="conduct-gated agent"):
        calibrate(published(home), FIRST, LAST, load_config(lenient))


def test_every_way_of_loosening_conduct_is_named(tmp_path):
    base = load_config(None)
    cases = {
        "floor": lambda d: d["scorecard"]["rules"]["compliance"][1].update(floor=20.0),
        "compliance weight": lambda d: d["scorecard"]["weights"].update(compliance=0.2,
                                                                        recovery=0.5),
        "min_compliance_score": lambda d: d["conduct_gate"].update(min_compliance_score=40),
        "max_grade": lambda d: d["conduct_gate"].update(max_grade="A"),
        "answered_per_debtor_day": lambda d: d["contact_rules"].update(
            answered_per_debtor_day=3),
        "veto list": lambda d: d["scorecard"]["veto_violation_types"].pop(),
        "fires later": lambda d: d["conduct_alerts"]["rules"][0].update(above=0.5),
        "removed": lambda d: d["scorecard"]["rules"]["compliance"].pop(),
        "team rule on conduct_alerts_per_agent": lambda d: next(
            r for r in d["team_scorecard"]["rules"]
            if r["measure"] == "conduct_alerts_per_agent").update(floor=3.0),
    }
    stricter = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    stricter["contact_rules"]["answered_per_debtor_day"] = 2  # a house policy stricter than 3
    strict_path = tmp_path / "strict.yaml"
    strict_path.write_text(yaml.safe_dump(stricter, sort_keys=False), encoding="utf-8")
    strict = load_config(strict_path)
    for expected, change in cases.items():
        data = yaml.safe_load(strict_path.read_text(encoding="utf-8"))
        change(data)
        path = tmp_path / f"{expected.replace(' ', '_')}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        found = loosened(strict, load_config(path))
        assert any(expected in f for f in found), (expected, found)
    assert loosened(base, base) == []


def test_the_file_editor_keeps_every_other_byte_and_refuses_what_is_not_there():
    text = ("# a comment\nversion: \"1\"   # why\nrules:\n  - {metric: a, floor: 0.30, "
            "target: 0.75}  # keep\ngrades: {S: 93, A: 87}\n")
    out = edit(text, {("rules", 0, "floor"): 0.25, ("grades", "A"): 86.5,
                      ("version",): "1-calibrated"})
    assert out == ("# a comment\nversion: \"1-calibrated\"   # why\nrules:\n  - {metric: a, "
                   "floor: 0.25, target: 0.75}  # keep\ngrades: {S: 93, A: 86.5}\n")
    assert format_value(93.0) == "93" and format_value(0.33333333) == "0.3333"
    with pytest.raises(EditError, match="does not set grades.B"):
        edit(text, {("grades", "B"): 70})


@pytest.mark.parametrize("args, message", [
    (("--from", LAST, "--to", FIRST), "is after --to"),
    (("--from", FIRST, "--to", LAST, "--out", "no-such-folder/x.yaml"), "does not exist"),
    (("--from", "2025-01", "--to", "2025-02"), "no appraised agent-month"),
    (("--from", FIRST, "--to", LAST, "--distribution", "S=50,A=50,B=10"), "--distribution"),
])
def test_the_command_refuses_what_it_cannot_do_in_one_line(home, capsys, args, message):
    # the command in process (the subprocess runs are above): exit 2, one line, no traceback
    from pipelines.cli import main

    assert main(["calibrate", *args, "--home", str(home)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_diff_the_command_prints_is_the_files_diff(proposed):
    original = DEFAULT_CONFIG.read_text(encoding="utf-8").splitlines(keepends=True)
    written = proposed["out"].read_text(encoding="utf-8").splitlines(keepends=True)
    for line in difflib.unified_diff(original, written, n=0):
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
            assert line.rstrip("\n") in proposed["stdout"]
