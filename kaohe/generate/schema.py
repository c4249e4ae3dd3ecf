"""What the files look like: the contract's columns in the contract's order, its enums, the file
formats (the generator's own statement of ``docs/data-contract.md``; ``tests/test_generate.py``
checks the columns against ``kaohe/ingest/contract.yaml``)."""

from __future__ import annotations

import pyarrow as pa

# The contract's columns, in the contract's order (the header of every file).
COLUMNS: dict[str, tuple[str, ...]] = {
    "agents": ("agent_id", "agent_name", "team_id", "team_name", "manager_email", "site", "level",
               "hire_date", "employment_type", "agency_id", "base_salary", "status", "email"),
    "cases": ("case_id", "debtor_id", "debtor_name", "debtor_phone", "debtor_id_number",
              "product", "region_code", "industry", "risk_score", "hardship_flag", "principal",
              "dpd", "overdue_amount"),
    "assignments": ("assignment_id", "case_id", "agent_id", "assigned_at", "released_at",
                    "dpd_at_assignment", "amount_due"),
    "calls": ("call_id", "case_id", "agent_id", "started_at", "duration_s", "outcome",
              "ptp_amount", "ptp_due_date", "recording_id"),
    "qa_flags": ("call_id", "label", "confidence", "model_version"),
    "repayments": ("payment_id", "case_id", "paid_at", "amount", "payment_type", "reversal_of",
                   "channel"),
    "complaints": ("complaint_id", "case_id", "agent_id", "received_at", "channel", "category",
                   "severity", "substantiated", "description", "resolved_at"),
    "violations": ("violation_id", "agent_id", "occurred_on", "violation_type", "severity",
                   "confirmed"),
    "trainings": ("enrolment_id", "agent_id", "course_id", "course_type", "due_date",
                  "completed_on", "score", "passed"),
    "surveys": ("survey_id", "call_id", "case_id", "agent_id", "responded_at", "score"),
    "costs": ("cost_id", "agent_id", "incurred_on", "cost_type", "amount"),
    "tickets": ("ticket_id", "case_id", "agent_id", "ticket_type", "opened_at", "closed_at",
                "outcome"),
    "plans": ("plan_id", "case_id", "agent_id", "plan_type", "created_at", "status",
              "social_referral"),
    "qa_reviews": ("review_id", "call_id", "reviewer_id", "reviewed_at", "score", "result",
                   "finding"),
    "credit_followups": ("debtor_id", "observed_on", "credit_status", "new_credit"),
    "macro": ("quarter", "region_code", "industry", "unemployment_rate", "prosperity_index",
              "dso_benchmark_days"),
}
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

# Contract enums; numpy arrays hold their index.
OUTCOMES = ("no_answer", "busy", "invalid_number", "voicemail", "connected_debtor",
            "connected_third_party")
NO_ANSWER, BUSY, INVALID, VOICEMAIL, RPC, THIRD = range(6)
PRODUCTS = ("cash_loan", "credit_card", "installment")
INDUSTRIES = ("foreign_trade", "pharma_distribution", "manufacturing", "retail", "construction",
              "it", "other")
PAY_CHANNELS = ("bank_transfer", "app", "auto_debit", "offline")
QA_LABELS = ("threat", "abuse", "insult", "privacy_disclosure", "false_promise", "empathy")
COMPLAINT_CHANNELS = ("hotline", "regulator", "internet", "app")
COMPLAINT_CATEGORIES = ("harassment", "abusive_language", "third_party_disclosure",
                        "privacy_leak", "fee_dispute", "other")
VIOLATION_TYPES = ("private_collection_of_funds", "falsified_repayment_record",
                   "violent_collection", "privacy_breach", "unauthorized_disclosure", "other")
TICKET_TYPES = ("legal_signoff", "fee_waiver", "restructuring_approval")
PLAN_TYPES = ("installment", "restructuring", "hardship_relief")
PLAN_STATUSES = ("active", "completed", "defaulted", "cancelled")
COST_TYPES = ("telecom", "sms", "field_visit", "legal", "outsourcing_fee")
LEVELS = ("L1", "L2", "L3", "L4")
CSV_FORMAT = {"datetime_format": "%Y-%m-%d %H:%M:%S", "date_format": "%Y-%m-%d",
              "null_value": "", "quote_style": "necessary"}
# Native types in the core-banking Parquet export.
REPAYMENTS_PARQUET = pa.schema([
    ("payment_id", pa.string()), ("case_id", pa.string()), ("paid_at", pa.timestamp("us")),
    ("amount", pa.decimal128(18, 2)), ("payment_type", pa.string()),
    ("reversal_of", pa.string()), ("channel", pa.string()),
])
