"""Reading a file into the temp view ``_in`` with DuckDB's native readers (a CSV with every
column as text and its malformed lines in ``_rej``; a parquet with its own types), PII hashed in
the read; then typed and checked in one pass into the temp table ``_checked`` (``_materialize``)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from kaohe.ingest.contract import Source
from kaohe.ingest.files import (
    FileRejected,
    LandedFile,
    analyse_encoding,
    check_header,
    check_names,
    normalize_header,
    sniff,
    transcode_to_utf8,
)
from kaohe.ingest.pii import mask_value
from kaohe.ingest.profile_sql import Compiled, compile_profile
from kaohe.ingest.rules import (
    DUPLICATE_ROW,
    REPEATED_HEADER,
    DateWindow,
    header_line,
    reference_checks,
    row_checks,
    typed_expr,
)
from kaohe.warehouse import literal, quote


class Reader:
    """The reading half of ``Ingestor`` (a mixin: it uses ``self.con`` and ``self.tmp_dir``)."""

    con: duckdb.DuckDBPyConnection
    tmp_dir: Path
    window_days: tuple[int, int]
    # the current file's: the dates its records may carry, its checks (the same in the read
    # and the store), its warnings
    _window: DateWindow | None
    _checks: list[tuple[str, str, str]]
    _warnings: list[str]
    _rowid0: int  # the rowid of _checked's first record
    _header_line: str  # SQL: a bad row of _checked that repeats the header line
    # the current file's source profile compiled for its header (None: the contract's format)
    _profile: Compiled | None = None

    def _read(self, src: Source | None, f: LandedFile) -> tuple[dict[str, tuple[str, str]], str]:
        """Read, type and check the file into the temp table _checked; FileRejected if it can't."""
        if src is None:
            raise FileRejected(
                "bad_file_name",
                f"file name does not follow <source>_<YYYYMMDD>[_<seq>].csv|csv.gz|parquet "
                f"with <source> = {f.source}",
            )
        self._window = (DateWindow(f.business_date, *self.window_days)
                        if f.business_date else None)
        self._profile = None
        if f.profile is not None:
            return self._read_profiled(src, f)
        transcoded = None
        encoding = "parquet"
        try:
            if f.fmt == "parquet":
                raw_types = self._read_parquet(src, f)
                self._materialize(src, raw_types)
                return raw_types, encoding
            sniffed = sniff(f.path, f.fmt or "csv")
            encoding, verdict = sniffed.encoding, sniffed.verdict
            check_header(src, sniffed.header)
            path, fmt = f.path, f.fmt
            if encoding != "utf-8":
                path = transcoded = transcode_to_utf8(f.path, f.fmt or "csv", encoding,
                                                      self.tmp_dir)
                fmt = "csv"
            raw_types = self._read_csv(src, path, sniffed.header, fmt)
            self._materialize(src, raw_types)
            if verdict is None and not sniffed.bom and self._has_unicode_rejects():
                # clean UTF-8 at the top, not further down: the whole file decides
                verdict = analyse_encoding(f.path, f.fmt or "csv")
                if verdict.encoding == "gb18030":
                    encoding = "gb18030"
                    transcoded = transcode_to_utf8(f.path, f.fmt or "csv", encoding,
                                                   self.tmp_dir)
                    raw_types = self._read_csv(src, transcoded, sniffed.header, "csv")
                    self._materialize(src, raw_types)
            if verdict is not None and verdict.warning:
                self._warnings.append(verdict.warning)
            return raw_types, encoding
        except FileRejected as exc:
            exc.encoding = None if encoding == "parquet" else encoding
            raise
        except duckdb.Error as exc:
            msg = mask_value(str(exc).splitlines()[0][:300])
            code = "truncated_file" if f.fmt == "csv.gz" else "unreadable_file"
            raise FileRejected(code, msg) from None
        finally:
            if transcoded is not None:
                transcoded.unlink(missing_ok=True)

    def _read_profiled(self, src: Source, f: LandedFile) -> tuple[dict[str, tuple[str, str]],
                                                                   str]:
        """A file read through its source profile (``kaohe.ingest.profiles``): the vendor's
        columns read as text by read_csv, mapped onto the contract's columns in the view
        ``_in``, then typed and checked like any file. Every whole-file reason names the
        profile."""
        prof = f.profile
        transcoded = None
        encoding = "utf-8"
        try:
            declared = None if prof.encoding == "auto" else prof.encoding
            sniffed = sniff(f.path, f.fmt or "csv", prof.delimiter, declared)
            encoding, verdict = sniffed.encoding, sniffed.verdict
            if prof.header:
                header = sniffed.header
            else:
                header = [normalize_header(n) for n in prof.names]
            check_names(header)
            self._profile = compiled = compile_profile(prof, header)
            self._warnings.extend(compiled.warnings)
            path, fmt = f.path, f.fmt
            if encoding != "utf-8":
                transcoded = transcode_to_utf8(f.path, f.fmt or "csv", encoding, self.tmp_dir)
                path, fmt = transcoded, "csv"
            raw_types = self._read_vendor_csv(compiled, path, fmt)
            self._materialize(src, raw_types)
            if (prof.encoding == "auto" and verdict is None and not sniffed.bom
                    and encoding == "utf-8" and self._has_unicode_rejects()):
                verdict = analyse_encoding(f.path, f.fmt or "csv")
                if verdict.encoding == "gb18030":
                    encoding = "gb18030"
                    transcoded = transcode_to_utf8(f.path, f.fmt or "csv", encoding,
                                                   self.tmp_dir)
                    raw_types = self._read_vendor_csv(compiled, transcoded, "csv")
                    self._materialize(src, raw_types)
            if verdict is not None and verdict.warning:
                self._warnings.append(verdict.warning)
            return raw_types, encoding
        except FileRejected as exc:
            exc.encoding = encoding
            if not exc.message.startswith("profile "):
                exc.message = f"profile {prof.profile}: {exc.message}"
            raise
        except duckdb.Error as exc:
            msg = mask_value(str(exc).splitlines()[0][:300])
            code = "truncated_file" if f.fmt == "csv.gz" else "unreadable_file"
            raise FileRejected(code, f"profile {prof.profile}: {msg}") from None
        finally:
            if transcoded is not None:
                transcoded.unlink(missing_ok=True)

    def _read_vendor_csv(self, compiled: Compiled, path: Path | list[Path], fmt: str | None
                         ) -> dict[str, tuple[str, str]]:
        """The view ``_in`` over a vendor's file (``Compiled.select``): ``_r<i>`` the contract's
        columns (converted times and durations typed), ``_pm<j>`` the problem of each converted
        column (NULL when it converted), ``_pdrop`` the drop rule a row meets, ``_v<k>`` the
        vendor's fields (the record as it arrived, kept for the quarantine). ``path`` a list:
        several files of one profile and header in one read, ``_fidx`` each row's file."""
        self.con.execute("drop table if exists _rej; drop table if exists _rej_scan")
        prof = compiled.profile
        columns = "{" + ", ".join(
            "'" + h.replace("'", "''") + "': 'VARCHAR'" for h in compiled.header) + "}"
        delim = prof.delimiter.replace("'", "''")
        if isinstance(path, list):
            paths = "[" + ", ".join(literal(str(p)) for p in path) + "]"
        else:
            paths = literal(str(path))
        reader = (
            f"read_csv({paths}, columns = {columns}, header = {str(prof.header).lower()}, "
            f"auto_detect = false, delim = '{delim}', quote = '\"', escape = '\"', "
            "store_rejects = true, rejects_table = '_rej', rejects_scan = '_rej_scan', "
            f"max_line_size = 4000000, compression = '{'gzip' if fmt == 'csv.gz' else 'none'}')")
        batch = isinstance(path, list)
        if batch:
            reader = f"(select *, file_index::integer as _fidx from {reader})"
        self.con.execute(f"create or replace temp view _in as {compiled.select(reader, batch)}")
        return compiled.raw_types

    def _read_csv(self, src: Source, path: Path | list[Path], header: list[str],
                  fmt: str | None) -> dict[str, tuple[str, str]]:
        """The view ``_in`` over one file, or over several files of the same header and format
        read in one statement (``path`` a list): then ``_fidx`` is each row's file, its position
        in the list, and ``_rej.file_id`` the same position."""
        con = self.con
        con.execute("drop table if exists _rej; drop table if exists _rej_scan")
        columns = "{" + ", ".join(
            "'" + h.replace("'", "''") + "': 'VARCHAR'" for h in header
        ) + "}"
        aliases = {h: f"_r{i}" for i, h in enumerate(header)}
        select = ", ".join(self._read_select(src, h, quote(h), aliases[h]) for h in header)
        if isinstance(path, list):
            select += ", file_index::integer as _fidx"
            paths = "[" + ", ".join(literal(str(p)) for p in path) + "]"
        else:
            paths = literal(str(path))
        # A view: the file is read once, by the statement that types and checks it.
        con.execute(
            f"create or replace temp view _in as select {select} from read_csv("
            f"{paths}, columns = {columns}, header = true, auto_detect = false, "
            " delim = ',', quote = '\"', escape = '\"', "
            "store_rejects = true, rejects_table = '_rej', rejects_scan = '_rej_scan', "
            f"max_line_size = 4000000, compression = '{'gzip' if fmt == 'csv.gz' else 'none'}')"
        )
        return {h: (aliases[h], "VARCHAR") for h in header}

    def _read_select(self, src: Source, name: str, ident: str, alias: str) -> str:
        """The reader's select of one file column: ``name`` is its normalised header, the
        contract column at that position; ``ident`` how the file itself spells it. A PII column
        is hashed in the read, whatever its type, so its clear value is never stored."""
        if name in src.pii_columns:
            return f"pii_hmac(nullif(trim(cast({ident} as varchar)), '')) as {alias}"
        return f"{ident} as {alias}"

    def _has_unicode_rejects(self) -> bool:
        return bool(self.con.execute(
            "select count(*) from _rej where error_type in ('INVALID UNICODE', 'INVALID ENCODING')"
        ).fetchall()[0][0])

    def _read_parquet(self, src: Source, f: LandedFile) -> dict[str, tuple[str, str]]:
        con = self.con
        con.execute("drop table if exists _rej; drop table if exists _rej_scan")
        con.execute("create temp table _rej (line bigint, error_type varchar, csv_line varchar, "
                    "error_message varchar)")
        described = con.execute(
            "select column_name, column_type from (describe select * from read_parquet(?))",
            [str(f.path)],
        ).fetchall()
        header = [normalize_header(name) for name, _ in described]
        # DuckDB renames a repeated column (``CASE_ID`` beside ``case_id`` becomes
        # ``CASE_ID_1``): the duplicate check reads the file's own names
        schema = con.execute("select name, num_children from parquet_schema(?)",
                             [str(f.path)]).fetchall()[1:]
        if all(children is None for _, children in schema):  # a flat file: every column
            check_header(src, [normalize_header(name) for name, _ in schema])
        check_header(src, header)
        aliases = {h: f"_r{i}" for i, h in enumerate(header)}
        select = ", ".join(
            self._read_select(src, h, quote(orig), aliases[h])
            for (orig, _), h in zip(described, header, strict=True)
        )
        con.execute(
            f"create or replace temp view _in as select {select} "
            f"from read_parquet({literal(str(f.path))})"
        )
        return {h: (aliases[h], "VARCHAR" if h in src.pii_columns else typ)
                for (_, typ), h in zip(described, header, strict=True)}

    def _materialize(self, src: Source, raw_types: dict[str, tuple[str, str]],
                     keep_raw: bool = False, batch: bool = False) -> None:
        """One pass over the file: read, type and check every row into _checked.

        The record as it arrived (the raw text of the contract's columns) is kept for the bad
        rows only, which the quarantine shows: keeping it for every row would more than double
        the table. Extra columns are always kept (raw stores them). A file with a duplicate key
        is read again keeping every record (``keep_raw``): a duplicate is only known after.
        ``batch``: ``_in`` holds several files (``_fidx``, kept); the rowid numbers the records
        of all of them in order, and a duplicate key is the caller's to find, per file.

        ``_skip`` marks what the file holds more than once (``_mark_copies``): a line repeating
        the header, a line repeating an earlier one exactly; NULL for every other row (a
        constant NULL costs next to nothing in the table, unlike a constant value).
        """
        con = self.con
        raws = {name: alias for name, (alias, _) in raw_types.items()}
        typed = ", ".join(
            f"{typed_expr(c, raws.get(c.name), raw_types.get(c.name, ('', 'VARCHAR'))[1])}"
            f" as {quote(c.name)}"
            if not c.pii or c.name not in raws else f"{raws[c.name]} as {quote(c.name)}"
            for c in src.columns
        )
        raw_cols = ", ".join(alias for alias, _ in raw_types.values())
        prof = self._profile
        # a profile's columns carried along: its problems, drops and the vendor's fields
        carry = vendor = []
        skip = "null::utinyint"
        if prof is not None:
            vendor = [f"_v{k}" for k in prof.kept]
            carry = [f"_pm{j}" for j in range(len(prof.problems))] + vendor
            if prof.drops:
                carry.append("_pdrop")
                skip = "_pdrop"
        carried = "".join(", " + c for c in carry)
        typed_rows = (f"(select {raw_cols}, {typed}{carried}{', _fidx' if batch else ''} "
                      "from _in)")
        rows = row_checks(src, raws, self._window)
        if prof is not None:
            # what the profile could not convert first (the reason names the profile, the
            # vendor's column and value); the contract's reasons say which profile read the row
            rows = [(code, f"_pm{j} is not null", f"_pm{j}")
                    for j, (_, code, _) in enumerate(prof.problems)] + [
                (code, cond, f"{msg} || ' [profile {prof.name}]'") for code, cond, msg in rows]
        if src.references:
            # a reference may point at another row of the same file, if that row is good
            # itself: type and row-check the file first
            row_bad = " or ".join(f"coalesce({cond}, false)" for _, cond, _ in rows)
            con.execute(f"create or replace temp table _typed as select t.*, ({row_bad}) "
                        f"as _row_bad from {typed_rows} t")
            typed_rows = "(select * exclude (_row_bad) from _typed)"
        checks = self._checks = rows + reference_checks(src)
        pk = ", ".join(quote(k) for k in src.pk)
        bad_any = " or ".join(f"coalesce({cond}, false)" for _, cond, _ in checks)
        # One pass: read, type, check and store, in parallel. The table keeps the file's order
        # (insertion order is preserved), so a record's number is its rowid minus the first
        # one's, plus 1 (rowids start at 0, or at a large constant inside a transaction): no
        # row_number() over (), which would run the whole read on one thread.
        aliases = [alias for alias, _ in raw_types.values()]
        raw_text = ", ".join(
            f"c.{alias}" if keep_raw or name not in src.column_names
            else f"case when c._bad then c.{alias} end as {alias}"
            for name, (alias, _) in raw_types.items())
        # the vendor's record, for the quarantine: kept for the rows that go there
        raw_text += "".join(f", case when c._bad or c._skip is not null then c.{v} end as {v}"
                            for v in vendor)
        con.execute(
            f"create or replace temp table _checked as select {raw_text}, "
            f"c.* exclude ({', '.join(aliases + vendor)}) "
            f"from (select t.*, ({bad_any}) as _bad, false as _dup, {skip} as _skip "
            f"from {typed_rows} t) c"
        )
        self._header_line = header_line(src, raw_types)
        if batch:
            return
        self._first_rowid()
        # an exact copy of a line has the key of the line it copies: no duplicate key, no copy
        dupes, headers = con.execute(
            f"select (select count(*) from (select 1 from _checked group by {pk} "
            f"having count(*) > 1)), (select count(*) from _checked where _bad and "
            f"{self._header_line})").fetchall()[0]
        if dupes and not keep_raw:
            self._materialize(src, raw_types, keep_raw=True)
            return
        if dupes or headers:  # rare
            self._mark_copies(src, raw_types, copies=bool(dupes))

    def _mark_copies(self, src: Source, raw_types: dict[str, tuple[str, str]],
                     copies: bool) -> None:
        """``_skip``: a line repeating the header (``REPEATED_HEADER``), and, with ``copies``
        (every row's text kept), a line whose every field is the same as an earlier line's
        (``DUPLICATE_ROW``, the earlier one stays); ``_dup``: among the other rows, the later
        occurrences of a key (``duplicate_key``). Two exports concatenated into one file load
        once, their second header and copies quarantined for what they are."""
        pk = ", ".join(quote(k) for k in src.pk)
        line = ", ".join(alias for alias, _ in raw_types.values())
        copy = (f"when row_number() over (partition by {line} order by rowid) > 1 "
                f"then {DUPLICATE_ROW} " if copies else "")
        self.con.execute(
            "create or replace temp table _checked as select * exclude (_rid) replace ("
            "_skip is null and row_number() over (partition by "
            f"{pk}, _skip is null order by _rid) > 1 as _dup) from ("
            f"select * replace (coalesce(_skip, (case when _bad and {self._header_line} then "
            f"{REPEATED_HEADER} {copy}end)::utinyint) as _skip), rowid as _rid from _checked) "
            "order by _rid"
        )
        self._first_rowid()

    def _first_rowid(self) -> None:
        """The rowid of the first record of _checked (what record numbers count from)."""
        self._rowid0 = self.con.execute("select coalesce(min(rowid), 0) from _checked"
                                        ).fetchall()[0][0]
