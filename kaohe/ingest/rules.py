"""Typing and checking: the SQL built from the contract (identifiers from the contract or
quoted). A row is bad when any condition of ``row_checks`` or ``reference_checks`` is true."""

from __future__ import annotations

from kaohe.contract import SAFE_ID_PATTERN, Column, Source
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
    elif col.type == "str":
        expr = f"nullif(trim(cast({raw} as varchar)), '')"
    else:
        return f"try_cast({raw} as {col.sql_type})"
    return f"mask_pii_text({expr})" if col.text else expr


def _value(raw: str) -> str:
    """A bad value quoted in a reason: cut, and masked (a phone in a swapped column...)."""
    return f"mask_value(left(cast({raw} as varchar), 60))"


def row_checks(src: Source, raws: dict[str, str]) -> list[tuple[str, str, str]]:
    """(reason_code, SQL condition true when bad, SQL message) for each row-level rule."""
    checks: list[tuple[str, str, str]] = []
    for col in src.columns:
        c = quote(col.name)
        raw = raws.get(col.name)
        shown = "" if col.pii or col.text else f" || ' ' || coalesce({_value(raw)}, '')"
        if not col.nullable:
            checks.append(("missing_value", f"{c} is null and {raw or 'null'} is null",
                           f"'{col.name} is required'"))
        if raw is not None and col.type != "str":
            checks.append(
                ("bad_type", f"{c} is null and nullif(cast({raw} as varchar), '') is not null",
                 f"'{col.name} is not {_TYPE_HINT[col.type]}:'{shown}"),
            )
        if col.id:
            checks.append(("bad_id", f"not regexp_full_match({c}, '{SAFE_ID_PATTERN}')",
                           f"'{col.name} must be a plain identifier (ASCII letters, digits, "
                           f"_ . -, at most 64 characters):'{shown}"))
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
    return checks


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
