"""The one way a value from the data becomes part of a file name.

Reports are files named after an agent or a team id, e-mails attach them and the outbox names
its messages after a team: every such path goes through ``safe_name`` and ``data_path``. The
ingestion already quarantines ids that are not plain (``bad_id``, kaohe/ingest/contract.py), so
``safe_name`` returns the id itself for every row the warehouse holds; a value that still is not
plain (a warehouse built before that rule) gets a stable hashed name instead of reaching the file
system, and ``data_path`` refuses any path that would leave its folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from kaohe.ingest.contract import SAFE_ID


class UnsafePathError(ValueError):
    """A path built from data would leave the folder it belongs in."""


def safe_name(ident: object) -> str:
    """``ident`` if it is a plain id, else ``id-<16 hex of its sha256>`` (stable, plain)."""
    text = "" if ident is None else str(ident)
    if SAFE_ID.fullmatch(text) and text not in (".", ".."):
        return text
    return "id-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def data_path(base: Path, folder: str, ident: object, suffix: str = ".html",
              prefix: str = "") -> Path:
    """``base/folder/<prefix><safe_name(ident)><suffix>``, checked to stay inside ``base``."""
    path = base / folder / f"{prefix}{safe_name(ident)}{suffix}"
    root = base.resolve()
    if not path.resolve().is_relative_to(root):
        raise UnsafePathError(f"refusing to write outside {root}: {path}")
    return path


def rendering_dir(reports_dir: Path, month: str, lang: str, primary: str) -> Path:
    """Where a month's reports in ``lang`` live: ``reports_dir/month`` in the configured
    language (``primary``: reports.lang, what the nightly run renders and the mail sends),
    ``reports_dir/month/<lang>`` in any other, so two languages never overwrite each other."""
    return reports_dir / month if lang == primary else reports_dir / month / lang
