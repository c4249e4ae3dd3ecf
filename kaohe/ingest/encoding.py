"""The encoding of a CSV, decided from the whole file, and its GB18030 → UTF-8 copy.

A file is read as UTF-8 when it all decodes as UTF-8, or nearly all of it does; else as
GB18030 (which covers GBK and GB2312). Either way a line that does not decode is one bad line,
never a bad file: DuckDB's reader quarantines it as ``encoding_error`` with its line number and
the rest of the file loads. The decision, for a file whose UTF-8 is not clean (the only files
that pay for it), looks at every line, streaming in blocks of whole lines:

1. every line decodes as UTF-8: UTF-8;
2. GB18030 would not decode more lines than UTF-8: UTF-8;
3. the lines read as GB18030 give ordinary Chinese (at most ``RARE_SHARE`` of the non-ASCII
   characters outside GB2312, the 6,763 common characters and the usual punctuation) and no line
   holds UTF-8 text: GB18030, a GBK file;
4. at most ``NEARLY_ALL`` of the lines do not decode as UTF-8, or more lines hold UTF-8 text
   beyond ASCII than do not decode: UTF-8, those lines quarantined (a stray Windows-1252 quote
   in a UTF-8 file, a line pasted from another system);
5. else GB18030, with a ``suspect_encoding`` warning when the text it gives is implausible
   (Windows-1252 quotes read as GB18030 give ``揜ec擷7``: rare characters of the GBK
   extensions) or when some lines were UTF-8: the operator checks the file's text.

GB18030 is decoded in Python (DuckDB's ``encodings`` extension cannot be installed here), in
blocks, so a large file never sits in memory whole. Bytes that are not GB18030 go through to the
copy unchanged (``surrogateescape``): they are not UTF-8 either, so DuckDB's reader quarantines
their line as ``encoding_error`` like in a UTF-8 file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CHUNK = 8 << 20
NEARLY_ALL = 0.01  # share of lines that may fail UTF-8 in a file still read as UTF-8
RARE_SHARE = 0.20  # share of rare characters above which a GB18030 reading is implausible

_BAD_LINE = re.compile("[\udc80-\udcff][^\n\r]*")  # a line holding an undecodable byte
_NON_ASCII_LINE = re.compile(rb"[\x80-\xff][^\n\r]*")  # a line with bytes beyond ASCII
_NOT_TEXT = re.compile("[\x00-\x7f\udc80-\udcff]+")


class EncodingFault(Exception):
    """The bytes could not be read to the end (a compressed file cut short)."""


@dataclass
class EncodingVerdict:
    """What a whole file's lines say about its encoding (see the module's rules)."""

    encoding: str = "utf-8"
    lines: int = 0
    utf8_bad: int = 0  # lines that are not UTF-8
    gb_bad: int = 0  # lines that are not GB18030
    utf8_text: int = 0  # lines holding valid UTF-8 beyond ASCII
    non_ascii: int = 0  # characters beyond ASCII when read as GB18030
    rare: int = 0  # of which outside GB2312

    @property
    def rare_share(self) -> float:
        return self.rare / self.non_ascii if self.non_ascii else 0.0

    @property
    def plausible(self) -> bool:
        return self.rare_share <= RARE_SHARE

    def decide(self) -> EncodingVerdict:
        if self.utf8_bad == 0 or self.gb_bad >= self.utf8_bad:
            self.encoding = "utf-8"
        elif self.plausible and not self.utf8_text:
            self.encoding = "gb18030"
        elif self.utf8_bad <= NEARLY_ALL * self.lines or self.utf8_text > self.utf8_bad:
            self.encoding = "utf-8"
        else:
            self.encoding = "gb18030"
        return self

    @property
    def warning(self) -> str | None:
        """The ``suspect_encoding`` warning of a file read as GB18030 whose text looks wrong."""
        if self.encoding != "gb18030":
            return None
        if not self.plausible:
            return (f"suspect_encoding: read as GB18030 (not UTF-8), but {self.rare_share:.0%} "
                    f"of its {self.non_ascii:,} non-ASCII characters are rare ones (outside "
                    "GB2312): the file is probably in another encoding (Windows-1252?); check "
                    "its text columns")
        if self.utf8_text:
            return (f"suspect_encoding: read as GB18030 (not UTF-8), but {self.utf8_text:,} "
                    "line(s) hold UTF-8 text: the file mixes encodings; check its text columns")
        return None

    def add(self, block: bytes, last: bool) -> None:
        """Count one block of whole lines (``last``: the file's end, maybe unterminated)."""
        newlines = block.count(b"\n") or block.count(b"\r")
        self.lines += newlines + (1 if last and block and not block.endswith((b"\n", b"\r"))
                                  else 0)
        if block.isascii():
            return
        as_utf8 = block.decode("utf-8", "surrogateescape")
        bad = len(_BAD_LINE.findall(as_utf8))
        self.utf8_bad += bad
        # lines beyond ASCII that are all UTF-8 (GBK text holds pieces of valid UTF-8 too)
        self.utf8_text += len(_NON_ASCII_LINE.findall(block)) - bad
        as_gb = block.decode("gb18030", "surrogateescape")
        self.gb_bad += len(_BAD_LINE.findall(as_gb))
        chars = _NOT_TEXT.sub("", as_gb)
        self.non_ascii += len(chars)
        # GB2312 holds the common characters, two bytes each: the rest are rare
        self.rare += len(chars) - len(chars.encode("gb2312", "ignore")) // 2


def _blocks(fh, chunk: int = CHUNK):
    """(block of whole lines, is the last) from a binary stream; a line longer than a chunk
    makes a longer block (memory grows with the longest line only)."""
    carry = b""
    while True:
        try:
            data = fh.read(chunk)
        except (EOFError, OSError) as exc:
            raise EncodingFault(str(exc) or type(exc).__name__) from None
        if not data:
            yield carry, True
            return
        data = carry + data
        cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        if cut == 0:
            carry = data
            continue
        carry = data[cut:]
        yield data[:cut], False


def analyse(fh) -> EncodingVerdict:
    """The verdict on a whole file, read from the binary stream ``fh`` (decompressed)."""
    verdict = EncodingVerdict()
    for block, last in _blocks(fh):
        verdict.add(block, last)
    return verdict.decide()


def transcode(fh, out: Path, encoding: str) -> None:
    """Write the stream ``fh`` decoded from ``encoding`` as UTF-8 to ``out``, a block of whole
    lines at a time (no multi-byte character spans a line end); bytes that do not decode are
    written as they are, so their line fails in DuckDB's reader."""
    with out.open("wb") as w:
        for block, _ in _blocks(fh):
            w.write(block.decode(encoding, "surrogateescape").encode("utf-8", "surrogateescape"))
