"""Tamper evidence for promises to pay and plans: a hash chain over their records.

Each ingestion batch appends the new or changed PTP calls (``staging.calls`` with a ptp_amount)
and plans (``staging.plans``) to ``audit.evidence_chain``, computed in DuckDB:
  content_hash = sha256(the record's fields, '|'-joined)
  record_hash  = sha256(prev_batch_hash || content_hash)   -- covers content and the chain
  batch_hash   = sha256(prev_batch_hash || record hashes of the batch in key order)
so every record's hash covers its content and the previous link, and altering, removing or
re-ordering any stored record breaks the chain from that point. A record that leaves staging
legitimately (a corrected file no longer holds it, a later file withdraws the promise, a purge
after the retention period) gets a removal link (content_hash ``removed``) in the next batch, so
only a removal that bypassed the pipeline is a break. ``verify`` recomputes it and
names the first broken link: ``kaohe.quality.chain_results`` runs it as a blocking check of
staging.calls and staging.plans, in the run (their ``quality_gate``) and in ``kaohe check``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from kaohe.warehouse import audit_tables as audit

GENESIS = "0" * 64
# the content hash of a removal link: not a sha256 value, so no record can ever match it
REMOVED = "removed"
KINDS = {
    "ptp": ("calls", "call_id",
            "concat_ws('|', call_id, case_id, agent_id, started_at, ptp_amount, ptp_due_date)",
            "ptp_amount > 0"),
    "plan": ("plans", "plan_id",
             "concat_ws('|', plan_id, case_id, agent_id, plan_type, created_at, status, "
             "social_referral)", "true"),
}


def kinds_of(table: str) -> list[str]:
    """The chains kept over a staging table: ``staging.calls`` -> ``['ptp']``."""
    return [kind for kind, (source, *_) in KINDS.items() if f"staging.{source}" == table]


@dataclass
class ChainStatus:
    kind: str
    records: int
    batches: int
    broken_batch: int | None = None
    broken_key: str | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_batch is None


def append(con: duckdb.DuckDBPyConnection, kind: str, file_ids: list[int] | None = None) -> int:
    """Chain the records of ``kind`` that are new or changed since the last batch.

    ``file_ids``: only records from these files can be new or changed (the files this batch
    ingested), so only they are hashed; ``None`` looks at every record (needed when a replaced
    file brings an older version of a record back).
    """
    table, key, content, where = KINDS[kind]
    last = con.execute("select batch, batch_hash from audit.evidence_chain where kind = ? "
                       "order by batch desc limit 1", [kind]).fetchall()
    batch, prev = (last[0][0] + 1, last[0][1]) if last else (1, GENESIS)
    scoped = where
    if file_ids is not None:
        scoped += f" and _file_id in ({', '.join(str(int(i)) for i in file_ids) or 'null'})"
    con.execute(
        f"create or replace temp table _new_evidence as "
        f"with candidates as materialized (select {key}::varchar as record_key, "
        f"sha256({content}) as content_hash from staging.{table} where {scoped}) "
        f"select * from candidates except "
        f"select record_key, content_hash from audit.evidence_chain e "
        f"semi join candidates c using (record_key) where kind = ? "
        f"qualify row_number() over (partition by record_key order by batch desc) = 1",
        [kind])
    # records chained as present that are no longer in staging: a removal link each
    con.execute(
        f"insert into _new_evidence select record_key, '{REMOVED}' from ("
        f"select record_key, content_hash from audit.evidence_chain where kind = ? "
        f"qualify row_number() over (partition by record_key order by batch desc) = 1) l "
        f"where l.content_hash <> '{REMOVED}' and not exists (select 1 from staging.{table} s "
        f"where s.{key}::varchar = l.record_key and ({where}))", [kind])
    n = con.execute("select count(*) from _new_evidence").fetchall()[0][0]
    if not n:
        return 0
    con.execute(
        f"insert into audit.evidence_chain {audit.columns('evidence_chain')} "
        "select ?, ?, record_key, content_hash, "
        "sha256(? || content_hash), ?, (select sha256(? || string_agg(sha256(? || content_hash),"
        " '' order by record_key)) from _new_evidence), now()::timestamp from _new_evidence",
        [kind, batch, prev, prev, prev, prev])
    return n


def verify(con: duckdb.DuckDBPyConnection, kind: str) -> ChainStatus:
    """Recompute the chain; the first batch whose links or records disagree is reported."""
    table, key, content, where = KINDS[kind]
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'audit' "
                         "and table_name = 'evidence_chain'").fetchall()[0][0]
    if not exists:
        return ChainStatus(kind, 0, 0)
    batches = con.execute(
        "select batch, any_value(prev_batch_hash), any_value(batch_hash), "
        "sha256(any_value(prev_batch_hash) || string_agg(sha256(prev_batch_hash || "
        "content_hash), '' order by record_key)), "
        "bool_and(record_hash = sha256(prev_batch_hash || content_hash)), count(*) "
        "from audit.evidence_chain where kind = ? group by batch order by batch", [kind]
    ).fetchall()
    records = sum(b[5] for b in batches)
    status = ChainStatus(kind, records, len(batches))
    prev = GENESIS
    for batch, prev_hash, batch_hash, recomputed, records_ok, _ in batches:
        if prev_hash != prev or batch_hash != recomputed or not records_ok:
            status.broken_batch, status.reason = batch, "a link of the chain was altered"
            return status
        prev = batch_hash
    # the latest link of each record must still match the stored record
    altered = con.execute(
        f"with latest as (select record_key, content_hash, batch from audit.evidence_chain "
        f"where kind = ? qualify row_number() over (partition by record_key "
        f"order by batch desc) = 1), "
        f"present as (select {key}::varchar as record_key, sha256({content}) as content_hash "
        f"from staging.{table} where {where}) "
        f"select l.batch, l.record_key from latest l left join present s using (record_key) "
        f"where case when l.content_hash = '{REMOVED}' then s.record_key is not null "
        f"else s.record_key is null or s.content_hash <> l.content_hash end "
        f"order by l.batch, l.record_key limit 1", [kind]).fetchall()
    if altered:
        status.broken_batch, status.broken_key = altered[0]
        status.reason = "a stored record no longer matches its chained hash"
    return status
