"""Debtor PII: keyed pseudonymisation at ingestion and masking of free text.

The contract's PII columns (cases.debtor_name, debtor_phone, debtor_id_number) are replaced by
HMAC-SHA256(KAOHE_PII_KEY, value) before anything is written, so the same debtor still joins
across files while the clear value never reaches the warehouse, a report or a log. The HMAC runs
inside DuckDB as a TEMP macro (per connection, never stored in the database file).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re

import duckdb

log = logging.getLogger("kaohe")

KEY_ENV = "KAOHE_PII_KEY"
# Only for the demo and the tests: a run with this key says so, every time.
DEV_KEY = b"kaohe-development-key-not-for-production"
MIN_KEY_BYTES = 16

# Free text (complaint descriptions, extra columns, quoted values, quarantined lines) is masked
# by these patterns. They are written with literal characters so that one definition serves
# DuckDB's RE2 (the ingestion) and Python's re (messages): a digit is ASCII or full-width, and
# up to three separators (hyphen, dot, space, ideographic space...) may sit between two digits.
_DIGIT = "[0-9\uff10-\uff19]"
_SEP = "[-\uff0d\u2010-\u2015.\uff0e/ \t\u00a0\u3000]{0,3}"
# Any run of 12+ digits, optionally ending in X (resident ID numbers, bank cards), then
# 18-character resident ID numbers, then 11-digit mainland mobiles with an optional +86.
_X = "[XxＸｘ]"
LONG_NUMBER_PATTERN = f"[+\uff0b]?{_DIGIT}(?:{_SEP}{_DIGIT}){{11,}}(?:{_SEP}{_X})?"
ID_NUMBER_PATTERN = f"[1-9\uff11-\uff19](?:{_SEP}{_DIGIT}){{16}}{_SEP}(?:{_DIGIT}|{_X})"
PHONE_PATTERN = (f"(?:[+\uff0b]?(?:86|８６){_SEP})?[1\uff11]{_SEP}[3-9\uff13-\uff19]"
                 f"(?:{_SEP}{_DIGIT}){{9}}")
FREE_TEXT_PATTERNS = (LONG_NUMBER_PATTERN, ID_NUMBER_PATTERN, PHONE_PATTERN)
# A value quoted in a reason is masked harder: any run of 7+ digits and any run of CJK
# characters (a name in a column where it does not belong) is hidden too.
QUOTED_VALUE_PATTERNS = FREE_TEXT_PATTERNS + (
    f"{_DIGIT}{{7,}}", "[\u3400-\u9fff\uf900-\ufaff]+")
MASK = "***"
# What a pseudonym looks like: HMAC-SHA256 in lower-case hex.
PSEUDONYM_PATTERN = "[0-9a-f]{64}"


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_masking(patterns: tuple[str, ...], arg: str = "v") -> str:
    expr = arg
    for pattern in patterns:
        expr = f"regexp_replace({expr}, {_sql_str(pattern)}, '{MASK}', 'g')"
    return expr


_COMPILED_FREE = [re.compile(p) for p in FREE_TEXT_PATTERNS]
_COMPILED_QUOTED = [re.compile(p) for p in QUOTED_VALUE_PATTERNS]


def mask_text(text: str) -> str:
    """Python twin of ``mask_pii_text``: for messages that never pass through DuckDB."""
    for pattern in _COMPILED_FREE:
        text = pattern.sub(MASK, text)
    return text


def mask_value(text: str) -> str:
    """Python twin of ``mask_value``: a value quoted in a reason or an error message."""
    for pattern in _COMPILED_QUOTED:
        text = pattern.sub(MASK, text)
    return text


class PiiKeyError(RuntimeError):
    """The configured key is unusable, or differs from the one the warehouse was built with."""


_warned = False


def pii_key() -> tuple[bytes, bool]:
    """Return (key, is_development_key) from KAOHE_PII_KEY (warning once per run without it)."""
    global _warned
    value = os.environ.get(KEY_ENV, "")
    if not value:
        if not _warned:
            _warned = True
            log.warning(
                "%s is not set: pseudonymising debtor PII with the built-in DEVELOPMENT key. "
                "Set %s to a secret of at least %d characters before loading real data.",
                KEY_ENV, KEY_ENV, MIN_KEY_BYTES,
            )
        return DEV_KEY, True
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise PiiKeyError(f"{KEY_ENV} must be at least {MIN_KEY_BYTES} characters long")
    return key, False


def key_fingerprint(key: bytes) -> str:
    """A value that identifies the key without revealing it (stored in the warehouse)."""
    return hmac.new(key, b"kaohe key fingerprint v1", hashlib.sha256).hexdigest()[:16]


def _blob_literal(data: bytes) -> str:
    return "'" + "".join(f"\\x{b:02X}" for b in data) + "'::BLOB"


def install_macros(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Create the TEMP macros ``pii_hmac(text)`` and ``mask_pii_text(text)`` on a connection."""
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    inner = _blob_literal(bytes(b ^ 0x36 for b in block))
    outer = _blob_literal(bytes(b ^ 0x5C for b in block))
    # HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), RFC 2104; checked against Python's hmac
    # in the tests. The literal lives only in this connection's temp catalog.
    con.execute(
        "create or replace temp macro pii_hmac(v) as case when v is null then null else "
        f"sha256({outer} || unhex(sha256({inner} || encode(v)))) end"
    )
    con.execute("create or replace temp macro mask_pii_text(v) as "
                + _sql_masking(FREE_TEXT_PATTERNS))
    con.execute("create or replace temp macro mask_value(v) as "
                + _sql_masking(QUOTED_VALUE_PATTERNS))


def hmac_hex(key: bytes, value: str) -> str:
    """Python twin of the SQL macro: used by tests and by support staff to look a debtor up."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------
# The guard: nothing leaves the writer while a PII column holds something else than a pseudonym.


class PiiLeakError(RuntimeError):
    """A PII column of the contract holds a value that is not a pseudonym: nothing is published."""


def unpseudonymised(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(table, column, rows) of every PII column of the contract holding a non-pseudonym.

    Raw is checked (staging is a view over it, and the published copy is made from staging):
    one scan of each PII column of the case master per run.
    """
    from kaohe.ingest.contract import load_contract

    found = []
    for src in load_contract().values():
        for col in src.pii_columns:
            n = con.execute(
                f'select count(*) from raw.{src.name} where "{col}" is not null and not '
                f"regexp_full_match(\"{col}\", '{PSEUDONYM_PATTERN}')").fetchall()[0][0]
            if n:
                found.append((f"raw.{src.name}", col, n))
    return found


def assert_pseudonymised(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse to go on when a PII column holds a clear value (names the column, never a value)."""
    found = unpseudonymised(con)
    if found:
        raise PiiLeakError(
            "refusing to publish: debtor PII in clear text in "
            + "; ".join(f"{table}.{col} ({n} row(s))" for table, col, n in found)
            + ". The ingestion hashes these columns; a value that is not a pseudonym means a "
            "bug or a manual write: purge the affected files and report it.")


# ---------------------------------------------------------------------------------------------
# The debtor's own name inside free text. The case master holds only the name's pseudonym, so a
# name is found by hashing every run of 2 to 6 Chinese characters (and the middle dot of ethnic
# minority names) of the text and comparing with the pseudonym of the case's debtor.

NAME_LENGTHS = (2, 6)
_NAME_CHARS = "[\u3400-\u9fff\uf900-\ufaff·•]"


def text_sources() -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:  # noqa: D103
    """(source, pk, text columns) of every source with free text about a case."""
    from kaohe.ingest.contract import load_contract

    return [(s.name, s.pk, tuple(c.name for c in s.columns if c.text))
            for s in load_contract().values()
            if any(c.text for c in s.columns) and "case_id" in s.column_names]


def mask_debtor_names(con: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...],
                      columns: tuple[str, ...], scope: str = "true",
                      params: list | None = None, names: str = "raw.cases") -> int:
    """Replace the case's debtor name by ``***`` in the free text ``columns`` of ``table``.

    ``key`` identifies a row of ``table``, which has a ``case_id``; ``scope`` is a SQL condition
    over its row ``r`` choosing the rows to look at; ``names`` is where the (case_id,
    debtor_name pseudonym) pairs are read. Returns the rows changed. A name can only
    be found once the case master naming that debtor was delivered: the ingestion masks a new
    file's text before it is stored, and looks again whenever a case master brings a name.
    """
    keys = ", ".join(f'"{k}"' for k in key)
    match = " and ".join(f'r."{k}" = m."{k}"' for k in key)
    lo, hi = NAME_LENGTHS
    changed = 0
    for col in columns:
        con.execute(
            "create or replace temp table _name_hits as "
            f"with t as (select {keys}, case_id, \"{col}\" as v from {table} r "
            f"where ({scope}) and \"{col}\" is not null and case_id is not null "
            f"and regexp_matches(\"{col}\", '{_NAME_CHARS}{{{lo}}}')), "
            f"names as (select distinct case_id, debtor_name from {names} "
            "where debtor_name is not null and case_id in (select case_id from t)), "
            "cand as (select t.*, substr(v, i, n) as s from t, "
            "unnest(generate_series(1, length(v))) as g(i), "
            f"unnest(generate_series({lo}, {hi})) as l(n) "
            f"where i + n - 1 <= length(v) and regexp_full_match(substr(v, i, n), "
            f"'{_NAME_CHARS}+')) "
            f"select {keys}, any_value(v) as v, "
            "string_agg(distinct s, '|' order by length(s) desc) as pattern "
            "from cand semi join names on names.case_id = cand.case_id "
            "and names.debtor_name = pii_hmac(cand.s) group by all", params or [])
        rows = con.execute("select count(*) from _name_hits").fetchall()[0][0]
        if rows:
            con.execute(
                f"update {table} r set \"{col}\" = regexp_replace(m.v, m.pattern, "
                f"'{MASK}', 'g') from _name_hits m where {match}")
        changed += rows
    con.execute("drop table if exists _name_hits")
    return changed
