"""Typing and checking: the SQL built from the contract (identifiers from the contract or
quoted). A row is bad when any condition of ``row_checks`` or ``reference_checks`` is true."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from kaohe.ingest.contract import SAFE_ID_PATTERN, Column, Source
from kaohe.warehouse import quote

# Timestamps and dates outside this window are absurd for a collection record.
SANE_FROM, SANE_UNTIL = "2000-01-01", "2100-01-01"

_TEXT_PARSE = {
    "str": "nullif({x}, '')",  # not trimmed: a value arrives as it was sent
    "int": "case when regexp_full_match({x}, ' *[+-]?[0-9]{{1,18}} *') "
    "then try_cast({x} as bigint) end",
    "dec": "case when regexp_full_match({x}, ' *[+-]?[0-9]{{1,16}}([.][0-9]{{0,2}})? *') "
    "then try_cast({x} as decimal(18,2)) end",
    "float": "try_cast({x} as double)",
    "ts": "try_strptime({x}, '%Y-%m-%d %H:%M:%S')",
    "date": "try_strptime({x}, '%Y-%m-%d')::date",
    "bool": "case lower(trim({x})) when 'true' then true when '1' then true "
    "when 'false' then false when '0' then false end",
}
_TYPE_HINT = {
    "str": "text",
    "int": "a whole number",
    "dec": "a decimal with at most 2 places",
    "float": "a number",
    "ts": "a timestamp YYYY-MM-DD HH:MM:SS",
    "date": "a date YYYY-MM-DD",
    "bool": "true/false/1/0",
}


def typed_expr(col: Column, raw: str | None, raw_type: str) -> str:
    """SQL giving the typed value of ``col`` from raw column ``raw`` (NULL when it is bad)."""
    if raw is None:
        return f"null::{col.sql_type}"
    if raw_type == "VARCHAR":
        expr = _TEXT_PARSE[col.type].format(x=raw)
    elif col.type == "str" and col.id:  # an identifier is taken as sent, as in a CSV
        expr = f"nullif(cast({raw} as varchar), '')"
    elif col.type == "str":
        expr = f"nullif(trim(cast({raw} as varchar)), '')"
    else:
        return f"try_cast({raw} as {col.sql_type})"
    return f"mask_pii_text({expr})" if col.text else expr


def _value(raw: str) -> str:
    """A bad value quoted in a reason: cut, and masked (a phone in a swapped column...)."""
    return f"mask_value(left(cast({raw} as varchar), 60))"


# What is wrong with an identifier that is not a plain name, most specific first (RE2 classes).
_CONTROL = "[\\x{1}-\\x{1f}\\x{7f}-\\x{9f}]"
_SPACE = "[ \\t\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{202f}\\x{205f}\\x{3000}]"
_INVISIBLE = ("[\\x{ad}\\x{34f}\\x{61c}\\x{115f}\\x{1160}\\x{180e}\\x{200b}-\\x{200f}"
              "\\x{202a}-\\x{202e}\\x{2060}-\\x{206f}\\x{3164}\\x{fe00}-\\x{fe0f}"
              "\\x{feff}\\x{ffa0}]")
_FULL_WIDTH = "[\\x{ff01}-\\x{ff5e}]"
_LOOK_ALIKE = "[\\x{370}-\\x{3ff}\\x{400}-\\x{52f}\\x{1d00}-\\x{1d7f}]"
_NON_ASCII = "[^\\x{0}-\\x{7f}]"


def _code_point(v: str, cls: str) -> str:
    return f"printf('U+%04X', unicode(regexp_extract({v}, '{cls}')))"


def id_problem(v: str) -> str:
    """SQL naming why ``v`` (not NULL, not a plain identifier) is refused."""
    return (
        "case "
        f"when contains({v}, chr(0)) then 'a NUL byte' "
        f"when regexp_matches({v}, '{_CONTROL}') then 'a control character ' || "
        f"{_code_point(v, _CONTROL)} "
        f"when regexp_matches({v}, '^{_SPACE}|{_SPACE}$') then 'a leading or trailing space' "
        f"when regexp_matches({v}, '{_INVISIBLE}') then 'a zero-width or invisible character ' "
        f"|| {_code_point(v, _INVISIBLE)} "
        f"when regexp_matches({v}, '{_FULL_WIDTH}') then 'a full-width character ' || "
        f"{_code_point(v, _FULL_WIDTH)} "
        f"when regexp_matches({v}, '{_LOOK_ALIKE}') then "
        f"'a Greek or Cyrillic letter that looks like a Latin one ' || "
        f"{_code_point(v, _LOOK_ALIKE)} "
        f"when regexp_matches({v}, '{_SPACE}') then 'a space' "
        # no code point here: it could be the first character of a name
        f"when regexp_matches({v}, '{_NON_ASCII}') then 'a character that is not ASCII' "
        f"when regexp_matches({v}, '[/\\\\]') then 'a path separator' "
        f"when starts_with({v}, '.') then 'a leading dot' "
        f"when length({v}) > 64 then 'more than 64 characters' "
        "else 'a character other than ASCII letters, digits and _ . -' end"
    )


def _shown_id(v: str) -> str:
    """An identifier quoted in a reason: invisible and control characters made visible."""
    return (f"mask_value(left(regexp_replace({v}, '{_CONTROL}|{_INVISIBLE}|\\x{{0}}', '?', "
            "'g'), 60))")


@dataclass(frozen=True)
class DateWindow:
    """The dates a file's records may carry: ``before`` days before its business date to
    ``after`` days after (configuration ``ingest.record_date_window_days``)."""

    business_date: date
    before: int
    after: int

    @property
    def first(self) -> date:
        return self.business_date - timedelta(days=self.before)

    @property
    def last(self) -> date:
        return self.business_date + timedelta(days=self.after)

    # SQL of the window's ends and its description, as the checks use them
    def first_sql(self) -> str:
        return f"DATE '{self.first}'"

    def last_sql(self) -> str:
        return f"DATE '{self.last}'"

    def span_sql(self) -> str:
        return (f"'the window of the file''s date {self.business_date} is {self.first} to "
                f"{self.last}'")


@dataclass(frozen=True)
class FileWindows:
    """The windows of several files read in one statement: each row's is chosen by its file's
    position in the read (the column ``index``), from constant lists."""

    windows: tuple[DateWindow, ...]
    index: str = "t._fidx"

    def _pick(self, values: list[str]) -> str:
        return f"[{', '.join(values)}][{self.index} + 1]"

    def first_sql(self) -> str:
        return self._pick([w.first_sql() for w in self.windows])

    def last_sql(self) -> str:
        return self._pick([w.last_sql() for w in self.windows])

    def span_sql(self) -> str:
        return self._pick([w.span_sql() for w in self.windows])


def window_checks(src: Source, window: DateWindow | FileWindows | None
                  ) -> list[tuple[str, str, str]]:
    """``out_of_window``: a record dated after its file's date (plus the window), or, for a
    source that delivers each record once, long before it: a misnamed file, a wrong clock."""
    dates = src.record_dates
    if window is None or dates is None:
        return []
    span = window.span_sql()
    checks = []
    for name in dates.columns:
        c = quote(name)
        checks.append(("out_of_window", f"{c}::date > {window.last_sql()}",
                       f"'{name} ' || {c}::varchar || ' is after its file''s date: ' || {span}"))
    if dates.once:
        cols = [quote(c) for c in dates.columns]
        latest = cols[0] if len(cols) == 1 else f"greatest({', '.join(cols)})"
        checks.append(("out_of_window", f"{latest}::date < {window.first_sql()}",
                       f"'{'/'.join(dates.columns)} ' || {latest}::varchar || ' is long before "
                       f"its file''s date: ' || {span}"))
    return checks


def row_checks(src: Source, raws: dict[str, str],
               window: DateWindow | FileWindows | None = None) -> list[tuple[str, str, str]]:
    """(reason_code, SQL condition true when bad, SQL message) for each row-level rule;
    ``window``: the dates this file's records may carry (no date check without it)."""
    checks: list[tuple[str, str, str]] = []
    for col in src.columns:
        c = quote(col.name)
        raw = raws.get(col.name)
        # the value as sent (none for an optional column the file lacks: never bad anyway)
        shown = ("" if col.pii or col.text or raw is None
                 else f" || ' ' || coalesce({_value(raw)}, '')")
        if not col.nullable:  # empty: NULL in a CSV, '' in a parquet text column
            empty = f"nullif(cast({raw} as varchar), '') is null" if raw else "true"
            checks.append(("missing_value", f"{c} is null and {empty}",
                           f"'{col.name} is required'"))
        if raw is not None and col.type != "str":
            checks.append(
                ("bad_type", f"{c} is null and nullif(cast({raw} as varchar), '') is not null",
                 f"'{col.name} is not {_TYPE_HINT[col.type]}:'{shown}"),
            )
        if col.id:
            checks.append(("bad_id", f"not regexp_full_match({c}, '{SAFE_ID_PATTERN}')",
                           f"'{col.name} must be a plain identifier (ASCII letters, digits, "
                           f"_ . -, at most 64 characters), not ' || {id_problem(c)} || ': ' "
                           f"|| {_shown_id(c)}"))
        if col.enum:
            values = ", ".join("'" + v + "'" for v in col.enum)
            checks.append(("unknown_enum", f"{c} not in ({values})",
                           f"'{col.name} must be one of {'/'.join(col.enum)}:'{shown}"))
        bounds = []
        if col.min is not None:
            bounds.append(f"{c} < {col.min}")
        if col.max is not None:
            bounds.append(f"{c} > {col.max}")
        if col.gt is not None:
            bounds.append(f"{c} <= {col.gt}")
        if col.type in ("ts", "date"):
            bounds.append(f"({c} < DATE '{SANE_FROM}' or {c} >= DATE '{SANE_UNTIL}')")
        if bounds:
            rng = " and ".join(
                filter(None, [
                    f">= {col.min}" if col.min is not None else "",
                    f"<= {col.max}" if col.max is not None else "",
                    f"> {col.gt}" if col.gt is not None else "",
                    f"in [{SANE_FROM}, {SANE_UNTIL})" if col.type in ("ts", "date") else "",
                ])
            )
            checks.append(("out_of_range", " or ".join(bounds),
                           f"'{col.name} must be {rng}:'{shown}"))
    for rule in src.rules:
        checks.append((rule.code, f"({rule.when})", "'" + rule.message.replace("'", "''") + "'"))
    return checks + window_checks(src, window)


def reference_checks(src: Source) -> list[tuple[str, str, str]]:
    checks = []
    for ref in src.references:
        c, k = quote(ref.column), quote(ref.key)
        cond = (
            f"({ref.when}) and {c} is not null and not exists ("
            f"select 1 from raw.{ref.source} r where r.{k} = t.{c} and ({ref.key_when}) "
            f"union all select 1 from _typed p where p.{k} = t.{c} and ({ref.key_when}) "
            "and not p._row_bad)"
        )
        checks.append((ref.code, cond, f"'{ref.message}: ' || mask_value({c})"))
    return checks


# Rows a file holds more than once, dropped without counting toward ``max_rejected_share``
# (``_checked._skip``): two exports concatenated into one file repeat the header line and
# every record. Codes and reasons, by the value of ``_skip``.
REPEATED_HEADER, DUPLICATE_ROW = 1, 2
SKIP_REASONS = {
    REPEATED_HEADER: ("repeated_header", "'the header line again (files concatenated?): skipped, "
                                         "not a record'"),
    DUPLICATE_ROW: ("duplicate_row", "'an exact copy of an earlier line of the file (key ' || "
                                     "{key} || '): dropped, the earlier line stands for it'"),
}


def header_line(src: Source, raw_types: dict[str, tuple[str, str]]) -> str:
    """SQL true for a record whose every field is its own column's name, as a header cell is
    read (``files.normalize_header`` less NFKC: lower case, trimmed, no byte-order mark): the
    header line repeated. PII columns are hashed in the read and cannot say; every contract
    source has a typed column, so a header line is always a bad row, and only bad rows keep
    their text (``Reader._materialize``): callers test ``_bad and <this>``."""
    cells = [f"lower(trim(replace(cast({alias} as varchar), chr(65279), ''))) = "
             f"'{name.replace(chr(39), chr(39) * 2)}'"
             for name, (alias, _) in raw_types.items() if name not in src.pii_columns]
    return "coalesce(" + " and ".join(cells) + ", false)" if cells else "false"
