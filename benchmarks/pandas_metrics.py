"""The pandas alternative: ``marts.agent_month_metrics`` computed straight from the landing files.

    uv run python benchmarks/pandas_metrics.py --landing DIR --month 2026-08 [--out FILE.parquet]

What a collection centre's analyst would write instead of the pipeline: read every landing file
as text, type it with ``pd.to_numeric`` / ``pd.to_datetime``, drop the rows the data contract
rejects, keep the latest delivery of each key, then the same metric definitions
(``sql/marts/agent_month_metrics.sql``) as merges and groupbys. Vectorised pandas throughout: the
only Python loops are over sources and files.

Cleaning, as the pipeline does it (``kaohe/ingest/``, ``kaohe/ingest/contract.yaml``):
  - a file is dropped whole when its name breaks the naming rule, it is empty or truncated, it is
    neither UTF-8 nor GB18030, its header lacks a required column (or has an empty, duplicate or
    reserved name), or it cannot be parsed at all;
  - a line with the wrong number of fields is dropped (the CSV reader's rejects);
  - a row is dropped when a value does not parse as its type, a required value is missing, a
    value is outside its enum or bounds (timestamps and dates within [2000-01-01, 2100-01-01)),
    or a cross-column rule of the contract marks it bad (``ROW_RULES`` below); a reversal must
    name a payment delivered in an earlier file or earlier in the same file;
  - within a file, a repeated primary key keeps its first occurrence;
  - across files, the latest file wins per key (business date, then seq, then delivery order);
    snapshots (agents, cases) keep one row per key and snapshot date (the file's date).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import resource
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kaohe.ingest.contract import Source, load_contract  # noqa: E402
from kaohe.ingest.ingestor import SANE_FROM, SANE_UNTIL, LandedFile, _decodes, discover  # noqa: E402

# The sources the metric table reads (macro feeds other marts).
SOURCES = ("agents", "cases", "assignments", "calls", "qa_flags", "repayments", "complaints",
           "violations", "trainings", "surveys", "costs", "plans", "tickets", "appeals")
# Columns kept after cleaning, besides the primary key (the rest only serves to judge a row).
KEEP = {
    "agents": ["agent_id", "team_id", "level", "status"],
    "cases": ["case_id", "debtor_id", "hardship_flag", "dpd"],
    "assignments": ["assignment_id", "case_id", "agent_id", "assigned_at", "released_at",
                    "dpd_at_assignment", "amount_due"],
    "calls": ["call_id", "case_id", "agent_id", "started_at", "duration_s", "outcome",
              "ptp_amount", "ptp_due_date", "dialled_number"],
    "qa_flags": ["call_id", "label", "confidence"],
    "repayments": ["payment_id", "case_id", "paid_at", "amount", "payment_type", "reversal_of"],
    "complaints": ["complaint_id", "case_id", "agent_id", "received_at", "category",
                   "substantiated"],
    "violations": ["agent_id", "occurred_on", "violation_type", "severity", "confirmed"],
    "trainings": ["agent_id", "course_type", "due_date", "completed_on", "score", "passed"],
    "surveys": ["agent_id", "responded_at", "score"],
    "costs": ["agent_id", "incurred_on", "cost_type", "amount"],
    "plans": ["case_id", "agent_id", "created_at", "social_referral", "plan_type", "status"],
    "tickets": ["case_id", "ticket_type", "opened_at", "closed_at"],
    "appeals": ["subject_type", "subject_id", "decided_at", "decision"],
}


# The contract's cross-column rules (contract.yaml `rules`) of those sources, True = the row is
# bad. A NULL in a comparison makes the SQL condition NULL, i.e. not bad: hence the notna().
ROW_RULES = {
    "agents": lambda d: d["employment_type"].eq("outsourced") & d["agency_id"].isna(),
    "cases": lambda d: d["region_code"].notna()
    & ~d["region_code"].str.fullmatch(r"[0-9]{6}").fillna(False).astype(bool),
    "assignments": lambda d: d["released_at"] < d["assigned_at"],
    "calls": lambda d: d["ptp_amount"].gt(0) & (
        d["ptp_due_date"].isna()
        | (d["outcome"].notna() & d["outcome"].ne("connected_debtor"))),
    "repayments": lambda d: d["payment_type"].eq("reversal") & d["reversal_of"].isna(),
    "tickets": lambda d: d["closed_at"] < d["opened_at"],
}

UTF8_BOM = b"\xef\xbb\xbf"
SAMPLE_BYTES = 1 << 20
RESERVED = {"_file_id", "_file", "_line", "_business_date", "_seq"}
INT_TEXT = r" *[+-]?[0-9]{1,18} *"
DEC_TEXT = r" *[+-]?[0-9]{1,16}(?:[.][0-9]{0,2})? *"
BOOL_TEXT = {"true": True, "1": True, "false": False, "0": False}
SANE = (pd.Timestamp(SANE_FROM), pd.Timestamp(SANE_UNTIL))


class BadFile(Exception):
    """The whole file is dropped."""


# ---------------------------------------------------------------------------------------------
# Reading one file as text


def _read_csv(f: LandedFile, src: Source) -> pd.DataFrame:
    try:
        data = gzip.decompress(f.path.read_bytes()) if f.fmt == "csv.gz" else f.path.read_bytes()
    except (EOFError, OSError, zlib.error) as exc:
        raise BadFile(f"truncated: {exc}") from None
    if not data[:SAMPLE_BYTES].strip(b"\r\n\t \x00" + UTF8_BOM):
        raise BadFile("empty file")
    sample, complete = data[:SAMPLE_BYTES], len(data) <= SAMPLE_BYTES
    body = data[len(UTF8_BOM):] if data.startswith(UTF8_BOM) else data
    if data.startswith(UTF8_BOM) or _decodes(sample, "utf-8", complete):
        encoding = "utf-8"
    elif _decodes(sample, "gb18030", complete):
        encoding = "gb18030"
    else:
        raise BadFile("neither UTF-8 nor GB18030")
    bad_lines = False
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise BadFile(f"invalid {encoding}") from None
        try:  # UTF-8 at the top but GBK further down: the whole file may be GB18030
            text, encoding = data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:  # no: the lines that do not decode are dropped
            text, bad_lines = body.decode("utf-8", errors="replace"), True
    first = text.split("\n", 1)[0].split("\r", 1)[0].lstrip("\ufeff")
    try:
        header = [h.strip().lower() for h in next(csv.reader([first]), [])]
    except csv.Error as exc:
        raise BadFile(f"unreadable header: {exc}") from None
    _check_header(src, header)
    buf = body if encoding == "utf-8" and not bad_lines else text.encode("utf-8")
    try:
        df = pd.read_csv(io.BytesIO(buf), engine="pyarrow", dtype=str, keep_default_na=False,
                         on_bad_lines="skip")
    except Exception as exc:  # noqa: BLE001 - any parser error drops the file
        raise BadFile(f"unreadable: {exc}") from None
    if len(df.columns) != len(header):
        raise BadFile("header and parsed columns differ")
    df.columns = header
    if bad_lines:
        df = df[~df.apply(lambda c: c.str.contains("\ufffd", regex=False)).any(axis=1)]
    return df


def _read_parquet(f: LandedFile, src: Source) -> pd.DataFrame:
    try:
        df = pd.read_parquet(f.path)
    except Exception as exc:  # noqa: BLE001
        raise BadFile(f"unreadable: {exc}") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    _check_header(src, list(df.columns))
    return df


def _check_header(src: Source, header: list[str]) -> None:
    if "" in header or len(set(header)) != len(header):
        raise BadFile("empty or duplicate column name")
    if set(header) & (RESERVED | ({"snapshot_date"} if src.kind == "snapshot" else set())):
        raise BadFile("reserved column name")
    if missing := [c for c in src.required_columns if c not in header]:
        raise BadFile(f"missing column(s) {missing}")


# ---------------------------------------------------------------------------------------------
# Typing and checking


def _is_text(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.StringDtype) or (
        s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"))


def _parse(raw: pd.Series, typ: str) -> pd.Series:
    """Typed value of a text column ('' = NULL); NaN/NaT/NA where it does not parse."""
    s = raw.where(raw.ne(""))
    if typ == "str":
        return s
    if typ == "int":
        return pd.to_numeric(s.where(s.str.fullmatch(INT_TEXT).fillna(False).astype(bool))
                             .str.strip(), errors="coerce").astype("float64")
    if typ == "dec":
        return pd.to_numeric(s.where(s.str.fullmatch(DEC_TEXT).fillna(False).astype(bool))
                             .str.strip(), errors="coerce").astype("float64").round(2)
    if typ == "float":
        return pd.to_numeric(s.str.strip(), errors="coerce").astype("float64")
    if typ == "ts":
        return pd.to_datetime(s.str.strip(), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    if typ == "date":
        return pd.to_datetime(s.str.strip(), format="%Y-%m-%d", errors="coerce")
    if typ == "bool":
        return s.str.strip().str.lower().map(BOOL_TEXT).astype("boolean")
    raise ValueError(typ)


def _cast(raw: pd.Series, typ: str) -> pd.Series:
    """Typed value of a column a parquet file already types (a cast, not a text parse)."""
    if typ == "str":
        s = raw.astype(str).str.strip().where(raw.notna())
        return s.where(s.ne(""))
    if typ in ("int", "dec", "float"):
        s = pd.to_numeric(raw.astype("float64"), errors="coerce")
        return s.round(0 if typ == "int" else 2) if typ != "float" else s
    if typ in ("ts", "date"):
        s = pd.to_datetime(raw, errors="coerce")
        return s.dt.normalize() if typ == "date" else s
    return raw.astype("boolean")


def _typed_and_checked(df: pd.DataFrame, src: Source, csv_file: bool = True
                       ) -> tuple[pd.DataFrame, pd.Series]:
    """(the file's rows typed, True where a row breaks a column check or a rule)."""
    out, bad = {}, pd.Series(False, index=df.index)
    for col in src.columns:
        if col.name not in df.columns:  # an optional column (free text) the file lacks
            out[col.name] = pd.Series(index=df.index, dtype=str)
            continue
        raw = df[col.name]
        text = _is_text(raw)
        v = _parse(raw, col.type) if text else _cast(raw, col.type)
        out[col.name] = v
        missing = v.isna()
        blank = raw.isna() | raw.eq("") if text else raw.isna()
        if not col.nullable:  # the CSV reader reads an empty field as NULL, parquet keeps ''
            bad |= missing & (blank if csv_file else raw.isna())
        if col.type != "str":
            bad |= missing & ~blank
        if col.enum:
            bad |= v.notna() & ~v.isin(col.enum)
        if col.min is not None:
            bad |= v.lt(col.min).fillna(False).astype(bool)
        if col.max is not None:
            bad |= v.gt(col.max).fillna(False).astype(bool)
        if col.gt is not None:
            bad |= v.le(col.gt).fillna(False).astype(bool)
        if col.type in ("ts", "date"):
            bad |= (v < SANE[0]) | (v >= SANE[1])
    typed = pd.DataFrame(out, index=df.index)
    if src.name in ROW_RULES:
        bad |= ROW_RULES[src.name](typed).fillna(False).astype(bool)
    return typed, bad


def load_source(landing_files: list[LandedFile], src: Source) -> pd.DataFrame:
    """The staged rows of one source: good rows of every readable file, latest file per key."""
    keep = list(dict.fromkeys([*src.pk, *KEEP[src.name]]))
    parts = []
    for order, f in enumerate(landing_files):  # delivery order: business date, seq, name
        if f.fmt is None:
            continue  # bad file name
        try:
            raw = _read_parquet(f, src) if f.fmt == "parquet" else _read_csv(f, src)
        except BadFile:
            continue
        typed, bad = _typed_and_checked(raw, src, f.fmt != "parquet")
        # a repeated key within the file: its first occurrence only, even if that one is bad
        dup = typed.duplicated(list(src.pk), keep="first")
        part = typed.loc[~bad, keep].assign(_order=order, _dup=dup[~bad])
        if src.kind == "snapshot":
            part["snapshot_date"] = pd.Timestamp(f.business_date)
        parts.append(part)
    if not parts:  # no readable file: an empty, typed table
        typed = _typed_and_checked(pd.DataFrame({c: pd.Series(dtype=str)
                                                 for c in src.column_names}), src)[0]
        parts = [typed[keep].assign(_order=0, _dup=False)]
        if src.kind == "snapshot":
            parts[0]["snapshot_date"] = pd.Series(dtype="datetime64[ns]")
    df = pd.concat(parts, ignore_index=True)
    drop = df["_dup"].to_numpy(copy=True)
    if src.name == "repayments":
        drop |= _unknown_reversal(df).to_numpy()
    # then the latest file wins per key (a snapshot's key includes its date)
    key = (["snapshot_date"] if src.kind == "snapshot" else []) + list(src.pk)
    drop[~drop] = df.loc[~drop, key].duplicated(keep="last").to_numpy()
    df = df[~drop] if drop.any() else df  # most keys arrive once: no copy then
    return df.drop(columns=["_order", "_dup"]).reset_index(drop=True)


def _unknown_reversal(df: pd.DataFrame) -> pd.Series:
    """A reversal must name a payment delivered in an earlier file (a loaded row), or a payment
    of its own file that passes the row checks (``df``: the rows that pass them)."""
    is_rev = df["payment_type"].eq("reversal") & df["reversal_of"].notna()
    rev = df.loc[is_rev, ["reversal_of", "_order"]].reset_index()
    pay = df.loc[df["payment_type"].eq("payment"), ["payment_id", "_order", "_dup"]]
    m = rev.merge(pay, left_on="reversal_of", right_on="payment_id", suffixes=("", "_pay"))
    found = m[((m["_order_pay"] < m["_order"]) & ~m["_dup"]) | (m["_order_pay"] == m["_order"])]
    return is_rev & ~df.index.isin(found["index"].unique())


def load_landing(landing: Path) -> dict[str, pd.DataFrame]:
    contract = load_contract()
    found = discover(landing)
    return {name: load_source(found[name], contract[name]) for name in SOURCES}


# ---------------------------------------------------------------------------------------------
# The metrics


def bucket_of(dpd: pd.Series) -> pd.Series:
    return pd.cut(dpd, [-np.inf, 30, 60, 90, 120, 150, 180, np.inf],
                  labels=["M1", "M2", "M3", "M4", "M5", "M6", "M6+"]).astype(str)


def _latest_snapshot(df: pd.DataFrame, key: str, last_day: pd.Timestamp) -> pd.DataFrame:
    df = df[df["snapshot_date"] <= last_day]
    return df.sort_values("snapshot_date").drop_duplicates(key, keep="last").set_index(key)


def _holder(events: pd.DataFrame, event_id: str, at: str, assignments: pd.DataFrame
            ) -> pd.DataFrame:
    """The assignment holding each event's case at ``at``: assigned_at <= at < released_at (or
    still open); overlapping ones (a data-quality failure): the latest assigned_at wins."""
    m = events[[event_id, "case_id", at]].merge(
        assignments[["assignment_id", "case_id", "agent_id", "assigned_at", "released_at"]],
        on="case_id")
    m = m[(m["assigned_at"] <= m[at]) & (m["released_at"].isna() | (m[at] < m["released_at"]))]
    m = m.sort_values(["assigned_at", "assignment_id"]).drop_duplicates(event_id, keep="last")
    return m[[event_id, "assignment_id", "agent_id"]]


def _in(s: pd.Series, start, end) -> pd.Series:
    return (s >= start) & (s < end)


def compute(landing: Path, month: str, params: dict) -> pd.DataFrame:
    """One row per agent of ``month`` with the columns of ``marts.agent_month_metrics``."""
    d = load_landing(Path(landing))
    ms, me = pd.Timestamp(params["month_start"]), pd.Timestamp(params["month_end"])
    qs, last_day = pd.Timestamp(params["quarter_start"]), me - pd.Timedelta(days=1)
    cap = params["contact_cap"]
    weights = {w["bucket"]: w["weight"] for w in params["bucket_weights"]}

    # -- roster and case master: latest snapshot on or before the month's last day
    roster = _latest_snapshot(d["agents"], "agent_id", last_day)
    active = roster.index[roster["status"].eq("active")
                          & roster["snapshot_date"].eq(roster["snapshot_date"].max())]
    cm = _latest_snapshot(d["cases"], "case_id", last_day)
    hardship = cm["hardship_flag"].fillna(False).astype(bool)

    asg = d["assignments"].assign(bucket=lambda a: bucket_of(a["dpd_at_assignment"]))

    # -- payment attribution: a reversal follows the payment it reverses
    rep = d["repayments"]
    is_rev = rep["payment_type"].eq("reversal")
    holder = _holder(rep[~is_rev], "payment_id", "paid_at", asg)
    events = rep.assign(
        signed=rep["amount"].where(~is_rev, -rep["amount"]),
        root=rep["reversal_of"].where(is_rev, rep["payment_id"]),
    ).merge(holder[["payment_id", "assignment_id"]].rename(columns={"payment_id": "root"}),
            on="root", how="left")
    attributed = events.merge(asg[["assignment_id", "agent_id", "bucket"]], on="assignment_id")

    # -- recovery
    month_asg = asg[(asg["assigned_at"] < me)
                    & (asg["released_at"].isna() | (asg["released_at"] > ms))]
    paid_before = attributed[attributed["paid_at"] < ms].groupby("assignment_id")["signed"].sum()
    open_due = (month_asg["amount_due"]
                - month_asg["assignment_id"].map(paid_before).fillna(0)).clip(lower=0).round(2)
    # the share of the month each assignment held its case (an open one: to the month's end)
    held = (month_asg["released_at"].fillna(me).clip(upper=me)
            - month_asg["assigned_at"].clip(lower=ms)) / (me - ms)
    recovery = month_asg.assign(open_due=open_due, exposure=open_due * held).groupby(
        "agent_id").agg(cases_assigned=("case_id", "nunique"), amount_due=("open_due", "sum"),
                        amount_due_exposure=("exposure", "sum"))

    paid = attributed[_in(attributed["paid_at"], ms, me)]
    collections = paid.assign(
        m6plus=paid["signed"].where(paid["bucket"].eq("M6+"), 0.0),
        credited=paid["signed"] * paid["bucket"].map(weights).fillna(1.0),
    ).groupby("agent_id").agg(collected=("signed", "sum"), collected_m6plus=("m6plus", "sum"),
                              credited_collections=("credited", "sum"))

    # -- contact
    calls = d["calls"]
    mc = calls[_in(calls["started_at"], ms, me)].copy()
    mc["day"] = mc["started_at"].dt.normalize()
    mc["debtor"] = mc["case_id"].map(cm["debtor_id"]).fillna("case:" + mc["case_id"])
    # every attempt of every agent ranked per debtor and day: only busy (debtor, day) matter
    busy = mc[mc.groupby(["debtor", "day"])["call_id"].transform("size") > cap]
    busy = busy.sort_values(["debtor", "day", "started_at", "call_id"])
    mc["over_cap"] = mc["own_over_cap"] = False
    mc.loc[busy.index[busy.groupby(["debtor", "day"]).cumcount() >= cap], "over_cap"] = True
    # the agent's own attempts ranked alone: beyond the cap among them (a subset of the above)
    own_rank = busy.groupby(["agent_id", "debtor", "day"]).cumcount()
    mc.loc[busy.index[own_rank >= cap], "own_over_cap"] = True

    connected = mc["outcome"].isin(["connected_debtor", "connected_third_party"])
    rpc = mc["outcome"].eq("connected_debtor")
    time_of_day = mc["started_at"] - mc["day"]
    # the legal contact rules (version 3): the agent's own answered calls per debtor and day,
    # own unanswered attempts per dialled number (the debtor without one) and day, the curfew
    number = mc["dialled_number"].where(mc["dialled_number"].notna(), mc["debtor"]) \
        if "dialled_number" in mc else mc["debtor"]
    ordered = mc.assign(answered=connected, number=number).sort_values(["started_at", "call_id"])
    a_rank = ordered.groupby(["agent_id", "debtor", "day", "answered"]).cumcount()
    u_rank = ordered.groupby(["agent_id", "number", "day", "answered"]).cumcount()
    answered_over = (ordered["answered"] & (a_rank >= params["answered_cap"])).reindex(mc.index)
    unanswered_over = (~ordered["answered"] & (u_rank >= params["unanswered_cap"])
                       ).reindex(mc.index)
    curfew = (time_of_day < pd.Timedelta(params["legal_start"])) | (
        time_of_day >= pd.Timedelta(params["legal_end"]))
    # appeals: an item whose latest decided appeal (by decided_at, then appeal_id) overturned it
    # counts against nobody (8.1)
    ap = d["appeals"]
    ap = ap[ap["decision"].notna()].sort_values(["decided_at", "appeal_id"])
    last = ap.groupby(["subject_type", "subject_id"]).tail(1)
    gone = last[last["decision"].eq("overturned")]
    withdrawn = {t: set(gone.loc[gone["subject_type"].eq(t), "subject_id"])
                 for t in ("qa_flag", "complaint", "violation", "contact_rule")}
    kept_call = ~mc["call_id"].isin(withdrawn["contact_rule"])
    answered_over, unanswered_over = answered_over & kept_call, unanswered_over & kept_call
    curfew = curfew & kept_call
    qa = d["qa_flags"]
    qa = qa[~(qa["call_id"] + ":" + qa["label"]).isin(withdrawn["qa_flag"])]
    confident = qa["confidence"] >= params["qa_threshold"]
    flagged = qa.loc[qa["label"].isin(params["qa_labels"]) & confident, "call_id"]
    privacy_flagged = qa.loc[qa["label"].eq("privacy_disclosure") & confident, "call_id"]
    contact = pd.DataFrame({
        "agent_id": mc["agent_id"],
        "call_attempts": 1,
        "connected_calls": connected,
        "rpc_calls": rpc,
        "talk_time_s": mc["duration_s"].where(connected, 0),
        "effective_calls": rpc & (mc["duration_s"] >= params["effective_min_s"]),
        "ptp_made": mc["ptp_amount"].gt(0),
        "over_cap_calls": mc["over_cap"],
        "own_over_cap_calls": mc["own_over_cap"],
        "off_hours_calls": (time_of_day < pd.Timedelta(params["hours_start"]))
        | (time_of_day >= pd.Timedelta(params["hours_end"])),
        "qa_flagged_calls": connected & mc["call_id"].isin(flagged),
        "suspected_privacy_calls": connected & mc["call_id"].isin(privacy_flagged),
        "answered_over_cap_calls": answered_over,
        "unanswered_over_cap_calls": unanswered_over,
        "curfew_calls": curfew,
        "contact_rule_breaches": answered_over | unanswered_over | curfew,
    }).groupby("agent_id").sum()

    handled = mc[["agent_id", "case_id"]].drop_duplicates()
    plans = d["plans"]
    relieved = set(plans.loc[plans["plan_type"].isin(["hardship_relief", "restructuring"])
                             & (plans["created_at"] < me)
                             & plans["status"].ne("cancelled"), "case_id"])
    handled = handled.assign(
        hardship=handled["case_id"].map(hardship).fillna(False).astype(bool)
    )
    handled = handled.assign(relieved=handled["hardship"] & handled["case_id"].isin(relieved)
                             ).groupby("agent_id").agg(
        cases_handled=("case_id", "size"), hardship_cases_handled=("hardship", "sum"),
        relieved_hardship_cases=("relieved", "sum"))

    # -- promises to pay due in the month (made in any month)
    due = calls[calls["ptp_amount"].gt(0) & _in(calls["ptp_due_date"], ms, me)]
    window = due[["call_id", "case_id", "started_at", "ptp_due_date"]].merge(
        events[["case_id", "paid_at", "signed"]], on="case_id")
    window = window[(window["paid_at"] >= window["started_at"])
                    & (window["paid_at"] < window["ptp_due_date"] + pd.Timedelta(days=1))]
    paid_for = window.groupby("call_id")["signed"].sum().round(2)
    kept = due["call_id"].map(paid_for).fillna(0.0) >= due["ptp_amount"]
    # a broken promise behind a fee waiver or restructuring approval of its case, opened from
    # the call to the end of the due date and still open at its SLA deadline, the deadline
    # before the end of the due date (closed exactly at the deadline is in time)
    sla = pd.Series({s["ticket_type"]: s["hours"] for s in params["sla_hours"]})
    tk = d["tickets"]
    tk = tk[tk["ticket_type"].isin(["fee_waiver", "restructuring_approval"])
            & tk["ticket_type"].isin(sla.index)]
    tk = tk.assign(deadline=tk["opened_at"] + pd.to_timedelta(
        np.floor(tk["ticket_type"].map(sla).astype("float64") * 3600 + 0.5), unit="s"))
    tk = tk[tk["closed_at"].isna() | (tk["closed_at"] > tk["deadline"])]
    late = due.loc[~kept, ["call_id", "case_id", "started_at", "ptp_due_date"]].merge(
        tk[["case_id", "opened_at", "deadline"]], on="case_id")
    day_end = late["ptp_due_date"] + pd.Timedelta(days=1)
    late = late[(late["opened_at"] >= late["started_at"]) & (late["opened_at"] < day_end)
                & (late["deadline"] < day_end)]
    promises = pd.DataFrame({"agent_id": due["agent_id"], "ptp_due": 1, "ptp_kept": kept,
                             "ptp_neutralised": due["call_id"].isin(late["call_id"])}
                            ).groupby("agent_id").sum()

    # -- version 3, "gaming does not pay": uncontacted collections, reach per case, commitments
    gaming = _gaming_parts(params, ms, me, calls, mc, asg, month_asg, rep, paid, due, window,
                           late, weights)

    # -- conduct
    cp = d["complaints"]
    cp = cp[_in(cp["received_at"], ms, me) & cp["substantiated"].ne(False).fillna(True)
            & ~cp["complaint_id"].isin(withdrawn["complaint"])]
    cp_holder = _holder(cp[cp["agent_id"].isna()], "complaint_id", "received_at", asg)
    cp = cp.assign(agent_id=cp["agent_id"].fillna(
        cp["complaint_id"].map(cp_holder.set_index("complaint_id")["agent_id"])))
    cp = cp[cp["agent_id"].notna()]
    complaints = cp.assign(
        privacy=cp["category"].isin(["privacy_leak", "third_party_disclosure"])
        & cp["substantiated"].fillna(False)
    ).groupby("agent_id").agg(complaints=("complaint_id", "size"),
                              privacy_complaints=("privacy", "sum"))

    v = d["violations"]
    v = v[v["confirmed"].fillna(False).astype(bool) & _in(v["occurred_on"], ms, me)
          & ~v["violation_id"].isin(withdrawn["violation"])]
    violations = pd.DataFrame({
        "agent_id": v["agent_id"],
        "privacy_violations": v["violation_type"].isin(["privacy_breach",
                                                        "unauthorized_disclosure"]),
        "major_violations": v["severity"].eq("major"),
    }).groupby("agent_id").sum()

    # -- satisfaction, skills, cost, relief
    s = d["surveys"]
    surveys = s[_in(s["responded_at"], ms, me)].groupby("agent_id").agg(
        surveys=("score", "size"), csat_avg=("score", "mean"))

    t = d["trainings"]
    mandatory_due = t["course_type"].eq("mandatory") & _in(
        t["due_date"], me - pd.DateOffset(months=12), me)
    simulation = t["course_type"].eq("simulation") & _in(t["completed_on"], qs, me)
    training = pd.DataFrame({
        "agent_id": t["agent_id"],
        "mandatory_due": mandatory_due,
        "mandatory_passed": mandatory_due & t["passed"].fillna(False).astype(bool)
        & (t["completed_on"] < me),
        "simulation_score": t["score"].where(simulation),
    }).groupby("agent_id").agg(mandatory_due=("mandatory_due", "sum"),
                               mandatory_passed=("mandatory_passed", "sum"),
                               simulation_score=("simulation_score", "mean"))

    c = d["costs"]
    c = c[_in(c["incurred_on"], ms, me)]
    cost = c.assign(field_visit=c["amount"].where(c["cost_type"].eq("field_visit"), 0.0)
                    ).groupby("agent_id").agg(total_cost=("amount", "sum"),
                                              field_visit_cost=("field_visit", "sum"))

    p = d["plans"]
    p = p[_in(p["created_at"], ms, me)]
    relief = pd.DataFrame({
        "agent_id": p["agent_id"],
        "relief_plans": p["case_id"].map(hardship).fillna(False).astype(bool),
        "social_referrals": p["social_referral"].fillna(False).astype(bool),
    }).groupby("agent_id").sum()

    # -- aging (version 2): each holding's opening and closing dpd snapshots
    snaps = d["cases"]
    snaps = (snaps.loc[snaps["dpd"].notna() & (snaps["snapshot_date"] < me),
                       ["case_id", "snapshot_date", "dpd"]]
             if "dpd" in snaps.columns else snaps.iloc[:0].assign(dpd=pd.Series(dtype=float)))
    dpd_sent = "dpd" in cm.columns and bool(cm["dpd"].notna().any())
    holdings = month_asg[["assignment_id", "case_id", "agent_id"]].assign(
        open_on=month_asg["assigned_at"].clip(lower=ms).dt.normalize(),
        close_on=(month_asg["released_at"].fillna(me).clip(upper=me)
                  - pd.Timedelta(seconds=1)).dt.normalize())
    both = holdings.merge(snaps, on="case_id")

    def _last(on: str) -> pd.DataFrame:
        rows = both[both["snapshot_date"] <= both[on]]
        return rows.sort_values("snapshot_date").drop_duplicates("assignment_id", keep="last")

    stretch = _last("open_on").merge(_last("close_on")[["assignment_id", "snapshot_date", "dpd"]],
                                     on="assignment_id", suffixes=("_open", "_close"))
    stretch = stretch[stretch["snapshot_date_close"] > stretch["snapshot_date_open"]]

    def _rank(dpd: pd.Series) -> pd.Series:  # current 0, M1 1 ... M6 6, M6+ 7
        return np.minimum(7, np.ceil(dpd.astype(float) / 30))

    aging = pd.DataFrame({
        "agent_id": stretch["agent_id"], "aging_cases": 1,
        "aging_reduced": _rank(stretch["dpd_close"]) < _rank(stretch["dpd_open"]),
        "rolled_forward": _rank(stretch["dpd_close"]) > _rank(stretch["dpd_open"]),
    }).groupby("agent_id").sum()

    # -- the agents of the month, and the table
    agents = pd.Index(active).union(month_asg["agent_id"].unique()).union(
        contact.index).union(collections.index).union(complaints.index).union(
        violations.index).unique().sort_values()
    m = pd.DataFrame(index=pd.Index(agents, name="agent_id"))
    m = m.join([roster[["team_id", "level"]], recovery, collections, contact, promises,
                complaints, violations, surveys, training, cost, handled, relief, aging, gaming])

    money = ["amount_due", "amount_due_exposure", "collected", "collected_m6plus",
             "credited_collections", "uncontacted_collections", "total_cost", "field_visit_cost"]
    m[money] = m[money].round(2)
    counts = ["cases_assigned", "call_attempts", "connected_calls", "rpc_calls", "talk_time_s",
              "effective_calls", "cases_handled", "ptp_made", "ptp_due", "ptp_kept",
              "ptp_neutralised", "over_cap_calls", "own_over_cap_calls", "off_hours_calls",
              "answered_over_cap_calls", "unanswered_over_cap_calls", "curfew_calls",
              "contact_rule_breaches",
              "complaints", "qa_flagged_calls", "suspected_privacy_calls",
              "privacy_complaints", "privacy_violations", "major_violations", "surveys",
              "mandatory_due", "mandatory_passed", "hardship_cases_handled", "relief_plans",
              "relieved_hardship_cases", "social_referrals", "uncontacted_payments",
              "cases_attempted", "cases_reached", "commitments_due"]
    m[counts] = m[counts].fillna(0).astype("int64")

    def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
        return num / den.where(den.ne(0))

    out = pd.DataFrame({
        "agent_id": m.index,
        "month": pd.Timestamp(ms).date(),
        "team_id": m["team_id"],
        "level": m["level"],
        "cases_assigned": m["cases_assigned"],
        "amount_due": m["amount_due"].fillna(0.0),
        "collected": m["collected"].fillna(0.0),
        "recovery_rate": ratio(m["collected"].fillna(0.0), m["amount_due"]),
        "amount_due_exposure": m["amount_due_exposure"].fillna(0.0),
        "exposure_recovery_rate": ratio(m["collected"].fillna(0.0), m["amount_due_exposure"]),
        "collected_m6plus": m["collected_m6plus"].fillna(0.0),
        "credited_collections": m["credited_collections"].fillna(0.0),
        "call_attempts": m["call_attempts"],
        "connected_calls": m["connected_calls"],
        "rpc_calls": m["rpc_calls"],
        "rpc_rate": ratio(m["rpc_calls"], m["call_attempts"]),
        "talk_time_s": m["talk_time_s"],
        "effective_calls": m["effective_calls"],
        "cases_handled": m["cases_handled"],
        "ptp_made": m["ptp_made"],
        "ptp_due": m["ptp_due"],
        "ptp_kept": m["ptp_kept"],
        "ptp_kept_rate": ratio(m["ptp_kept"], m["ptp_due"]),
        "ptp_neutralised": m["ptp_neutralised"],
        "ptp_kept_rate_adjusted": ratio(m["ptp_kept"], m["ptp_due"] - m["ptp_neutralised"]),
        "over_cap_calls": m["over_cap_calls"],
        "own_over_cap_calls": m["own_over_cap_calls"],
        "off_hours_calls": m["off_hours_calls"],
        "over_cap_rate": ratio(m["over_cap_calls"], m["call_attempts"]),
        "own_over_cap_rate": ratio(m["own_over_cap_calls"], m["call_attempts"]),
        "off_hours_rate": ratio(m["off_hours_calls"], m["call_attempts"]),
        "answered_over_cap_calls": m["answered_over_cap_calls"],
        "unanswered_over_cap_calls": m["unanswered_over_cap_calls"],
        "curfew_calls": m["curfew_calls"],
        "contact_rule_breaches": m["contact_rule_breaches"],
        "contact_rule_breach_rate": ratio(m["contact_rule_breaches"], m["call_attempts"]),
        "complaints": m["complaints"],
        "complaints_per_1k_cases": ratio(1000.0 * m["complaints"], m["cases_handled"]),
        "qa_flagged_calls": m["qa_flagged_calls"],
        "threat_ratio": ratio(m["qa_flagged_calls"], m["connected_calls"]),
        "privacy_incidents": m["privacy_violations"] + m["privacy_complaints"],
        "suspected_privacy_calls": m["suspected_privacy_calls"],
        "major_violations": m["major_violations"],
        "veto": m["major_violations"] > 0,
        "surveys": m["surveys"],
        "csat_avg": m["csat_avg"],
        "mandatory_due": m["mandatory_due"],
        "mandatory_passed": m["mandatory_passed"],
        "mandatory_pass_rate": ratio(m["mandatory_passed"], m["mandatory_due"]),
        "simulation_score": m["simulation_score"],
        "total_cost": m["total_cost"].fillna(0.0),
        "cost_per_case": ratio(m["total_cost"].fillna(0.0), m["cases_handled"]),
        "field_visit_share": ratio(m["field_visit_cost"], m["total_cost"]),
        "hardship_cases_handled": m["hardship_cases_handled"],
        "relief_plans": m["relief_plans"],
        "relief_rate": ratio(m["relieved_hardship_cases"], m["hardship_cases_handled"]),
        "social_referrals": m["social_referrals"],
        **_aging_columns(m, dpd_sent, ratio),
        "uncontacted_collections": m["uncontacted_collections"].fillna(0.0),
        "uncontacted_payments": m["uncontacted_payments"],
        "cases_attempted": m["cases_attempted"],
        "cases_reached": m["cases_reached"],
        "attempted_case_share": ratio(m["cases_attempted"], m["cases_held"]),
        "case_reach_rate": ratio(m["cases_reached"], m["cases_held"]),
        "expected_case_reach_rate": ratio(m["expected_reached"], m["cases_held"]).round(9),
        "case_reach_vs_expected": ratio(m["cases_reached"], m["expected_reached"]).round(9),
        "commitments_due": m["commitments_due"],
        "commitment_kept_rate": ratio(m["commitment_paid"], m["commitment_amount"]),
        "kept_commitment_cases": m["kept_commitment_cases"],
        "kept_commitment_case_rate": ratio(m["kept_commitment_cases"], m["cases_held"]).round(9),
        "expected_kept_commitment_case_rate": ratio(m["expected_kept"], m["cases_held"]).round(9),
        "kept_commitments_vs_expected": ratio(m["kept_commitment_cases"],
                                              m["expected_kept"]).round(9),
        "contact_rule_breaches_per_case": ratio(m["contact_rule_breaches"], m["cases_assigned"]),
        "effective_threat_ratio": ratio(m["qa_flagged_calls"], m["effective_calls"]),
    }).reset_index(drop=True)
    return out


def _gaming_parts(params, ms, me, calls, mc, asg, month_asg, rep, paid, due, window, late,
                  weights) -> pd.DataFrame:
    """Per agent: collections on cases the holder never called before the payment (a reversal
    dated by the payment it reverses), cases held / attempted / reached in the month, and the
    promises that are commitments (a right-party call of commit_min_s seconds, for
    commit_min_share of the holding's amount due), weighed by the part paid by the due date."""
    # uncontacted: the holder's first call to the case within the holding, of any month
    # an unanswered attempt, or a conversation of effective length (not a call over in seconds)
    counts = ~calls["outcome"].isin(["connected_debtor", "connected_third_party"]) | (
        calls["duration_s"] >= params["effective_min_s"])
    held_calls = calls.loc[counts, ["case_id", "agent_id", "started_at"]].merge(
        asg[["assignment_id", "case_id", "agent_id", "assigned_at", "released_at"]],
        on=["case_id", "agent_id"])
    held_calls = held_calls[(held_calls["started_at"] >= held_calls["assigned_at"]) & (
        held_calls["released_at"].isna() | (held_calls["started_at"] < held_calls["released_at"]))]
    first = held_calls.groupby("assignment_id")["started_at"].min()
    payment_at = paid["root"].map(rep.set_index("payment_id")["paid_at"])
    first_at = paid["assignment_id"].map(first)
    never = first_at.isna() | (first_at > payment_at)
    credited = paid["signed"] * paid["bucket"].map(weights).fillna(1.0)
    uncontacted = pd.DataFrame({
        "agent_id": paid["agent_id"],
        "uncontacted_collections": credited.where(never, 0.0),
        "uncontacted_payments": never & paid["payment_type"].eq("payment"),
    }).groupby("agent_id").sum()

    # reach: per (agent, case) held in the month, any call / an effective call while holding it
    h = month_asg.assign(held_from=month_asg["assigned_at"].clip(lower=ms),
                         held_to=month_asg["released_at"].fillna(me).clip(upper=me))
    hc = h[["agent_id", "case_id", "held_from", "held_to"]].merge(
        mc[["agent_id", "case_id", "started_at", "duration_s", "outcome"]],
        on=["agent_id", "case_id"])
    hc = hc[(hc["started_at"] >= hc["held_from"]) & (hc["started_at"] < hc["held_to"])]
    hc = hc.assign(reached=hc["outcome"].eq("connected_debtor")
                   & (hc["duration_s"] >= params["effective_min_s"]))
    per_case = hc.groupby(["agent_id", "case_id"])["reached"].any().reset_index()
    # expected: each case held reached at the centre's same-month rate for its bucket (the
    # bucket of the agent's latest holding of it), over every agent's cases held
    held_cases = (h.sort_values("held_from").groupby(["agent_id", "case_id"])["bucket"].last()
                  .reset_index().merge(per_case, on=["agent_id", "case_id"], how="left"))
    held_cases["reached"] = held_cases["reached"].astype("boolean").fillna(False).astype(float)
    # ... among the agents of a similar case load (8.0): the agents ranked by cases held (then
    # id) in equal bands, as many as reach_load_bands but of at least 10 agents each
    loads = held_cases.groupby("agent_id").size().rename("held").reset_index().sort_values(
        ["held", "agent_id"])
    n = len(loads)
    bands = min(params["reach_load_bands"], max(1, n // 10))
    loads["band"] = 1 + (np.arange(n) * bands) // max(n, 1)
    held_cases = held_cases.merge(loads[["agent_id", "band"]], on="agent_id")
    held_cases["rate"] = held_cases.groupby(["bucket", "band"], dropna=False)["reached"].transform(
        "mean")
    reach = month_asg.groupby("agent_id")["case_id"].nunique().rename("cases_held").to_frame(
    ).join(per_case.groupby("agent_id").agg(cases_attempted=("case_id", "size"),
                                            cases_reached=("reached", "sum"))).join(
        held_cases.groupby("agent_id")["rate"].sum().round(9).rename("expected_reached"))

    # commitments among the promises due in the month
    holder = _holder(due, "call_id", "started_at", asg)
    owed = due["call_id"].map(holder.set_index("call_id")["assignment_id"].map(
        asg.set_index("assignment_id")["amount_due"])).fillna(0.0)
    commitment = (due["duration_s"] >= params["commit_min_s"]) & (
        due["ptp_amount"] >= params["commit_min_share"] * owed)
    paid_for = window.groupby("call_id")["signed"].sum().round(2)
    towards = due["call_id"].map(paid_for).fillna(0.0).clip(lower=0).clip(upper=due["ptp_amount"])
    counted = commitment & ~due["call_id"].isin(late["call_id"])
    promises = pd.DataFrame({
        "agent_id": due["agent_id"],
        "commitments_due": commitment,
        "commitment_amount": due["ptp_amount"].where(counted),
        "commitment_paid": towards.where(counted),
    }).groupby("agent_id").agg(commitments_due=("commitments_due", "sum"),
                               commitment_amount=("commitment_amount", "sum"),
                               commitment_paid=("commitment_paid", "sum"))
    # SQL's sum over no commitment is NULL (no rate), not 0
    none = due.loc[counted, "agent_id"].unique()
    promises.loc[~promises.index.isin(none), ["commitment_amount", "commitment_paid"]] = np.nan

    # 7.0: per case held, the best-kept commitment due in the month that the holder took (the
    # middle office's neutralised ones included: a broken one counts 0 either way), against the
    # centre's same-month average per case of the bucket
    share = pd.DataFrame({"agent_id": due["agent_id"], "case_id": due["case_id"],
                          "kept_share": towards / due["ptp_amount"]})[commitment]
    best = share.groupby(["agent_id", "case_id"])["kept_share"].max().reset_index()
    kc = held_cases[["agent_id", "case_id", "bucket"]].merge(
        best, on=["agent_id", "case_id"], how="left")
    kc["kept_share"] = kc["kept_share"].fillna(0.0)
    kc["rate"] = kc.groupby("bucket", dropna=False)["kept_share"].transform("mean")
    kept = kc.groupby("agent_id").agg(kept_commitment_cases=("kept_share", "sum"),
                                      expected_kept=("rate", "sum")).round(9)
    return uncontacted.join([reach, promises, kept], how="outer")


def _aging_columns(m: pd.DataFrame, sent: bool, ratio) -> dict[str, pd.Series]:
    """NULL when the lender sends no dpd (version 2), else 0 for an agent with no measured
    holding."""
    if not sent:
        none = pd.Series([None] * len(m), index=m.index, dtype="object")
        return {c: none for c in ("aging_cases", "aging_reduced", "rolled_forward",
                                  "aging_reduction_rate", "roll_forward_rate")}
    counts = {c: m[c].fillna(0).astype("int64")
              for c in ("aging_cases", "aging_reduced", "rolled_forward")}
    return {**counts,
            "aging_reduction_rate": ratio(counts["aging_reduced"], counts["aging_cases"]),
            "roll_forward_rate": ratio(counts["rolled_forward"], counts["aging_cases"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--landing", type=Path, required=True)
    ap.add_argument("--month", required=True, help="YYYY-MM")
    ap.add_argument("--out", type=Path, help="write the table to this parquet file")
    args = ap.parse_args()

    from kaohe.config import load_config
    from kaohe.models.marts import metric_params

    params = metric_params(load_config(), args.month)
    started = time.perf_counter()
    result = compute(args.landing, args.month, params)
    seconds = time.perf_counter() - started
    if args.out:
        result.to_parquet(args.out, index=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pandas: {seconds:.1f} s, {len(result):,} rows, peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
