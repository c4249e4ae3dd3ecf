"""A source profile turned into SQL (``kaohe.ingest.profiles`` is the file and its model): the
closed grammar of its expressions, checked and rewritten with sqlglot, and ``Compiled``, the
profile for one file's header: each contract column as the text the contract's typing reads,
each converted column's problem message (NULL when it converted), the drop rules' conditions.
``Reader._read_vendor_csv`` selects them over DuckDB's ``read_csv`` of the file."""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

from kaohe.ingest.landed import FileRejected
from kaohe.ingest.sniffing import normalize_header

# the epoch values a time may have: 2000-01-01 to 2100-01-01 (the contract's sane window)
_EPOCH_FROM, _EPOCH_UNTIL = 946684800, 4102444800
_LOCAL_FMT = {"ts": "%Y-%m-%d %H:%M:%S", "date": "%Y-%m-%d"}
DROP_BASE = 10  # _skip codes of the profile's drop rules: 10, 11, ... (1 and 2: rules.SKIP_REASONS)


# -- expressions -----------------------------------------------------------------------------

_NODES = {
    "Column", "Identifier", "Literal", "Null", "Boolean", "Paren", "Case", "If", "EQ", "NEQ",
    "GT", "GTE", "LT", "LTE", "And", "Or", "Not", "Add", "Sub", "Mul", "Div", "Mod", "Neg",
    "In", "Is", "Like", "ILike", "Between", "Coalesce", "Nullif", "Cast", "TryCast", "DataType",
    "Lower", "Upper", "Trim", "Length", "Substring", "Concat", "DPipe", "RegexpExtract",
    "RegexpLike", "Left", "Right", "Abs", "Round", "Floor", "Ceil", "StartsWith", "Tuple",
}
_CASTS = {"INT", "BIGINT", "DOUBLE", "DECIMAL", "VARCHAR", "TEXT", "DATE", "TIMESTAMP",
          "SMALLINT", "TINYINT", "FLOAT", "BOOLEAN"}


def _parse(text: str) -> exp.Expression:
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"expression {text!r} does not parse: {first}") from None
    for node in tree.walk():
        kind = type(node).__name__
        if kind not in _NODES:
            what = node.sql(dialect="duckdb")[:40]
            raise ValueError(f"expression {text!r}: {what!r} ({kind}) is not allowed in a "
                             "profile (columns, literals, CASE, comparisons, AND/OR/NOT, "
                             "arithmetic, IN, LIKE, IS NULL, CAST, coalesce, nullif, lower, "
                             "upper, trim, length, substring, concat, regexp_extract)")
        if kind == "DataType" and node.this.name not in _CASTS:
            raise ValueError(f"expression {text!r}: a cast to {node.sql()} is not allowed")
        if kind == "Column" and node.table:
            raise ValueError(f"expression {text!r}: {node.sql()}: name a column alone")
    return tree


def check_expression(text: str) -> None:
    _parse(text)


def expression_columns(text: str) -> list[str]:
    """The vendor columns an expression reads (normalised like a header)."""
    return sorted({normalize_header(c.name) for c in _parse(text).find_all(exp.Column)})


def expression_sql(text: str, columns: dict[str, str]) -> str:
    """The expression as DuckDB SQL, each vendor column replaced by ``columns[name]``."""
    tree = _parse(text)

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column):
            return exp.column(columns[normalize_header(node.name)], quoted=True)
        return node
    return "(" + tree.transform(swap).sql(dialect="duckdb") + ")"


# -- compiling -------------------------------------------------------------------------------

def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


class Compiled:
    """A profile compiled for one file's header: the select list of ``_in`` over read_csv."""

    def __init__(self, profile: Any, header: list[str]):
        """``profile``: a ``kaohe.ingest.profiles.Profile``."""
        self.profile = profile
        self.name = profile.profile
        src = self.src = profile.contract
        self.header = header
        self.warnings: list[str] = []
        present = set(header)
        ident = {h: h for h in header}
        # three layers over read_csv (``select``): _g<i> the value as given (text, trimmed, ''
        # as NULL), _c<i> converted (typed: a time a TIMESTAMP or DATE, a duration a BIGINT),
        # each computed once; then the contract's columns and the problems over them
        self.given: dict[int, str] = {}      # i -> SQL over the vendor's columns
        self.converted: dict[int, str] = {}  # i -> SQL over _g<i>
        self.columns: dict[str, tuple[str, str]] = {}  # contract column -> (SQL, DuckDB type)
        self.problems: list[tuple[str, str, str]] = []  # (contract column, code, SQL message)
        self.pii_vendor: set[str] = set()
        self.used: set[str] = set()
        missing: list[str] = []
        for i, (name, m) in enumerate(profile.columns.items()):
            col = src.column(name)
            if m.const is not None:
                value = str(m.const).lower() if isinstance(m.const, bool) else str(m.const)
                self.columns[name] = (_lit(value), "VARCHAR")
                continue
            if m.expr is not None:
                needs = expression_columns(m.expr)
                absent = [c for c in needs if c not in present]
                if absent:
                    if m.required:
                        missing.append(f"{', '.join(absent)} (read by the expression of {name})")
                    continue
                v = f"cast({expression_sql(m.expr, ident)} as varchar)"
                shown_col = "/".join(needs)
                self.used.update(needs)
            else:
                found = next((normalize_header(a) for a in m.aliases
                              if normalize_header(a) in present), None)
                if found is None:
                    if m.required:
                        missing.append(f"{' / '.join(m.aliases)} (for {name})")
                    continue
                v = '"' + found.replace('"', '""') + '"'
                shown_col = found
                self.used.add(found)
                if col.pii:
                    self.pii_vendor.add(found)
            converted = self._convert(name, col, m, i, shown_col)
            if converted is None:  # taken as it is: the contract's typing reads the text
                out, typ = v, "VARCHAR"
            else:
                self.given[i] = f"nullif(trim({v}), '')"
                conv, typ, problem = converted
                self.converted[i] = conv
                out = f"_c{i}"
                if problem is not None:
                    self.problems.append((name, *problem))
            if col.pii:
                out = f"pii_hmac(nullif(trim({out}), ''))"
            self.columns[name] = (out, typ)
        if missing:
            raise FileRejected("missing_column", f"profile {self.name}: the file has no column "
                               f"{'; '.join(missing)}")
        # rows to drop: a rule whose columns the file lacks cannot apply (said, not guessed)
        self.drops: list[tuple[int, str, str]] = []  # (skip code, SQL condition, reason)
        for i, rule in enumerate(profile.drop):
            needs = expression_columns(rule.when)
            absent = [c for c in needs if c not in present]
            if absent:
                self.warnings.append(f"profile {self.name}: the drop rule {rule.when!r} is not "
                                     f"applied: the file has no column {', '.join(absent)}")
                continue
            self.used.update(needs)
            self.drops.append((DROP_BASE + i, expression_sql(rule.when, ident), rule.reason))
        self.unmapped = [h for h in header if h not in self.used]
        # the vendor's fields kept for the quarantine's record: those the profile reads (the
        # others are never materialised: DuckDB's reader skips what no one selects, a third of
        # the read of a wide CDR; the whole line stays in the landing file, at its line)
        self.kept = [k for k, h in enumerate(header) if h in self.used]
        # the contract's columns the profile leaves out: NULL in every row
        self.not_mapped = [c for c in src.column_names if c not in self.columns]

    def select(self, reader: str, batch: bool = False) -> str:
        """The query of ``_in`` over ``reader`` (a read_csv of the file): ``_r<i>`` the contract's
        columns (in ``columns``' order), ``_pm<j>`` the problems, ``_pdrop`` the drop rule met,
        ``_v<k>`` the vendor's fields it reads (``kept``); ``_fidx`` passed through when the
        reader has it."""
        g = "".join(f", {sql} as _g{i}" for i, sql in self.given.items())
        c = "".join(f", {sql} as _c{i}" for i, sql in self.converted.items())
        out = [f"{sql} as _r{i}" for i, (sql, _) in enumerate(self.columns.values())]
        out += [f"{msg} as _pm{j}" for j, (_, _, msg) in enumerate(self.problems)]
        if self.drops:
            whens = " ".join(f"when coalesce({cond}, false) then {code}"
                             for code, cond, _ in self.drops)
            out.append(f"(case {whens} end)::utinyint as _pdrop")
        out += ['"' + self.header[k].replace('"', '""') + f'" as _v{k}' for k in self.kept]
        if batch:
            out.append("_fidx")
        return (f"select {', '.join(out)} from (select *{c} from (select *{g} from {reader}))")

    @property
    def raw_types(self) -> dict[str, tuple[str, str]]:
        """What ``Reader._materialize`` reads: contract column -> (alias in _in, its type)."""
        return {name: (f"_r{i}", typ) for i, (name, (_, typ)) in enumerate(self.columns.items())}

    def _convert(self, name: str, col, m: Any, i: int, shown_col: str
                 ) -> tuple[str, str, tuple[str, str] | None] | None:
        """(SQL of the converted value over ``_g<i>``, its type, (code, SQL message when the
        value did not convert)); None for a value taken as it is."""
        given = f"_g{i}"
        where = f"(profile {self.name}, column {shown_col})"
        shown = ("'a value'" if col.pii else
                 f"'''' || mask_value(left({given}, 60)) || ''''")
        tk = m.time_kind
        if m.map is not None:
            whens = " ".join(f"when {_lit(str(k).strip())} then {_lit(val)}"
                             for k, val in m.map.items())
            default = _lit(m.default) if m.default is not None else "null"
            conv = f"(case {given} {whens} else {default} end)"
            if m.default is not None:
                return conv, "VARCHAR", None
            codes = ", ".join(str(k) for k in list(m.map)[:12])
            msg = (f"{_lit(name + ' ' + where + ': ')} || {shown} || "
                   f"{_lit(' is not a code the profile maps (' + codes + ')')}")
            return conv, "VARCHAR", ("unknown_enum", f"case when {given} is not null and "
                                                     f"_c{i} is null then {msg} end")
        if tk is not None:
            zone = tk.zone or self.profile.zone
            if tk.kind == "text":
                fmt = tk.format or _LOCAL_FMT[col.type]
                ts = f"try_strptime({given}, {_lit(fmt)})"
                if zone != self.profile.zone:
                    ts = f"timezone({_lit(self.profile.zone)}, timezone({_lit(zone)}, {ts}))"
                what = f"a time {fmt}"
            else:
                scale = 1000 if tk.kind == "epoch_ms" else 1
                n = f"try_cast({given} as double)"
                ts = (f"case when {n} >= {_EPOCH_FROM * scale} and {n} < {_EPOCH_UNTIL * scale} "
                      f"then timezone({_lit(self.profile.zone)}, to_timestamp({n} / {scale})) "
                      "end")
                what = ("seconds since 1970-01-01" if scale == 1
                        else "milliseconds since 1970-01-01") + " (2000 to 2100)"
            # whole seconds, as the contract's own timestamps are
            conv, typ = ((f"({ts})::date", "DATE") if col.type == "date"
                         else (f"date_trunc('second', {ts})", "TIMESTAMP"))
        elif m.duration is not None:
            if m.duration == "hms":
                hms = "'[0-9]{1,6}(:[0-9]{1,2}){1,2}'"
                conv = (f"case when regexp_full_match({given}, {hms}) then list_reduce("
                        f"list_transform(string_split({given}, ':'), lambda x: x::bigint), "
                        "lambda a, b: a * 60 + b) end")
                what = "a duration H:MM:SS or M:SS"
            else:
                scale = 1000 if m.duration == "milliseconds" else 1
                n = f"try_cast({given} as double)"
                conv = f"case when abs({n}) < 1e12 then floor({n} / {scale})::bigint end"
                what = f"a number of {m.duration}"
            typ = "BIGINT"
        else:
            return None
        msg = (f"{_lit(name + ' ' + where + ': ')} || {shown} || {_lit(' is not ' + what)}")
        return conv, typ, ("bad_type", f"case when {given} is not null and _c{i} is null "
                                        f"then {msg} end")


def compile_profile(profile: Any, header: list[str]) -> Compiled:
    """The profile for a file of this (normalised) header; FileRejected when a column it needs
    is missing."""
    return Compiled(profile, header)
