"""What the files look like: the contract's columns in the contract's order and its enums (read
from ``kaohe/ingest/contract.yaml``, never restated), and the file formats."""

from __future__ import annotations

import pyarrow as pa

from kaohe.ingest.contract import enum, load_contract

# The contract's columns, in the contract's order (the header of every file).
COLUMNS: dict[str, tuple[str, ...]] = {name: tuple(src.column_names)
                                       for name, src in load_contract().items()}
SOURCES: tuple[str, ...] = tuple(COLUMNS)

FORMATS: dict[str, str] = {
    "calls": "UTF-8 .csv; Sundays .csv.gz",
    "qa_flags": "UTF-8 .csv.gz",
    "repayments": ".parquet (amount DECIMAL(18,2), paid_at TIMESTAMP); bad rows in a _02.csv",
    "complaints": "CSV encoded GB18030",
    "agents": "UTF-8 CSV with BOM; one snapshot has an extra wechat_id column",
    "other": "UTF-8 CSV without BOM",
    "csv": "header row, comma, \" quoting, empty = null, ts YYYY-MM-DD HH:MM:SS local, "
           "date YYYY-MM-DD, amounts 2 decimals, booleans true/false",
}

# Contract enums (kaohe/ingest/contract.yaml, in its order); numpy arrays hold their index.
OUTCOMES = enum("calls", "outcome")
NO_ANSWER, BUSY, INVALID, VOICEMAIL, RPC, THIRD = range(6)
PRODUCTS = enum("cases", "product")
INDUSTRIES = enum("cases", "industry")
PAY_CHANNELS = enum("repayments", "channel")
QA_LABELS = enum("qa_flags", "label")
COMPLAINT_CHANNELS = enum("complaints", "channel")
COMPLAINT_CATEGORIES = enum("complaints", "category")
VIOLATION_TYPES = enum("violations", "violation_type")
TICKET_TYPES = enum("tickets", "ticket_type")
PLAN_TYPES = enum("plans", "plan_type")
PLAN_STATUSES = enum("plans", "status")
COST_TYPES = enum("costs", "cost_type")
LEVELS = enum("agents", "level")
assert OUTCOMES[RPC] == "connected_debtor" and OUTCOMES[THIRD] == "connected_third_party"
CSV_FORMAT = {"datetime_format": "%Y-%m-%d %H:%M:%S", "date_format": "%Y-%m-%d",
              "null_value": "", "quote_style": "necessary"}
# Native types in the core-banking Parquet export.
REPAYMENTS_PARQUET = pa.schema([
    ("payment_id", pa.string()), ("case_id", pa.string()), ("paid_at", pa.timestamp("us")),
    ("amount", pa.decimal128(18, 2)), ("payment_type", pa.string()),
    ("reversal_of", pa.string()), ("channel", pa.string()),
])
