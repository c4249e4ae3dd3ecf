"""The audit schema, defined once: every ``audit.*`` table, its columns and their comments.

Ingestion, checks, retention, restatement, evidence and delivery all write here; nothing else
creates an audit table. ``ensure_audit`` creates what is missing (idempotent) and writes every
table and column comment, which analysts read with ``duckdb_columns()``. Inserts name their
columns, so a column added at the end never shifts a value.
"""

from __future__ import annotations

import duckdb

from kaohe.sqltext import literal

# table -> (comment, [(column, type and constraints, comment)])
AUDIT_TABLES: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "file_registry": ("every file seen in the landing folder, one row per content version", [
        ("file_id", "bigint primary key", "the file version (lineage column _file_id of its rows)"),
        ("path", "varchar not null", "path relative to the landing folder"),
        ("source", "varchar", "the contract source (the folder)"),
        ("business_date", "date", "the date in the file name"),
        ("seq", "integer", "the sequence number in the file name (0 when absent)"),
        ("format", "varchar", "csv | csv.gz | parquet"),
        ("size_bytes", "bigint", "size when read"),
        ("sha256", "varchar", "content hash: the same file delivered twice is a no-op; NULL for "
         "a file that could not be read"),
        ("encoding", "varchar", "utf-8 | gb18030 | parquet"),
        ("rows_read", "bigint", "records read = rows_loaded + rows_rejected"),
        ("rows_loaded", "bigint", "records that reached raw"),
        ("rows_rejected", "bigint", "records quarantined"),
        ("status", "varchar not null", "loaded | rejected (whole file quarantined; an earlier "
         "loaded version of the same name stays loaded) | replaced (a newer version of the same "
         "name superseded it) | duplicate (the same content was already loaded under another "
         "name: not loaded again) | purged (older than the retention)"),
        ("message", "varchar", "why a file was rejected, is a duplicate or was purged; for a "
         "loaded file, its warnings ('; '-separated 'code: message': suspect_encoding, text "
         "probably not in GB18030; conflicting_delivery, keys delivered with other values by a "
         "file of the same date and sequence), NULL when there are none"),
        ("ingested_at", "timestamp not null", "when it was read"),
        ("replaced_by", "bigint", "file_id of the version that replaced it"),
        ("staged", "boolean default false", "its superseded versions are recorded (false only "
         "between a file's commit and its source's staging refresh, or after an interrupted run)"),
        ("modified_ns", "bigint", "the file's status-change time (ctime, set by the kernel on any "
         "write; copy tools cannot preserve it) when read: a file with the same path, size and "
         "ctime is not read or hashed again"),
        ("profile", "varchar", "the source profile that read it, name@hash of its content "
         "(profiles/*.yaml or a profile.yaml beside the files; version 9); NULL for a file in "
         "the contract's own format. A file read by another version of its profile is read "
         "again"),
    ]),
    "quarantine": ("every rejected row and file, with the reason; PII masked", [
        ("file_id", "bigint", "the file version (audit.file_registry)"),
        ("source", "varchar", "the contract source"),
        ("file", "varchar not null", "path relative to the landing folder"),
        ("line", "bigint", "record number in the file (header = 1); NULL for a whole file"),
        ("raw_text", "varchar", "the record as it arrived, debtor PII masked (not published)"),
        ("reason_code", "varchar not null", "bad_type | out_of_range | out_of_window | "
         "unknown_enum | missing_value | duplicate_key | unknown_reversal | malformed_row | "
         "encoding_error | bad_id | missing_column | truncated_file | empty_file | "
         "bad_file_name | unreadable_file | too_many_rejected | outside_landing | not_a_file | "
         "bad_profile (the folder's source profile cannot be used) | repeated_header | "
         "duplicate_row | dropped_by_profile (a line skipped: the header again, an exact copy "
         "of an earlier line of the file, or a row the source profile sets aside with its "
         "reason; none counts toward ingest.max_rejected_share)"),
        ("reason", "varchar not null", "every problem of the record, quoted values masked"),
        ("ingested_at", "timestamp not null", "when it was quarantined"),
    ]),
    "schema_migrations": ("the schema version of this warehouse and how it got there: one row "
                          "per version reached (the highest is the current one); "
                          "kaohe/warehouse/migrations",
                          [
        ("version", "integer primary key", "the schema version reached"),
        ("name", "varchar not null", "the migration (NNNN_slug) or how the version was found"),
        ("how", "varchar not null", "created (a new warehouse) | detected (built by a release "
         "from before this table) | applied (a migration ran)"),
        ("applied_at", "timestamp not null", "when"),
        ("seconds", "double", "how long the migration took"),
        ("kaohe_version", "varchar", "the kaohe release that did it"),
        ("backup", "varchar", "the copy of the database taken before migrating"),
    ]),
    "warehouse_meta": ("facts about this warehouse: schema fingerprint, PII key fingerprint, "
                       "what the published copy holds, restated months", [
        ("key", "varchar primary key", "schema_fingerprint (a hash of the code that shaped the "
         "tables; the version number is in audit.schema_migrations) | pii_key_fingerprint | "
         "published_file_id | published_mode | restated:YYYY-MM"),
        ("value", "varchar", "its value"),
    ]),
    "pii_masking_log": ("free text already loaded in which a debtor's name was masked when the "
                        "case master naming that debtor arrived (the next publish copies the "
                        "table whole)", [
        ("masked_at", "timestamp not null", "when"),
        ("source", "varchar not null", "the source whose free text changed"),
        ("rows_masked", "bigint not null", "rows changed"),
        ("case_file_id", "bigint", "the case master file that brought the names"),
    ]),
    "config_overrides": ("runs that used a configuration failing kaohe audit-config, explicitly "
                         "allowed with --allow-audit-errors", [
        ("overridden_at", "timestamp not null", "when the run started"),
        ("month", "varchar", "the month run"),
        ("config_version", "varchar not null", "the configuration's version and hash"),
        ("config_path", "varchar", "the configuration file"),
        ("findings", "varchar not null", "the failed rules"),
    ]),
    "check_results": ("latest data-quality results per month, suite and check "
                      "(expectations/*.json); severity blocking stops the month's reports", [
        ("month", "date not null", "the month checked"),
        ("suite", "varchar not null", "the table checked"),
        ("check", "varchar not null", "the expectation"),
        ("severity", "varchar not null", "blocking | warning"),
        ("passed", "boolean not null", "whether it held"),
        ("unexpected", "bigint", "offending rows"),
        ("sample", "varchar", "up to 5 offending keys (ids, never PII)"),
        ("description", "varchar", "what the check means"),
        ("engine", "varchar", "sql | gx (Great Expectations)"),
        ("seconds", "double", "time taken"),
        ("checked_at", "timestamp not null", "when"),
    ]),
    "purge_log": ("every kaohe purge: records older than the retention removed from raw, "
                  "staging and quarantine", [
        ("purged_at", "timestamp not null", "when"),
        ("before", "date not null", "files dated before this were purged"),
        ("retention_days", "integer not null", "the configured retention"),
        ("files", "bigint not null", "files purged"),
        ("rows", "varchar not null", "JSON: rows removed per table"),
    ]),
    "evidence_chain": ("tamper evidence: hash chain over promises to pay and plans, one batch "
                       "per ingestion (kaohe/ingest/evidence.py)", [
        ("kind", "varchar not null", "ptp | plan"),
        ("batch", "bigint not null", "the ingestion batch"),
        ("record_key", "varchar not null", "call_id or plan_id"),
        ("content_hash", "varchar not null", "sha256 of the record's fields, or 'removed'"),
        ("record_hash", "varchar not null", "sha256(prev_batch_hash || content_hash)"),
        ("prev_batch_hash", "varchar not null", "the previous batch's hash"),
        ("batch_hash", "varchar not null", "sha256 over the batch's record hashes"),
        ("chained_at", "timestamp not null", "when"),
    ]),
    "month_snapshots": ("each closed month's scorecard and pay as first closed: a later "
                        "rebuild that differs is a restatement", [
        ("month", "date", "the month"),
        ("agent_id", "varchar", "the agent"),
        ("composite", "double", "composite score"),
        ("grade", "varchar", "grade"),
        ("paid_now", "decimal(18,2)", "variable pay paid with the month"),
        ("deferred", "decimal(18,2)", "variable pay deferred"),
        ("forfeited", "decimal(18,2)", "pay forfeited by a veto"),
        ("taken_at", "timestamp", "when the snapshot was taken"),
    ]),
    "restatements": ("agents of a closed month whose scorecard or pay changed on a rebuild, "
                     "before and after", [
        ("month", "date", "the month"),
        ("agent_id", "varchar", "the agent"),
        ("composite_before", "double", "composite at closing"),
        ("composite_after", "double", "composite now"),
        ("grade_before", "varchar", "grade at closing"),
        ("grade_after", "varchar", "grade now"),
        ("paid_now_before", "decimal(18,2)", "paid at closing"),
        ("paid_now_after", "decimal(18,2)", "paid now"),
        ("deferred_before", "decimal(18,2)", "deferred at closing"),
        ("deferred_after", "decimal(18,2)", "deferred now"),
        ("forfeited_before", "decimal(18,2)", "forfeited at closing"),
        ("forfeited_after", "decimal(18,2)", "forfeited now"),
        ("restated_at", "timestamp", "when"),
    ]),
    "report_deliveries": ("report e-mails sent (or, dry_run, written to the outbox), one row "
                          "per message", [
        ("month", "date", "the month reported"),
        ("recipient", "varchar", "the address"),
        ("kind", "varchar", "team | center"),
        ("team_id", "varchar", "the team (team messages)"),
        ("attachments", "varchar", "JSON list of the attached file names"),
        ("message_id", "varchar", "the Message-ID"),
        ("sent_at", "timestamp", "when"),
        ("dry_run", "boolean", "written to the outbox instead of sent"),
    ]),
}


def table_ddl(table: str) -> str:
    """The CREATE statement of one audit table (idempotent)."""
    cols = ",\n    ".join(f'"{name}" {typ}' for name, typ, _ in AUDIT_TABLES[table][1])
    return f"create table if not exists audit.{table} (\n    {cols}\n);"


def audit_ddl() -> str:
    """CREATE statements for every audit table (idempotent)."""
    out = ["create schema if not exists audit;",
           "create sequence if not exists audit.file_id_seq start 1;"]
    out += [table_ddl(table) for table in AUDIT_TABLES]
    return "\n".join(out)


def ensure_audit(con: duckdb.DuckDBPyConnection) -> None:
    """Create the audit tables that are missing, add columns a newer kaohe has, write comments."""
    con.execute(audit_ddl())
    existing = {(t, c) for t, c in con.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = 'audit' "
        "and database_name = current_database()").fetchall()}
    for table, (comment, columns) in AUDIT_TABLES.items():
        for name, typ, _ in columns:
            if (table, name) not in existing:  # a warehouse from an older kaohe
                con.execute(f'alter table audit.{table} add column if not exists "{name}" '
                            f"{typ.replace(' primary key', '').replace(' not null', '')}")
        con.execute(f"comment on table audit.{table} is {literal(comment)}")
        for name, _, text in columns:
            con.execute(f'comment on column audit.{table}."{name}" is {literal(text)}')


def columns(table: str) -> str:
    """The column list of ``audit.<table>`` for an insert: ``(a, b, ...)``."""
    return "(" + ", ".join(f'"{name}"' for name, _, _ in AUDIT_TABLES[table][1]) + ")"
