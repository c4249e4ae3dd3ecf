"""Generated documentation: ``python -m kaohe.docs`` rewrites docs/data-contract.md from the
contract file, and a test fails when the committed page and the contract drift apart."""

from __future__ import annotations

import sys
from pathlib import Path

from kaohe.contract import load_contract

DOCS = Path(__file__).resolve().parents[1] / "docs"

REASONS = {
    "bad_type": "a value that is not of the column's type (`2026-08-03 25:61:00`, `12.345`, `abc`)",
    "out_of_range": "a value outside its range (`duration_s = -5`, `amount = 0`, `severity = 7`, "
    "a date before 2000 or after 2099)",
    "unknown_enum": "a value not in the column's list (`outcome = hung_up`)",
    "missing_value": "a required value is empty (a key, `reversal_of` of a reversal, "
    "`agency_id` of an outsourced agent)",
    "duplicate_key": "the key appears again later in the same file (the first one is kept)",
    "unknown_reversal": "a reversal of a payment that was never delivered",
    "malformed_row": "a line with the wrong number of fields, or broken quoting",
    "encoding_error": "bytes that are neither UTF-8 nor GB18030/GBK",
    "missing_column": "(whole file) a required column is missing from the header",
    "truncated_file": "(whole file) a compressed file that ends early",
    "empty_file": "(whole file) no header row at all",
    "bad_file_name": "(whole file) the name does not follow `<source>_<YYYYMMDD>[_<seq>].<ext>`",
    "unreadable_file": "(whole file) anything else that stops a file from being read",
}


def contract_markdown() -> str:
    out = [
        "# Data contract (generated from `kaohe/contract.yaml`: edit that file, then run "
        "`uv run python -m kaohe.docs`)",
        "",
        "What a lender's IT team delivers, and what kaohe does with it. The specification is "
        "`shared/spec/data-contract.md`; this page restates it as the pipeline implements it.",
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
        "## What happens to a file",
        "1. **Registry** (`audit.file_registry`): path, size, sha256, source, business date, seq, "
        "encoding, rows read / loaded / rejected, status. The same file again is a no-op; new "
        "content under the same name replaces the earlier version's rows (status `replaced`).",
        "2. **Raw** (`raw.<source>`, writer database only): every accepted row of every file "
        "version, typed, with lineage `_file`, `_line` (record number, header = 1), "
        "`_business_date`, `_seq`, and any extra columns as text.",
        "3. **Staging** (`staging.<source>`, published): events and reference data keep one row "
        "per primary key, the latest file winning (business date, then seq, then arrival); "
        "snapshots keep one row per `snapshot_date` and key (history).",
        "4. **Quarantine** (`audit.quarantine`): every rejected row or file with its line, reason "
        "code, message and the raw text with debtor PII masked. Rows read = loaded + rejected.",
        "",
        "Debtor PII (`debtor_name`, `debtor_phone`, `debtor_id_number`) is replaced during the "
        "read by HMAC-SHA256 under `KAOHE_PII_KEY`; phone and ID numbers inside free text "
        "(`complaints.description`, quarantined lines) are masked as `***`.",
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
                rules.append("free text: phone/ID numbers masked")
            out.append(f"| {c.name} | {c.type} | {'; '.join(rules)} |")
        for r in src.rules:
            out.append(f"\nRule (`{r.code}`): {r.message} — `{r.when}`.")
        for ref in src.references:
            out.append(f"\nRule (`{ref.code}`): {ref.message}.")
    return "\n".join(out) + "\n"


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    (DOCS / "data-contract.md").write_text(contract_markdown(), encoding="utf-8")
    print(f"wrote {DOCS / 'data-contract.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
