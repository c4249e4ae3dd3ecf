"""Helpers of tests/reporting/test_report_pages.py: what a page shows in words, the words of the other
language, and small screenshots.

A page's words are its text nodes outside ``<style>``, ``<script>`` and ``<code>`` (the names of
tables, checks, inputs and configuration keys, shown as code on purpose), once the values that
come from the data are taken out: agents' and teams' names and ids, agencies, the model version,
the configuration version. What is left is the page's own wording, and must be in its language.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np

# CJK ideographs, kana, CJK and full-width punctuation and forms
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]+")
# an English word: two letters or more (M6+, L1, P90, a grade letter are codes, not words)
WORD = re.compile(r"[A-Za-z]{2,}")
# a raw identifier (over_cap_rate, recovery_vs_target) shown as if it were a label
IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# words a Chinese page may hold: the product's name in the footer
ALLOWED_IN_ZH = {"kaohe"}


class _Text(HTMLParser):
    SKIP = {"style", "script", "code"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.nodes: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.nodes.append(data.strip())


def text_nodes(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.nodes


def data_values(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every value from the data a page may show as it is, longest first."""
    queries = [
        "select agent_name from staging.agents", "select team_name from staging.agents",
        "select agent_id from staging.agents", "select team_id from staging.agents",
        "select agency_id from staging.agents",
        "select model_version from marts.qa_model_agreement",
        "select config_version from marts.agent_month_scorecard",
    ]
    values: set[str] = set()
    for q in queries:
        values |= {str(r[0]) for r in con.sql(q).fetchall() if r[0]}
    return sorted(values, key=len, reverse=True)


def own_words(html: str, data: list[str]) -> list[str]:
    """The page's text nodes with the data values taken out."""
    out = []
    for node in text_nodes(html):
        for value in data:
            if value in node:
                node = node.replace(value, " ")
        out.append(node)
    return out


def foreign_words(html: str, lang: str, data: list[str]) -> set[str]:
    """Words of the other language on a page in ``lang``: any CJK on an English page, any
    English word on a Chinese one."""
    found: set[str] = set()
    for node in own_words(html, data):
        if lang == "en":
            found |= set(CJK.findall(node))
        else:
            found |= {w for w in WORD.findall(node) if w not in ALLOWED_IN_ZH}
    return found


def raw_identifiers(html: str, data: list[str]) -> set[str]:
    return {w for node in own_words(html, data) for w in IDENTIFIER.findall(node)}


# ---------------------------------------------------------------------------------------------
# the browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# the printable area of an A4 page with the reports' 10 mm margins, in CSS px (96 per inch)
A4_PRINT_WIDTH_PX = round((210 - 20) / 25.4 * 96)
A4_PRINT_HEIGHT_PX = round((297 - 20) / 25.4 * 96)


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF (its ``/Type /Page`` objects; ``/Pages`` is the tree, not a page)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


_PIXELS = """async (data) => {
  const img = new Image(); img.src = 'data:image/png;base64,' + data; await img.decode();
  const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
  const x = c.getContext('2d'); x.drawImage(img, 0, 0);
  const a = x.getImageData(0, 0, c.width, c.height).data;
  let s = ''; const n = 0x8000;
  for (let i = 0; i < a.length; i += n) s += String.fromCharCode.apply(null, a.subarray(i, i + n));
  return [c.width, c.height, btoa(s)];
}"""


def small_png(page, png: bytes, path: Path, colours: int = 256) -> Path:
    """Write the screenshot ``png`` as an indexed PNG of its ``colours`` most frequent colours
    (every other colour mapped to the nearest of them): a report page is mostly flat colour, so
    this is about a third of the size and looks the same. The browser decodes the PNG."""
    width, height, raw = page.evaluate(_PIXELS, base64.b64encode(png).decode())
    rgb = np.frombuffer(base64.b64decode(raw), np.uint8).reshape(height, width, 4)[..., :3]
    packed = ((rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
              | rgb[..., 2]).ravel()
    uniq, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
    top = uniq[np.argsort(-counts, kind="stable")[:colours]]
    palette = np.stack([(top >> 16) & 255, (top >> 8) & 255, top & 255], axis=1).astype(np.int32)
    every = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1).astype(np.int32)
    nearest = np.empty(len(every), dtype=np.uint8)
    for i in range(0, len(every), 4096):
        d = ((every[i:i + 4096, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
        nearest[i:i + 4096] = d.argmin(axis=1)
    index = nearest[inverse.ravel()].reshape(height, width)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), index], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
                     + chunk(b"PLTE", palette.astype(np.uint8).tobytes())
                     + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    return path
