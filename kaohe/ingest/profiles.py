"""Source profiles: a lender's own export (a dialler's CDR, an HR or core-system file) read onto a
source of the data contract without code (docs/profiles.md).

A profile is a YAML file (``profiles/*.yaml``, validated by ``Profile``: unknown keys are
errors; ``profiles/profile.schema.json`` for editors) that says, for one source: which files it
reads (a name pattern with the business date in it), their encoding and delimiter, whether they
have a header line (else the column names in order), and for each contract column where its value
comes from (a vendor column under any of its names, a simple expression over vendor columns, or a
constant) and how it is turned into the contract's form (a value map for codes, a time kind, a
duration kind). Rows it names (``drop``) are set aside with their reason.

``compile_profile`` turns a profile and a file's header into SQL over DuckDB's ``read_csv`` of
the file (``Reader._read_profiled``): each contract column as the text the contract's typing
reads, and per mapped column a problem message, NULL when the value mapped (a code the map does
not know, a time that does not parse), which quarantines the row with a reason naming the
profile, the vendor column and the value. Expressions are parsed with sqlglot and limited to a
small grammar (columns, literals, CASE, comparisons, AND/OR/NOT, arithmetic, IN, LIKE, IS NULL,
CAST and a few text functions): a profile cannot run arbitrary SQL. No Python touches a row.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from kaohe.ingest.contract import SAFE_ID_PATTERN, Source, load_contract
from kaohe.ingest.profile_sql import check_expression
from kaohe.ingest.sniffing import normalize_header

PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"
SCHEMA_FILE = PROFILES_DIR / "profile.schema.json"
FOLDER_PROFILE = "profile.yaml"  # a profile beside the files of a source folder

Text = Annotated[str, Strict()]
# what a map's key may be written as in YAML (a numeric code unquoted is the same code)
Code = Annotated[str, Strict()] | Annotated[int, Strict()]



class ProfileError(ValueError):
    """A profile that cannot be used; the message is one line naming the file and the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TimeKind(_Model):
    """How a vendor's time or date is written."""
    kind: Literal["text", "epoch_s", "epoch_ms"] = Field(
        default="text", description="text with a format, or seconds / milliseconds since "
        "1970-01-01 UTC")
    format: Text | None = Field(default=None, description="strptime format of a text time "
                                "(default '%Y-%m-%d %H:%M:%S', '%Y-%m-%d' for a date)")
    zone: Text | None = Field(default=None, description="the zone a text time is written in "
                              "(default: the profile's zone)")

    @model_validator(mode="after")
    def _format_for_text(self) -> TimeKind:
        if self.kind != "text" and self.format is not None:
            raise ValueError(f"a format is for a text time, not {self.kind}")
        if self.zone is not None:
            _check_zone(self.zone)
        return self


class ColumnMap(_Model):
    """Where one contract column's value comes from, and how it is converted."""
    from_: Text | list[Text] | None = Field(
        default=None, alias="from", description="the vendor column, or its names in the "
        "exports this profile reads (any language; the first found is used)")
    expr: Text | None = Field(default=None, description="an expression over vendor columns "
                              "(CASE, comparisons, AND/OR, arithmetic, coalesce, lower, trim, "
                              "regexp_extract...)")
    const: Text | int | float | bool | None = Field(
        default=None, description="the same value on every row")
    required: bool = Field(default=True, description="false: a file without the vendor "
                           "column gives NULL here instead of being rejected")
    map: dict[Code, Text] | None = Field(default=None, description="vendor code -> the "
                                         "contract's value (compared after trimming spaces)")
    default: Text | None = Field(default=None, description="the value for a code the map "
                                 "does not know (without it, such a row is quarantined)")
    time: Text | TimeKind | None = Field(
        default=None, description="epoch_s, epoch_ms, a strptime format, or {kind, format, "
        "zone}")
    duration: Literal["seconds", "milliseconds", "hms"] | None = Field(
        default=None, description="seconds (decimals cut), milliseconds (cut to whole "
        "seconds), or H:MM:SS / M:SS")

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnMap:
        given = [k for k, v in (("from", self.from_), ("expr", self.expr),
                                ("const", self.const)) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of from, expr, const"
                             + (f" (not {' and '.join(given)})" if given else ""))
        if sum(x is not None for x in (self.map, self.time, self.duration)) > 1:
            raise ValueError("give at most one of map, time, duration")
        if self.default is not None and self.map is None:
            raise ValueError("default is for a map")
        if self.expr is not None:
            check_expression(self.expr)
        return self

    @property
    def aliases(self) -> list[str]:
        if self.from_ is None:
            return []
        return [self.from_] if isinstance(self.from_, str) else list(self.from_)

    @property
    def time_kind(self) -> TimeKind | None:
        if self.time is None or isinstance(self.time, TimeKind):
            return self.time
        if self.time in ("epoch_s", "epoch_ms"):
            return TimeKind(kind=self.time)
        return TimeKind(kind="text", format=self.time)


class DropRule(_Model):
    """Rows that are not records of the source (an internal leg, an inbound call): set aside
    with the reason, counted in the file's rows, never toward its rejected share."""
    when: Text = Field(description="an expression over vendor columns, true for the rows to "
                       "drop")
    reason: Text = Field(min_length=1, description="why, in the quarantine and the data-quality "
                         "page")

    @field_validator("when")
    @classmethod
    def _expression(cls, v: str) -> str:
        check_expression(v)
        return v


class Profile(_Model):
    """A lender's export of one source, mapped onto the data contract."""
    profile: Text = Field(pattern=SAFE_ID_PATTERN, description="its name, in reasons and the "
                          "file registry")
    description: Text = ""
    source: Text = Field(description="the contract source the files are (calls, agents...)")
    files: Text = Field(description="file name pattern: {date} (YYYYMMDD) or {date:FORMAT}, "
                        "optional {seq} (digits), * (anything); .gz for gzip")
    encoding: Literal["auto", "utf-8", "gb18030"] = Field(
        default="auto", description="auto: UTF-8 or GB18030/GBK found from the bytes")
    delimiter: Text = Field(default=",", min_length=1, max_length=1)
    header: bool = Field(default=True, description="false: no header line; give names")
    names: list[Text] | None = Field(default=None, description="the columns in order, for a "
                                     "file without a header line")
    zone: Text = Field(default="Asia/Shanghai", description="the centre's zone: epoch times "
                       "become local times here")
    columns: dict[Text, ColumnMap] = Field(description="contract column -> where it comes from")
    drop: list[DropRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _against_contract(self) -> Profile:
        _check_zone(self.zone)
        sources = load_contract()
        if self.source not in sources:
            raise ValueError(f"source {self.source!r} is not a source of the data contract "
                             f"({', '.join(sorted(sources))})")
        src = sources[self.source]
        unknown = [c for c in self.columns if c not in src.column_names]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a column of {src.name} "
                             f"({', '.join(src.column_names)})")
        # a column that may be empty may be left out (NULL); one that may not, must be mapped
        unmapped = [c for c in src.required_columns
                    if c not in self.columns and not src.column(c).nullable]
        if unmapped:
            raise ValueError(f"columns: {', '.join(unmapped)} must be mapped (never empty in "
                             f"the contract's {src.name})")
        for name, m in self.columns.items():
            col = src.column(name)
            if m.map is not None and col.enum:
                bad = sorted({v for v in m.map.values() if v not in col.enum}
                             | ({m.default} - set(col.enum) if m.default else set()))
                if bad:
                    raise ValueError(f"columns.{name}.map: {', '.join(map(repr, bad))} is not "
                                     f"one of {'/'.join(col.enum)}")
            if m.time is not None and col.type not in ("ts", "date"):
                raise ValueError(f"columns.{name}: time is for a timestamp or date column, "
                                 f"{name} is {col.type}")
            if m.duration is not None and col.type != "int":
                raise ValueError(f"columns.{name}: duration is for a whole-number column, "
                                 f"{name} is {col.type}")
        if not self.header and not self.names:
            raise ValueError("names: a file without a header line needs its column names")
        if self.header and self.names:
            raise ValueError("names are for a file without a header line (header: false)")
        if self.names:
            dupes = sorted({n for n in self.names
                            if [normalize_header(x) for x in self.names].count(
                                normalize_header(n)) > 1})
            if dupes:
                raise ValueError(f"names: {', '.join(dupes)} given twice")
        file_regex(self.files)
        return self

    @property
    def contract(self) -> Source:
        return load_contract()[self.source]


def _check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{zone!r} is not a time zone (e.g. Asia/Shanghai, UTC)") from None


# -- file names ------------------------------------------------------------------------------

_DATE_PARTS = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}", "%y": r"\d{2}"}


@cache
def file_regex(pattern: str) -> tuple[re.Pattern, str]:
    """(regex with groups ``date`` and ``seq``, the date's strptime format) of a file pattern."""
    out, fmt, pos = "", None, 0
    for m in re.finditer(r"\{(date(?::([^}]+))?|seq)\}|\*", pattern):
        out += re.escape(pattern[pos:m.start()])
        pos = m.end()
        if m.group(0) == "*":
            out += ".*?"
        elif m.group(1) == "seq":
            out += r"(?P<seq>\d{1,4})"
        else:
            if fmt is not None:
                raise ValueError(f"files: {pattern!r} has {{date}} twice")
            fmt = m.group(2) or "%Y%m%d"
            body = re.escape(fmt)
            for part, rx in _DATE_PARTS.items():
                body = body.replace(re.escape(part), rx)
            if "%" in body:
                raise ValueError(f"files: {{date:{fmt}}}: only %Y %m %d %y are understood")
            out += f"(?P<date>{body})"
    out += re.escape(pattern[pos:])
    if fmt is None:
        raise ValueError(f"files: {pattern!r} has no {{date}}: a file's business date comes "
                         "from its name")
    if "/" in pattern:
        raise ValueError(f"files: {pattern!r}: a name, not a path")
    return re.compile(out + r"(?P<gz>\.gz)?$"), fmt


def match_file(profile: Profile, name: str) -> tuple[date, int, str] | None:
    """(business date, seq, format) of a file the profile reads, or None."""
    rx, fmt = file_regex(profile.files)
    m = rx.match(name)
    if not m:
        return None
    try:
        day = datetime.strptime(m["date"], fmt).date()
    except ValueError:
        return None
    seq = m.groupdict().get("seq")
    return day, int(seq or 0), "csv.gz" if m["gz"] or name.endswith(".gz") else "csv"


# -- loading ---------------------------------------------------------------------------------

def _one_line(path: Path, exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"] if p not in ("function-after",))
    msg = err["msg"].removeprefix("Value error, ")
    return f"{path}: {where + ': ' if where else ''}{msg}"


def load_profile(path: Path | str) -> Profile:
    """The profile in ``path`` (a file, or the name of a shipped profile); ProfileError, one
    line, if it cannot be used."""
    path = resolve(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = " ".join(str(exc).split())[:200]
        raise ProfileError(f"{path}: not YAML: {first}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a profile is a mapping (profile:, source:, files:, "
                           "columns: ...)")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(_one_line(path, exc)) from None


def resolve(ref: Path | str, base: Path | None = None) -> Path:
    """A profile file: a path (relative to ``base``), or the name of a shipped profile."""
    text = str(ref)
    if "/" not in text and not text.endswith((".yaml", ".yml")):
        shipped = PROFILES_DIR / f"{text}.yaml"
        if not shipped.exists():
            raise ProfileError(f"no shipped profile {text!r} (shipped: "
                               f"{', '.join(shipped_profiles())})")
        return shipped
    path = Path(text)
    return path if path.is_absolute() or base is None else base / path


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def fingerprint(profile: Profile) -> str:
    """``name@<12 hex>`` of the profile's content: the file registry records it, and a file read
    by another version of its profile is read again."""
    digest = hashlib.sha256(profile.model_dump_json(by_alias=True).encode()).hexdigest()
    return f"{profile.profile}@{digest[:12]}"


def schema_text() -> str:
    """What profiles/profile.schema.json holds."""
    import json
    schema = Profile.model_json_schema(by_alias=True)
    schema["title"] = "kaohe source profile"
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
