"""Generated documentation: ``python -m kaohe.docs`` rewrites docs/data-contract.md from the
contract file, and a test fails when the committed page and the contract drift apart."""

from __future__ import annotations

import sys
from pathlib import Path

from kaohe.ingest.contract import load_contract
from kaohe.models import analyst_views, intermediate_models, model_dictionary, view_dictionary
from kaohe.models.marts import MONTHLY_MARTS, dictionary

DOCS = Path(__file__).resolve().parents[1] / "docs"

REASONS = {
    "bad_type": "a value that is not of the column's type (`2026-08-03 25:61:00`, `12.345`, `abc`)",
    "out_of_range": "a value outside its range (`duration_s = -5`, `amount = 0`, `severity = 7`, "
    "a date before 2000 or after 2099)",
    "unknown_enum": "a value not in the column's list (`outcome = hung_up`)",
    "missing_value": "a required value is empty (a key, `reversal_of` of a reversal, "
    "`agency_id` of an outsourced agent)",
    "duplicate_key": "the key appears again later in the same file with other values (the "
    "first one is kept)",
    "duplicate_row": "a line with the same value in every field as an earlier line of the same "
    "file: dropped, the earlier one stands for it; like `repeated_header`, not counted toward "
    "`ingest.max_rejected_share` (two exports concatenated into one file)",
    "repeated_header": "a line that repeats the header (every field is its column's name): "
    "skipped, not a record",
    "unknown_reversal": "a reversal of a payment that was never delivered",
    "malformed_row": "a line with the wrong number of fields, or broken quoting",
    "out_of_window": "a record dated outside its file's window: after the file's business date "
    "plus `ingest.record_date_window_days.after` (7), or, for calls, repayments, surveys and "
    "costs (delivered once), before it minus `before` (45): a call of 2099 in a file of "
    "2026-09-15, calls of 2026 in a file named 2020",
    "encoding_error": "a line that does not decode in the file's encoding (UTF-8, or GB18030/GBK, "
    "decided from the whole file); as a whole file, a header that decodes in neither",
    "missing_column": "(whole file) a required column is missing from the header",
    "truncated_file": "(whole file) a compressed file that ends early",
    "empty_file": "(whole file) no header row at all",
    "bad_file_name": "(whole file) the name does not follow `<source>_<YYYYMMDD>[_<seq>].<ext>`",
    "unreadable_file": "(whole file) a file that cannot be read (I/O error, permission denied, "
    "removed while the run listed it), or anything else that stops a file from being read; "
    "the rest of the month loads",
    "bad_id": "an identifier (`agent_id`, `team_id`, `case_id`... every `*_id` column and "
    "`reversal_of`) that is not a plain name: ASCII letters, digits and `_ . -`, not starting "
    "with a dot, at most 64 characters. Reports are files named after ids, so `../x`, `a/b`, "
    "spaces, control, zero-width and look-alike characters are refused; the reason names which "
    "(a NUL byte, a control character U+0001, a leading or trailing space, a zero-width "
    "character U+200B, a full-width or a Greek/Cyrillic look-alike letter U+0410...)",
    "too_many_rejected": "(whole file) a file of 100 records or more of which more than "
    "`ingest.max_rejected_share` (20%) would be rejected: one row naming the commonest reasons "
    "instead of a row per record; nothing of it loads and an earlier version of it stays",
    "outside_landing": "(whole file) a symbolic link to a place outside the landing folder: "
    "not followed",
    "not_a_file": "(whole file) an entry that is not a regular file: a named pipe (never opened, "
    "so it cannot block the run), a socket or device, a folder inside a source folder, a "
    "dangling symbolic link",
    "bad_profile": "(whole file) the folder's source profile cannot be used (a YAML error, an "
    "unknown key, a value map onto a value the contract does not have...): every file of the "
    "folder waits here, and is read once the profile is corrected (docs/profiles.md)",
    "dropped_by_profile": "a row the source profile sets aside by one of its `drop` rules (an "
    "internal leg, an inbound call), with the rule's reason: not a record of the source, so "
    "not counted toward `ingest.max_rejected_share`",
}


def contract_markdown() -> str:
    out = [
        "# Data contract (generated from `kaohe/ingest/contract.yaml`: edit that file, then run "
        "`uv run python -m kaohe.docs`)",
        "",
        "What a lender's IT team delivers, and what kaohe does with it: the interface between "
        "the lender's systems and kaohe, as the pipeline implements it.",
        "",
        "## Landing folder",
        "```",
        "<landing>/<source>/<source>_<YYYYMMDD>[_<seq>].<csv|csv.gz|parquet>",
        "<landing>/calls/calls_20260803.csv",
        "<landing>/repayments/repayments_20260805_02.csv     (second file of that day)",
        "<landing>/complaints/complaints_20260810.csv        (GB18030 is fine)",
        "```",
        "CSV: header row (any order, names case-insensitive), comma, `\"` quoting, UTF-8 with or "
        "without BOM, or GB18030/GBK (detected and decoded). Empty string = null. Timestamps "
        "`YYYY-MM-DD HH:MM:SS` in the lender's local time (Asia/Shanghai), dates `YYYY-MM-DD`, "
        "amounts with at most 2 decimals, booleans `true/false/1/0`. Parquet columns may carry "
        "native types. Trailing empty fields on a line are ignored.",
        "",
        "**Your system's own export** (version 3): a source folder may instead hold a dialler's, "
        "HR system's or core system's own files (their column names, codes, time formats, "
        "encoding, file names), read through a **source profile**: a `profile.yaml` beside the "
        "files, or `ingest.profiles` in the configuration. Shipped: Asterisk CDR, FreeSWITCH "
        "`cdr_csv`, a Chinese cloud contact centre's 外呼明细. The mapped rows meet every rule "
        "below, and what the profile could not map is quarantined with the profile's name in "
        "the reason. See [profiles](profiles.md); `kaohe profile check` tries one on a file.",
        "",
        "## What happens to a file",
        "1. **Registry** (`audit.file_registry`): path, size, sha256, source, business date, seq, "
        "encoding, rows read / loaded / rejected, status, warnings. The same file again is a "
        "no-op; new content under the same name replaces the earlier version's rows (status "
        "`replaced`) once it loads: a new version rejected whole leaves the earlier one loaded. "
        "The same content already loaded under another name is not loaded again (status "
        "`duplicate`); keys delivered with other values by two files of the same date and "
        "sequence are a warning (`conflicting_delivery`). A file holding lines twice (its "
        "header again, exact copies of its lines: two exports concatenated) loads them once, "
        "with a warning (`repeated_header`, `duplicate_row`); rows read counts every line read "
        "as a record, the copies among the rejected, so rows read = loaded + rejected.",
        "2. **Raw** (`raw.<source>`, writer database only): every accepted row of every file "
        "version, typed, with lineage `_file`, `_line` (record number, header = 1), "
        "`_business_date`, `_seq`, and any extra columns as text. This is the one physical "
        "copy of each row.",
        "3. **Staging** (`staging.<source>`, published as a table; a view in the writer's "
        "database: raw minus the versions listed in `raw.<source>__superseded`): events and "
        "reference data keep one row per primary key, the latest file winning (business date, "
        "then seq, then arrival); snapshots keep one row per `snapshot_date` and key (history).",
        "4. **Quarantine** (`audit.quarantine`): every rejected row or file with its line, reason "
        "code, message and the raw text with debtor PII masked. Rows read = loaded + rejected.",
        "",
        "Header names are matched to the contract after Unicode NFKC normalisation, removal of "
        "invisible characters, trimming and lower-casing, in CSV and parquet alike "
        "(`Debtor_Name`, ` DEBTOR_NAME`, full-width `ｄｅｂｔｏｒ_name` are all `debtor_name`). "
        "Debtor PII (`debtor_name`, `debtor_phone`, `debtor_id_number`) is replaced during the "
        "read by HMAC-SHA256 under `KAOHE_PII_KEY`: the column at that header position is "
        "hashed whatever its type. A run refuses to publish while any of these columns holds a "
        "value that is not a pseudonym. Free text (`complaints.description`, extra columns, "
        "quarantined lines) and every value quoted in a quarantine reason are masked as `***`: "
        "see [operations](operations.md#personal-information) for what that masking can and "
        "cannot promise.",
        "",
        "## Reasons a row or file is rejected",
        "| reason_code | meaning |",
        "|---|---|",
        *[f"| `{code}` | {text} |" for code, text in REASONS.items()],
        "",
        "## Sources",
    ]
    for src in load_contract().values():
        out += ["", f"### {src.name} ({src.kind}): {src.description}", "",
                "| column | type | rules |", "|---|---|---|"]
        for c in src.columns:
            rules = []
            if c.pk:
                rules.append("**PK**")
            if not c.nullable:
                rules.append("required value")
            if not c.required:
                rules.append("optional column")
            if c.enum:
                rules.append("one of " + ", ".join(f"`{v}`" for v in c.enum))
            if c.min is not None:
                rules.append(f">= {c.min}")
            if c.max is not None:
                rules.append(f"<= {c.max}")
            if c.gt is not None:
                rules.append(f"> {c.gt}")
            if c.pii:
                rules.append("*PII*: HMAC-SHA256 at ingestion")
            if c.text:
                rules.append("free text: phone, ID and card numbers and the case's debtor name "
                             "masked")
            if c.id:
                rules.append("plain identifier")
            out.append(f"| {c.name} | {c.type} | {'; '.join(rules)} |")
        for r in src.rules:
            out.append(f"\nRule (`{r.code}`): {r.message} — `{r.when}`.")
        for ref in src.references:
            out.append(f"\nRule (`{ref.code}`): {ref.message}.")
    return "\n".join(out) + "\n"


# The legal contact rules explained to a team manager, with one debtor-day worked through.
CONTACT_RULES = [
    "## Contact rules 联系规则 (version 3)",
    "",
    "Conduct is judged by today's rules, which limit what reaches the debtor, not every dial a "
    "predictive dialler makes (configuration `contact_rules`; `config/regulatory_rules.yaml` "
    "cites each source, and says which wording could not be checked against the official "
    "text):",
    "- **answered calls** (`connected_debtor`, `connected_third_party`): at most 3 an agent "
    "makes to one debtor in a calendar day (GB/T 45251-2025, in force since 2025-02-28);",
    "- **unanswered attempts** (`no_answer`, `busy`, `voicemail`, `invalid_number`): at most 6 "
    "an agent makes to one dialled number in a day (China Banking Association, 2026 guideline); "
    "per debtor when the lender sends no `calls.dialled_number` (stricter, and the run says "
    "so);",
    "- **legal hours**: no call started before 08:00 or at/after 22:00 (both).",
    "",
    "Only the agent's own calls count against the agent (`answered_over_cap_calls`, "
    "`unanswered_over_cap_calls`, `curfew_calls`, `contact_rule_breaches`, "
    "`contact_rule_breach_rate`); answered calls over the cap because several agents reached "
    "the same debtor are the dialler's (`center_month_summary."
    "cross_agent_answered_over_cap_calls`). A centre's own stricter policy "
    "(`metrics.contact_cap_per_day` on attempts, `metrics.contact_hours`) is still measured, "
    "by `over_cap_calls`, `own_over_cap_calls` and `off_hours_calls`, but the default "
    "scorecard and alerts judge the legal rules.",
    "",
    "**One debtor-day, worked through.** Agent A01 works debtor D1 on 2026-08-12; D1's phone "
    "on file is n1, and a relative's number n2 is on the case:",
    "",
    "| time | number | outcome | answered # | unanswered # on the number | legal? |",
    "|---|---|---|---|---|---|",
    "| 08:05 | n1 | no_answer | | 1 | yes |",
    "| 09:10 | n1 | busy | | 2 | yes |",
    "| 10:15 | n1 | no_answer | | 3 | yes |",
    "| 11:20 | n1 | connected_debtor | 1 | | yes |",
    "| 14:30 | n2 | no_answer | | 1 (n2) | yes |",
    "| 16:00 | n1 | connected_debtor | 2 | | yes |",
    "| 19:40 | n1 | no_answer | | 4 | yes |",
    "| 21:30 | n1 | connected_debtor | 3 | | yes (after the house hours of 21:00: an "
    "`off_hours_calls` for the house policy, not a breach) |",
    "| 21:50 | n1 | voicemail | | 5 | yes |",
    "",
    "Nine dials, all lawful: `contact_rule_breaches` = 0. The version-1 reading (3 attempts "
    "a day) would have blamed her for 6 over-cap calls. A fourth answered call to D1 that day, "
    "a seventh unanswered attempt on n1 (or, without `dialled_number`, on D1), or any call at "
    "22:00 or later would each be one breach; one call breaking two rules counts once in "
    "`contact_rule_breaches`.",
]


def metrics_markdown() -> str:
    out = [
        "# Metric dictionary 指标字典 (generated from `sql/marts/*.yaml`: edit those, then run "
        "`uv run python -m kaohe.docs`)",
        "",
        "Every table below is in the published warehouse (`<home>/warehouse/kaohe.duckdb`), one "
        "SQL file each under `sql/marts/`. The same definitions are the warehouse column "
        "comments (`select column_name, comment from duckdb_columns() where schema_name = "
        "'marts'`). Months are half-open intervals `[M_start, M_end)` in the lender's local "
        "time; `month` is the first day. Ratios are DOUBLE and NULL when the denominator is 0; "
        "counts are 0, not NULL, when nothing happened; amounts are DECIMAL(18,2). Every row "
        "records the `config_version` (version + hash of the configuration) it was built with.",
        "",
        "Shared rules (the intermediate models at the end of this page, one SQL file each "
        "under `sql/intermediate/`): a case is held at time t by the assignment with "
        "`assigned_at <= t < coalesce(released_at, +inf)` (overlaps: the latest `assigned_at` "
        "holds); buckets from `dpd_at_assignment`: M1 1-30, M2 31-60, M3 61-90, M4 91-120, "
        "M5 121-150, M6 151-180, M6+ >= 181; a payment counts for the assignment holding its case "
        "at `paid_at`, a reversal negatively for the assignment of the payment it reverses, dated "
        "at its own `paid_at` (claw-back); a complaint goes to its `agent_id`, else to the holder "
        "of its case when received, and counts unless `substantiated = false`.",
        "",
        "Decisions where the specification is silent: a call whose case is in no snapshot is "
        "ranked for the contact cap with its case as the debtor; team and level come from the "
        "agent's row in the latest snapshot on or before the month's last day that contains the "
        "agent; agents without a team are grouped as `(no team)` in the team mart; open tickets "
        "are judged at the month's end, or at the newest ticket file for the month to date.",
    ]
    out += ["", *CONTACT_RULES]
    for table in MONTHLY_MARTS:
        d = dictionary(table)
        out += ["", f"## `{d.table}`", "", f"{d.description['en']}  ", f"{d.description['zh']}",
                "", f"Grain: {d.grain}. SQL: `sql/marts/{table}.sql`.", "",
                "| column | type | definition | 定义 |", "|---|---|---|---|"]
        for c in d.columns:
            out.append(f"| `{c['name']}` | {c['type']} | {c['en']} | {c['zh']} |")
    out += ["", "# Views for analysts 分析视图", "",
            "Views over the marts, in the `marts` schema of the published warehouse (and of the "
            "writer's database), for the questions asked every month without a window function: "
            "`select * from marts.agents_current where team_id = 'T01'`, `select agent_id, "
            "composite_change from marts.agent_month_changes where month = date '2026-08-01' "
            "and composite_change > 0 order by 2 desc`. They always read the marts as built: "
            "nothing to refresh."]
    for name in analyst_views():
        v = view_dictionary(name)
        out += ["", f"## `{v['table']}`", "", f"{v['description']['en']}  ",
                f"{v['description']['zh']}", "",
                f"Grain: {v['grain']}. SQL: `sql/views/{name}.sql`."]
        if v.get("includes"):
            out += ["", f"Columns: {v['includes']['en']}.  ", f"列：{v['includes']['zh']}。"]
        if v["columns"]:
            out += ["", "| column | type | definition | 定义 |", "|---|---|---|---|"]
            out += [f"| `{c['name']}` | {c['type']} | {c['en']} | {c['zh']} |"
                    for c in v["columns"]]
    out += ["", "# Intermediate models 中间模型", "",
            "The shared rules the marts, the reports and the e-mail delivery read, defined once "
            "each: a view, or a table macro (a view with arguments) called like "
            "`select * from intermediate.roster_at(date '2026-10-31')`. They are in the "
            "published warehouse too."]
    for qualified in intermediate_models():
        name = qualified.split(".", 1)[1]
        d = model_dictionary("intermediate", name)
        call = f"{d.table}({', '.join(d.params)})" if d.params else d.table
        out += ["", f"## `{call}`", "", f"{d.description['en']}  ", f"{d.description['zh']}",
                "", f"Grain: {d.grain}. SQL: `sql/intermediate/{name}.sql`.", "",
                "| column | type | definition | 定义 |", "|---|---|---|---|"]
        for c in d.columns:
            out.append(f"| `{c['name']}` | {c['type']} | {c['en']} | {c['zh']} |")
    return "\n".join(out) + "\n"


PAGES = {"data-contract.md": contract_markdown, "metrics.md": metrics_markdown}


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    for name, render in PAGES.items():
        (DOCS / name).write_text(render(), encoding="utf-8")
        print(f"wrote {DOCS / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
