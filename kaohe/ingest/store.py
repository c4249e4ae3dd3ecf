"""Where the checked rows of a file go: good rows to ``raw.<source>`` (typed, with lineage and
the extra columns), bad rows and malformed lines to ``audit.quarantine`` with their reasons and
PII-masked raw text; and the masking of debtors' names in free text."""

from __future__ import annotations

from typing import NamedTuple

import duckdb

from kaohe.ingest import pii
from kaohe.ingest.contract import Source
from kaohe.ingest.files import FileRejected, LandedFile
from kaohe.ingest.rules import DUPLICATE_ROW, REPEATED_HEADER, SKIP_REASONS
from kaohe.warehouse import audit_tables as audit
from kaohe.warehouse import literal, quote

# A file of at least this many records whose rejected share exceeds ``max_rejected_share`` is
# rejected whole: one reason instead of a quarantine row per record (a share of a handful of
# records says nothing about the file).
MIN_RECORDS_FOR_SHARE = 100


def _subject(msg: str) -> str:
    """What a check's message is about: the first word of its first literal (a column name)."""
    parts = msg.split("'")
    return parts[1].split(" ")[0] if len(parts) > 1 and parts[1] else "row"


class Lineage(NamedTuple):
    """SQL expressions of a raw row's lineage (a named parameter, or a column of the batch); a
    snapshot's date is its business date."""

    file_id: str
    file: str
    line: str
    business_date: str
    seq: str


class Store:
    """The storing half of ``Ingestor`` (a mixin: it uses ``self.con``)."""

    con: duckdb.DuckDBPyConnection
    max_rejected_share: float
    _checks: list[tuple[str, str, str]]
    _rowid0: int

    def _mask_names(self, src: Source, fid: int | None) -> None:
        """The debtor's name in free text: in the new file's text before it is stored (the
        clear name never reaches the database file), and, for a case master, in the text already
        loaded about the cases whose (case, name) this file brings for the first time (in the
        same transaction as the file's rows)."""
        text = next((t for t in pii.text_sources() if t[0] == src.name), None)
        if text is not None:
            pii.mask_debtor_names(self.con, "_checked", ("rowid",), text[2])
        if src.name != "cases":
            return
        new_names = ("r.case_id in (select case_id from (select case_id, debtor_name from "
                     "_checked where not _bad and not _dup and _skip is null "
                     "except select case_id, debtor_name from raw.cases))")
        for text_source, pk, columns in pii.text_sources():
            n = pii.mask_debtor_names(
                self.con, f"raw.{text_source}", (*pk, "_file_id"), columns, new_names,
                names="(select case_id, debtor_name from _checked where not _bad and not _dup "
                      "and _skip is null)")
            if n:  # rows already published change: the next publish copies them whole
                self.con.execute(f"insert into audit.pii_masking_log "
                                 f"{audit.columns('pii_masking_log')} values "
                                 "(now()::timestamp, ?, ?, ?)", [text_source, n, fid])

    def _store(self, src: Source, f: LandedFile, fid: int,
               raw_types: dict[str, tuple[str, str]]) -> tuple[int, int]:
        """Good rows of _checked → raw.<source>; bad rows and malformed lines → quarantine."""
        con = self.con
        checks = self._checks
        # Record numbers: DuckDB counts records (header = 1) and skips the rejected ones. A
        # record's number is its rowid in _checked, from the first one's (Reader._materialize).
        base = self._rowid0
        # the line of the first record: 2 under a header line, 1 in a parquet or a vendor's
        # file without a header (a profile's ``header: false``)
        prof = getattr(self, "_profile", None)
        first = 1 if f.fmt == "parquet" or (prof is not None and not prof.profile.header) else 2
        n_rej = con.execute("select count(distinct line) from _rej").fetchall()[0][0]
        skipped = self._check_share(n_rej)
        if n_rej:
            con.execute(
                # consecutive rejected lines share a g: the last of them counts them all
                "create or replace temp table _rejmap as select g, max(n) as n from ("
                f"select line - {first} - (row_number() over (order by line) - 1) + {base} "
                "as g, "
                "row_number() over (order by line) as n from (select distinct line from _rej)) "
                "group by g"
            )
            line_from = "_checked t asof left join _rejmap m on t.rowid >= m.g"
            line_expr = f"t.rowid - {base} + {first} + coalesce(m.n, 0)"
        else:
            line_from = "_checked t"
            line_expr = f"t.rowid - {base} + {first}"

        loaded = self._insert_raw(
            src, raw_types, line_from, Lineage("$fid", "$file", line_expr, "$day::date", "$seq"),
            "not t._bad and not t._dup and t._skip is null",
            {"fid": fid, "file": f.rel, "day": f.business_date, "seq": f.seq})
        bad_rows = con.execute("select count(*) from _checked").fetchall()[0][0] - loaded
        if bad_rows:
            self._quarantine_rows(src, raw_types, checks, line_from, line_expr,
                                  ("?", "?"), [fid, f.rel])
        if n_rej:
            self._quarantine_lines(src, f, fid)
        if skipped:
            self._warn_copies(line_from, line_expr)
        return loaded, bad_rows + n_rej

    def _warn_copies(self, line_from: str, line_expr: str) -> None:
        """One warning per kind of line the file holds more than once (``Reader._mark_copies``):
        the file is listed by the ``file_warnings`` check, its lines are in the quarantine."""
        found = self.con.execute(
            f"select _skip, count(*), list(line order by line)[1:3] from (select t._skip, "
            f"{line_expr} as line from {line_from} where t._skip in ({REPEATED_HEADER}, "
            f"{DUPLICATE_ROW})) group by _skip order by _skip").fetchall()
        what = {REPEATED_HEADER: "the header line again", DUPLICATE_ROW: "the exact copy of an "
                "earlier line (that one loads)"}
        for kind, n, lines in found:
            where = ", ".join(map(str, lines)) + (", ..." if n > len(lines) else "")
            self._warnings.append(
                f"{SKIP_REASONS[kind][0]}: {n:,} line{'s' if n > 1 else ''} ({where}) "
                f"{'are each' if n > 1 else 'is'} {what[kind]}: not loaded, not counted toward "
                "ingest.max_rejected_share (in the quarantine)")

    def _insert_raw(self, src: Source, raw_types: dict[str, tuple[str, str]], line_from: str,
                    lineage: Lineage, where: str, params: dict | None = None) -> int:
        """Insert the good rows of ``line_from`` (``t`` is _checked) into raw.<source>, with
        their extra columns (schema drift is kept, as text, PII patterns masked like a text
        column) and the lineage expressions; the number of rows inserted."""
        raws = {name: alias for name, (alias, _) in raw_types.items()}
        extras = self._add_extra_columns(src, raw_types)
        cols = [quote(c) for c in src.column_names]
        values = [f"t.{c}" for c in cols]
        if src.kind == "snapshot":
            cols.insert(0, "snapshot_date")
            values.insert(0, lineage.business_date)
        cols += [quote(h) for h in extras]
        values += [f"mask_pii_text(cast(t.{raws[h]} as varchar))" for h in extras]
        cols += ["_file_id", "_file", "_line", "_business_date", "_seq"]
        values += [lineage.file_id, lineage.file, lineage.line, lineage.business_date,
                   lineage.seq]
        return self.con.execute(
            f"insert into raw.{src.name} ({', '.join(cols)}) select {', '.join(values)} "
            f"from {line_from} where {where}", params or {}).fetchall()[0][0]

    def _add_extra_columns(self, src: Source, raw_types: dict[str, tuple[str, str]]
                           ) -> list[str]:
        """The file's columns the contract does not know, each added to raw (as text) if new."""
        extras = [h for h in raw_types if h not in src.column_names]
        existing = {
            r[0] for r in self.con.execute(
                "select column_name from duckdb_columns() where schema_name = 'raw' "
                "and table_name = ?", [src.name],
            ).fetchall()
        } if extras else set()
        for h in extras:
            if h not in existing:
                self.con.execute(f"alter table raw.{src.name} add column {quote(h)} varchar")
        return extras

    def _check_share(self, n_rej: int) -> int:
        """Reject the file whole (``too_many_rejected``) before anything of it is stored when
        more than ``max_rejected_share`` of its records would be rejected. A line the file
        holds more than once (``_skip``: a repeated header, an exact copy) is neither a record
        nor a rejected one here; returns how many there are."""
        con = self.con
        records, bad, skipped = con.execute(
            "select count(*), count(*) filter ((_bad or _dup) and _skip is null), "
            "count(*) filter (_skip is not null) from _checked").fetchall()[0]
        read, rejected = records - skipped + n_rej, bad + n_rej
        if read < MIN_RECORDS_FOR_SHARE or rejected <= self.max_rejected_share * read:
            return skipped
        counts: dict[str, int] = {}
        if bad:
            labels = [f"{code} ({_subject(msg)})" for code, _, msg in self._checks] + [
                "duplicate_key"]
            found = con.execute(
                "select " + ", ".join([f"count_if(coalesce({cond}, false))"
                                       for _, cond, _ in self._checks] + ["count_if(t._dup)"])
                + " from _checked t where (t._bad or t._dup) and t._skip is null"
            ).fetchall()[0]
            for label, n in zip(labels, found, strict=True):
                counts[label] = counts.get(label, 0) + n
        for kind, n in con.execute(
                "select error_type in ('INVALID UNICODE', 'INVALID ENCODING'), "
                "count(distinct line) from _rej group by all").fetchall():
            label = "encoding_error (a line that is not UTF-8)" if kind else "malformed_row"
            counts[label] = counts.get(label, 0) + n
        top = sorted(((n, label) for label, n in counts.items() if n), reverse=True)[:5]
        raise FileRejected(
            "too_many_rejected",
            f"{rejected:,} of its {read:,} records ({rejected / read:.1%}) break the contract"
            + (f" (not counting {skipped:,} line(s) it holds twice)" if skipped else "") + ", "
            f"more than ingest.max_rejected_share ({self.max_rejected_share:.0%}): the file "
            "is rejected whole, as one, and nothing of it is loaded (an earlier version of it "
            "stays). Most often: " + ", ".join(f"{label} {n:,}" for n, label in top)
            + ". A file this wrong is usually a wrong export, name or date: correct it and "
            "deliver it again.", rows_read=read + skipped)

    def _quarantine_rows(self, src: Source, raw_types: dict[str, tuple[str, str]],
                         checks: list, line_from: str, line_expr: str,
                         file_sql: tuple[str, str], params: list) -> None:
        """``file_sql``: the SQL of the row's file id and file name (parameters ``params``, or
        columns of a table joined in ``line_from``)."""
        con = self.con

        # Bad rows → quarantine, with every reason and the record rebuilt with PII masked.
        key = "mask_value(concat_ws(', ', " + ", ".join("t." + quote(k) for k in src.pk) + "))"
        reasons = [
            f"case when coalesce({cond}, false) then {{'code': '{code}', 'msg': {msg}}} end"
            for code, cond, msg in checks
        ] + [
            "case when t._dup then {'code': 'duplicate_key', 'msg': "
            f"'duplicate key within the file: ' || {key}}} end"
        ]
        # a line held twice is quarantined for that alone (a repeated header breaks every type)
        skips = " ".join(f"when {kind} then [{{'code': '{code}', 'msg': {msg.format(key=key)}}}]"
                         for kind, (code, msg) in SKIP_REASONS.items())
        prof = getattr(self, "_profile", None)
        if prof is not None:  # the profile's drop rules, each with its reason
            skips += "".join(
                f" when {kind} then [{{'code': 'dropped_by_profile', 'msg': "
                f"{literal(reason + ' (profile ' + prof.name + ')')}}}]"
                for kind, _, reason in prof.drops)
        header_fields = []
        # a source with PII (the case master): any field may hold it when columns are swapped,
        # so every field is masked like a quoted value (long numbers, Chinese characters)
        field_mask = "mask_value" if src.pii_columns else ""
        if prof is not None:  # the vendor's fields the profile reads, its PII columns hidden
            for k in prof.kept:
                header_fields.append("'***'" if prof.header[k] in prof.pii_vendor else
                                     f"csv_field(cast(t._v{k} as varchar))")
        for name, (alias, _) in ([] if prof is not None else raw_types.items()):
            if name in src.pii_columns:
                header_fields.append("'***'")
            else:
                header_fields.append(f"csv_field({field_mask}(cast(t.{alias} as varchar)))")
        raw_text = f"concat_ws(',', {', '.join(header_fields)})"
        if prof is not None:
            # a vendor's record masked whole, once: the patterns never span a comma, so this is
            # the same as field by field, at a twentieth of the work on a wide export
            raw_text = f"{field_mask}({raw_text})"
        con.execute(
            "create or replace temp macro csv_field(v) as case when v is null then '' "
            "when contains(v, ',') or contains(v, '\"') or contains(v, chr(10)) "
            "then '\"' || replace(v, '\"', '\"\"') || '\"' else v end"
        )
        con.execute(
            f"insert into audit.quarantine {audit.columns('quarantine')} "
            f"select _fid, {literal(src.name)}, _file, line, mask_pii_text(raw_text), "
            "problems[1].code, "
            "array_to_string(list_transform(problems, lambda p: p.code || ': ' || p.msg), '; '), "
            "now()::timestamp from ("
            f"select {file_sql[0]} as _fid, {file_sql[1]} as _file, {line_expr} as line, "
            f"{raw_text} as raw_text, "
            f"case t._skip {skips} else list_filter([{', '.join(reasons)}], "
            "lambda p: p is not null) end as problems "
            f"from {line_from} where t._bad or t._dup or t._skip is not null)",
            params,
        )

    def _quarantine_lines(self, src: Source, f: LandedFile | None, fid: int | None) -> None:
        """Lines the CSV reader could not split into the header's fields (DuckDB's rejects);
        ``f`` None: the files of a batch (``_batch``, by their position in the read)."""
        con = self.con
        mask = "mask_pii_text(csv_line)"
        if src.pii_columns:
            # A malformed line cannot be split into fields: mask every CJK run and long number.
            mask = (f"regexp_replace(regexp_replace({mask}, '[\\x{{3400}}-\\x{{9FFF}}]+', '***', "
                    "'g'), '[0-9]{7,}', '***', 'g')")
        if f is None:
            ids, params, group = "b.fid, ?, b.rel", [], "b.fid, b.rel, "
            source = "_rej r join _batch b on r.file_id = b._fidx"
        else:
            ids, source, params, group = "?, ?, ?", "_rej", [fid], ""
        con.execute(
            f"insert into audit.quarantine {audit.columns('quarantine')} "
            f"select {ids}, line, any_value(" + mask + "), "
            "case when bool_or(error_type in ('INVALID UNICODE', 'INVALID ENCODING')) "
            "then 'encoding_error' else 'malformed_row' end, "
            "string_agg(distinct error_type || ': ' || mask_value(coalesce(error_message, '')), "
            "'; ' order by error_type || ': ' || mask_value(coalesce(error_message, ''))), "
            f"now()::timestamp from {source} group by {group}line order by {group}line",
            params + [src.name] + ([f.rel] if f is not None else []),
        )
