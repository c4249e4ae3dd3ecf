"""The sample-data generator: a landing folder that follows the data contract, is the same for the
same seed, carries exactly the documented bad input, and exercises the metric rules."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from kaohe.generate import COLUMNS, SOURCES, generate, resident_id_check
from kaohe.ingest.contract import load_contract

START = date(2026, 8, 1)
OUTCOMES = {"no_answer", "busy", "invalid_number", "voicemail", "connected_debtor",
            "connected_third_party"}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list[str]]:
    out = tmp_path_factory.mktemp("landing")
    lines: list[str] = []
    manifest = generate(out, START, 1, 7, "small", progress=lines.append)
    return out, manifest, lines


def text_of(path: Path) -> str:
    """A delivered CSV as text, whatever its compression and encoding."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    if path.parent.name == "complaints":
        return data.decode("gb18030")
    return data.decode("utf-8-sig")


def read_source(root: Path, source: str) -> pl.DataFrame:
    """All files of a source as strings, tagged with the file name (bad rows included)."""
    frames = []
    for path in sorted((root / source).iterdir()):
        if path.suffix == ".parquet":
            df = pl.read_parquet(path).cast(pl.String)
        else:
            df = pl.read_csv(text_of(path).encode(), infer_schema=False,
                             truncate_ragged_lines=True)
        frames.append(df.with_columns(file=pl.lit(path.name)))
    return pl.concat(frames, how="diagonal")


def bad_lines(manifest: dict, source: str) -> set[tuple[str, int]]:
    return {(b["file"].split("/")[1], b["line"]) for b in manifest["bad_rows"]
            if b["source"] == source}


def without_bad_rows(root: Path, manifest: dict, source: str) -> pl.DataFrame:
    """Good rows only: drop the manifest's bad lines (every file read here has one line per row
    up to the bad ones, so data row k is physical line k + 1)."""
    df = read_source(root, source).with_columns(
        line=pl.int_range(2, pl.len() + 2).over("file"))
    bad = bad_lines(manifest, source)
    keep = [(f, n) not in bad for f, n in zip(df["file"], df["line"], strict=True)]
    return df.filter(pl.Series(keep))


def test_generator_columns_are_the_contracts():
    # the contract as the pipeline implements it (kaohe/ingest/contract.yaml)
    assert {name: list(src.column_names) for name, src in load_contract().items()} == {
        s: list(c) for s, c in COLUMNS.items()}


def test_headers_match_the_contract_except_the_documented_drift_and_bad_file(landing):
    out, manifest, _ = landing
    bad_files = {b["file"] for b in manifest["bad_files"]}
    drift = []
    for source in SOURCES:
        for path in sorted((out / source).iterdir()):
            if path.suffix == ".parquet":
                header = pq.read_schema(path).names
            else:
                header = text_of(path).split("\n", 1)[0].split(",")
            if f"{source}/{path.name}" in bad_files:
                assert set(header) == set(COLUMNS[source]) - {"opened_at"}
            elif header != list(COLUMNS[source]):
                drift.append((path.name, [c for c in header if c not in COLUMNS[source]]))
                assert header[: len(COLUMNS[source])] == list(COLUMNS[source])
    assert drift == [(drift[0][0], ["wechat_id"])]  # one agents snapshot grew a column


def test_formats_bom_gzip_parquet_types_and_gb18030(landing):
    out, _, _ = landing
    for path in (out / "agents").iterdir():
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    for path in (out / "calls").iterdir():
        assert path.name.endswith(".csv.gz") == (date(int(path.name[6:10]), int(path.name[10:12]),
                                                      int(path.name[12:14])).weekday() == 6)
    assert all(p.name.endswith(".csv.gz") for p in (out / "qa_flags").iterdir())
    schema = pq.read_schema(next((out / "repayments").glob("*.parquet")))
    assert str(schema.field("amount").type) == "decimal128(18, 2)"
    assert str(schema.field("paid_at").type) == "timestamp[us]"
    texts = []
    for path in (out / "complaints").iterdir():
        data = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        texts.append(data.decode("gb18030"))
    joined = "".join(texts)
    assert "投诉" in joined or "催收" in joined
    assert "<script>" in joined or "<b>" in joined or "<img" in joined


def test_amounts_have_two_decimals_and_booleans_are_words(landing):
    out, _, _ = landing
    for source, column in [("cases", "principal"), ("assignments", "amount_due"),
                           ("costs", "amount"), ("agents", "base_salary")]:
        values = read_source(out, source)[column].drop_nulls()
        assert values.str.contains(r"^\d+\.\d\d$").all(), source
    flags = read_source(out, "cases")["hardship_flag"].unique().to_list()
    assert set(flags) == {"true", "false"}


def test_call_funnel_is_realistic(landing):
    out, manifest, _ = landing
    calls = without_bad_rows(out, manifest, "calls")
    assert calls["call_id"].is_unique().all()
    assert set(calls["outcome"].unique()) == OUTCOMES
    share = calls["outcome"].value_counts(normalize=True)
    share = dict(zip(share["outcome"], share["proportion"], strict=True))
    assert 0.10 <= share["connected_debtor"] <= 0.30
    assert 0.01 <= share["connected_third_party"] <= 0.08
    assert 100_000 <= calls.height <= 200_000  # ~80 attempts per agent and day, 60 agents
    con = duckdb.connect()
    con.register("calls", calls)
    rpc, ptp, short, off, zero_ok = con.execute("""
        select count(*) filter (where outcome = 'connected_debtor'),
               count(*) filter (where ptp_amount is not null),
               count(*) filter (where outcome = 'connected_debtor' and duration_s::int < 30),
               count(*) filter (where hour(started_at::timestamp) < 8
                                   or hour(started_at::timestamp) >= 21),
               bool_and(duration_s = '0') filter (where outcome not like 'connected%')
        from calls""").fetchone()
    assert 0.2 <= ptp / rpc <= 0.45  # about a third of right-party contacts promise
    assert short > 0 and zero_ok
    assert 0.003 <= off / calls.height <= 0.03  # a small share at 07:xx or 21:xx-22:xx
    assert con.execute("""
        select bool_and(outcome = 'connected_debtor'
                        and ptp_due_date::date between started_at::date + 1
                                                   and started_at::date + 14)
        from calls where ptp_amount is not null""").fetchone()[0]


def test_some_debtors_are_called_more_than_three_times_a_day(landing):
    out, manifest, _ = landing
    calls = without_bad_rows(out, manifest, "calls")
    cases = read_source(out, "cases").filter(pl.col("risk_score") != "abc")
    over = (calls.join(cases.select("case_id", "debtor_id"), on="case_id")
            .group_by("debtor_id", pl.col("started_at").str.slice(0, 10)).len()
            .filter(pl.col("len") > 3))
    assert over.height > 0


def test_assignments_never_overlap_and_the_latest_file_wins(landing):
    out, _, _ = landing
    asg = read_source(out, "assignments").with_columns(
        pl.col("assigned_at").str.to_datetime(), pl.col("released_at").str.to_datetime())
    final = asg.sort("file").group_by("assignment_id", maintain_order=True).last()
    # Re-delivery: the same assignment_id arrives again with released_at set.
    assert final.height < asg.height
    assert (final["released_at"].is_null() | (final["released_at"] >= final["assigned_at"])).all()
    ordered = final.sort("case_id", "assigned_at").with_columns(
        next_start=pl.col("assigned_at").shift(-1).over("case_id"))
    holding = ordered.filter(pl.col("next_start").is_not_null())
    assert holding["released_at"].is_not_null().all()
    assert (holding["next_start"] >= holding["released_at"]).all()
    dpd = final["dpd_at_assignment"].cast(pl.Int64)
    assert dpd.min() >= 1 and (dpd >= 181).mean() > 0.08  # an M6+ book exists
    assert (final["amount_due"].cast(pl.Float64) > 0).all()


def test_high_risk_cases_reach_trainees_and_a_major_violation_is_confirmed(landing):
    out, _, _ = landing
    cases = read_source(out, "cases").filter(pl.col("risk_score") != "abc")
    agents = read_source(out, "agents").filter(pl.col("file") == "agents_20260801.csv")
    high_risk = cases.filter(pl.col("risk_score").cast(pl.Int64) >= 800).select("case_id")
    trainees = agents.filter(pl.col("level") == "L1").select("agent_id")
    mismatch = (read_source(out, "assignments").join(high_risk, on="case_id")
                .join(trainees, on="agent_id"))
    assert mismatch.height > 0
    violations = read_source(out, "violations")
    assert violations.filter((pl.col("severity") == "major")
                             & (pl.col("confirmed") == "true")).height >= 1


def test_resident_id_numbers_carry_valid_check_digits(landing):
    assert resident_id_check(np.array([11010519491231002]))[0] == "X"  # GB 11643 example
    out, _, _ = landing
    # archived cases of past plan cohorts (generate/history.py) keep no PII
    ids = read_source(out, "cases")["debtor_id_number"].drop_nulls()
    assert ids.str.contains(r"^\d{17}[\dX]$").all()
    first17 = ids.str.slice(0, 17).cast(pl.Int64).to_numpy()
    assert (resident_id_check(first17) == ids.str.slice(17).to_numpy()).all()
    phones = read_source(out, "cases")["debtor_phone"].drop_nulls()
    assert phones.str.contains(r"^1[3-9]\d{9}$").all()


def test_reversals_reference_a_payment_delivered_the_same_day_or_before(landing):
    out, manifest, _ = landing
    pay = without_bad_rows(out, manifest, "repayments")
    assert pay["payment_id"].is_unique().all()
    first_seen = pay.with_columns(day=pl.col("file").str.slice(11, 8))
    reversals = first_seen.filter(pl.col("payment_type") == "reversal")
    assert reversals.height > 0
    joined = reversals.join(first_seen.select("payment_id", "amount", orig_day="day"),
                            left_on="reversal_of", right_on="payment_id")
    assert joined.height == reversals.height
    assert (joined["orig_day"] <= joined["day"]).all()
    assert (joined["amount"] == joined["amount_right"]).all()


def test_complaint_verdicts_arrive_by_re_delivery(landing):
    out, _, _ = landing
    complaints = read_source(out, "complaints").filter(pl.col("severity") != "7")
    first = complaints.sort("file").group_by("complaint_id", maintain_order=True).first()
    assert first["substantiated"].is_null().all()  # under investigation when first delivered
    assert complaints.filter(pl.col("substantiated").is_not_null()).height > 0
    assert first["agent_id"].null_count() > 0


def test_manifest_points_at_the_documented_bad_content(landing):
    out, manifest, _ = landing
    reasons = {(b["source"], b["reason_code"]) for b in manifest["bad_rows"]}
    assert reasons == {("calls", r) for r in ("bad_type", "unknown_enum", "duplicate_key",
                                              "missing_value", "out_of_range", "malformed_row")
                       } | {("repayments", r) for r in ("unknown_reversal", "out_of_range",
                                                         "bad_type")
                            } | {("complaints", "out_of_range"), ("cases", "bad_type")}
    for bad in manifest["bad_rows"]:
        lines = text_of(out / bad["file"]).split("\n")
        header, line = lines[0].split(","), lines[bad["line"] - 1]
        fields = line.split(",")
        if bad["reason_code"] == "malformed_row":
            assert len(fields) == len(header) + 1
            continue
        assert len(fields) == len(header), bad
        assert fields[header.index(bad["column"])] == bad["value"], bad
        if bad["reason_code"] == "duplicate_key":  # the later line of the two is the bad one
            assert any(f.split(",")[0] == bad["value"] for f in lines[1: bad["line"] - 1])
    for bad in manifest["bad_files"]:
        assert bad["column"] not in text_of(out / bad["file"]).split("\n", 1)[0].split(",")
    assert json.loads((out / "_manifest.json").read_text(encoding="utf-8")) == manifest


def test_latent_skill_is_in_the_manifest_and_in_no_landing_file(landing):
    out, manifest, _ = landing
    skill = manifest["latent_skill"]
    agents = read_source(out, "agents")
    assert set(skill) == set(agents["agent_id"])  # every agent of the roster, no one else
    values = np.array(list(skill.values()))
    assert (values > 0).all() and 0.85 < values.mean() < 1.15 and values.std() > 0.1
    # not a function of the level: every level spreads over the skills
    levels = agents.group_by("agent_id").agg(pl.col("level").first())
    by_level = levels.with_columns(skill=pl.col("agent_id").replace_strict(skill)).group_by(
        "level").agg(pl.col("skill").std())
    assert (by_level["skill"].drop_nulls() > 0.05).all()
    for source in SOURCES:
        for path in (out / source).iterdir():
            header = (pq.read_schema(path).names if path.suffix == ".parquet"
                      else text_of(path).split("\n", 1)[0].split(","))
            assert not any("skill" in column for column in header), path.name


def test_manifest_counts_every_delivered_row(landing):
    out, manifest, _ = landing
    for source in SOURCES:
        assert read_source(out, source).height == manifest["rows"][source], source


def test_progress_is_reported_per_source_and_month_not_per_file(landing):
    _, _, lines = landing
    assert any(line.startswith("calls") for line in lines)
    assert len(lines) <= 2 * len(SOURCES)


def judged_calls(root: Path, manifest: dict) -> pl.DataFrame:
    """The good calls with their debtor, judged by the legal contact rules the way
    sql/intermediate/contact_rule_calls.sql judges them (answered calls beyond 3 an agent, debtor
    and day; unanswered attempts beyond 6 an agent, dialled number and day; the 22:00-08:00
    curfew), in pure DuckDB over the delivered files."""
    calls = without_bad_rows(root, manifest, "calls")
    cases = read_source(root, "cases").filter(pl.col("risk_score") != "abc")
    con = duckdb.connect()
    con.register("calls", calls)
    con.register("cases", cases.select("case_id", "debtor_id", "debtor_phone").unique())
    return con.sql("""
        with keyed as (
            select c.call_id, c.agent_id, c.case_id, d.debtor_id, d.debtor_phone,
                   c.dialled_number, c.started_at::timestamp as started_at,
                   c.started_at::timestamp::date as day,
                   c.outcome in ('connected_debtor', 'connected_third_party') as answered
            from calls c join cases d using (case_id)
        )
        select *, strftime(day, '%Y-%m') as month, hour(started_at) as hour,
               answered and row_number() over (
                   partition by agent_id, debtor_id, day, answered
                   order by started_at, call_id) > 3 as answered_over_cap,
               not answered and row_number() over (
                   partition by agent_id, coalesce(dialled_number, debtor_id), day, answered
                   order by started_at, call_id) > 6 as unanswered_over_cap,
               hour(started_at) < 8 or hour(started_at) >= 22 as curfew
        from keyed""").pl().with_columns(
        breach=pl.col("answered_over_cap") | pl.col("unanswered_over_cap") | pl.col("curfew"),
        harasser=pl.col("agent_id").is_in(manifest["harassing_agents"]))


def test_ordinary_agents_retry_hard_to_reach_debtors_within_the_legal_rules(landing):
    out, manifest, _ = landing
    calls = judged_calls(out, manifest)
    ordinary = calls.filter(~pl.col("harasser"))
    # the dialler's stops keep an ordinary agent's queue within the law: a rare breach by hand
    assert ordinary["breach"].mean() < 0.01
    # ... yet a hard-to-reach debtor gets several attempts a day: the old rule (more than 3
    # attempts a debtor a day) would flag a good share of debtor-days
    per_day = calls.group_by("debtor_id", "day").len()
    assert (per_day["len"] > 3).mean() > 0.20
    assert (per_day["len"] > 6).mean() > 0.005
    # retries are spread over the day: one an hour at most on a case (but the harassers' bursts)
    spread = ordinary.group_by("case_id", "agent_id", "day", "hour").len()
    assert (spread["len"] > 1).mean() < 0.01
    # late calls before 22:00 are lawful and happen; the curfew is kept by nearly everyone
    lawful_late = ordinary.filter(pl.col("hour") == 21).height
    assert 0.002 < lawful_late / ordinary.height < 0.03
    assert ordinary["curfew"].mean() < 0.001


def test_every_harasser_breaks_the_legal_rules_and_the_manifest_names_the_breakers(landing):
    out, manifest, _ = landing
    calls = judged_calls(out, manifest)
    rules = ["answered_over_cap", "unanswered_over_cap", "curfew"]
    harassers = calls.filter(pl.col("harasser"))
    per_month = harassers.group_by("month", "agent_id").agg(
        pl.col("day").n_unique().alias("days"),
        pl.col("day").filter(pl.col("answered_over_cap")).n_unique().alias("answered_days"),
        *[pl.col(r).sum() for r in rules], pl.len())
    months = calls["month"].unique().to_list()
    assert per_month.height == len(manifest["harassing_agents"]) * len(months)
    for row in per_month.iter_rows(named=True):
        # more than 3 answered calls to one debtor on most of the days they work, bursts of
        # unanswered redials past 6 on one number, calls in the curfew
        assert row["answered_days"] >= row["days"] / 2, row
        assert row["unanswered_over_cap"] > 0 and row["curfew"] > 0, row
        assert sum(row[r] for r in rules) > 0.05 * row["len"], row  # conduct_alerts' 2 %
    # the manifest's ground truth is what the files show, rule by rule
    found = calls.filter(pl.col("breach")).group_by("month", "agent_id").agg(
        *[pl.col(r).sum() for r in rules])
    truth = {(m, a): [n[r] for r in rules]
             for m, agents in manifest["contact_rule_breaches"].items() for a, n in agents.items()}
    assert {(r["month"], r["agent_id"]): [r[x] for x in rules]
            for r in found.iter_rows(named=True)} == truth
    assert {m: sorted(a) for m, a in manifest["contact_rule_breakers"].items()} == {
        m: sorted(a) for m, a in manifest["contact_rule_breaches"].items()}
    # a few ordinary agents break a rule in a month, not most
    agents = calls["agent_id"].n_unique() - len(manifest["harassing_agents"])
    for month, breakers in manifest["contact_rule_breakers"].items():
        assert set(manifest["harassing_agents"]) <= set(breakers), month
        ordinary = set(breakers) - set(manifest["harassing_agents"])
        assert 0 < len(ordinary) <= 0.1 * agents, month


def test_dialled_numbers_are_the_debtors_phone_or_a_second_number(landing):
    out, manifest, _ = landing
    calls = judged_calls(out, manifest)
    assert calls["dialled_number"].null_count() == 0
    assert calls["dialled_number"].str.contains(r"^1[3-9]\d{9}$").all()
    on_file = (calls["dialled_number"] == calls["debtor_phone"]).mean()
    assert 0.8 < on_file < 0.98  # mostly the phone on file, sometimes the second number
    numbers = calls.group_by("debtor_id").agg(pl.col("dialled_number").n_unique())
    assert (numbers["dialled_number"] == 2).mean() > 0.1
    assert numbers["dialled_number"].max() == 2
