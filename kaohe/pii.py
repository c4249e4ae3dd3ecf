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

import duckdb

log = logging.getLogger("kaohe")

KEY_ENV = "KAOHE_PII_KEY"
# Only for the demo and the tests: a run with this key says so, every time.
DEV_KEY = b"kaohe-development-key-not-for-production"
MIN_KEY_BYTES = 16

# Phone numbers (mainland mobiles, optionally +86) and 18-character resident ID numbers inside
# free text (complaint descriptions, quarantined raw lines) are masked by these patterns.
PHONE_PATTERN = r"(\+?86[- ]?)?1[3-9][0-9]{9}"
ID_NUMBER_PATTERN = r"[1-9][0-9]{16}[0-9Xx]"
MASK = "***"


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
    con.execute(
        "create or replace temp macro mask_pii_text(v) as "
        f"regexp_replace(regexp_replace(v, '{ID_NUMBER_PATTERN}', '{MASK}', 'g'), "
        f"'{PHONE_PATTERN}', '{MASK}', 'g')"
    )


def hmac_hex(key: bytes, value: str) -> str:
    """Python twin of the SQL macro: used by tests and by support staff to look a debtor up."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
