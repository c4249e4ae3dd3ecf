"""The data contract, loaded from ``contract.yaml`` and validated once at import of the loader.

Everything that depends on the shape of a source (the reader, the quarantine rules, the raw and
staging DDL, the docs) reads it from here, so the contract has exactly one definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

CONTRACT_FILE = Path(__file__).with_name("contract.yaml")

TYPES = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "dec": "DECIMAL(18,2)",
    "float": "DOUBLE",
    "ts": "TIMESTAMP",
    "date": "DATE",
    "bool": "BOOLEAN",
}
KINDS = {"event", "snapshot", "reference"}
FORMATS = ("csv", "csv.gz", "parquet")
FILE_NAME = re.compile(
    r"^(?P<source>[a-z_]+)_(?P<date>\d{8})(?:_(?P<seq>\d{2}))?\.(?P<ext>csv|csv\.gz|parquet)$"
)


class ContractError(ValueError):
    """The contract file itself is wrong (a developer error, caught by the tests)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    pk: bool = False
    nullable: bool = True
    required: bool = True
    enum: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    gt: float | None = None
    pii: bool = False
    text: bool = False
    id: bool = False

    @property
    def sql_type(self) -> str:
        return TYPES[self.type]


@dataclass(frozen=True)
class Rule:
    code: str
    when: str
    message: str


@dataclass(frozen=True)
class Reference:
    code: str
    column: str
    when: str
    source: str
    key: str
    key_when: str
    message: str


@dataclass(frozen=True)
class RecordDates:
    """The columns that date a record (when it happened), checked against its file's date.

    ``columns``: none may be later than the file's business date plus the window's ``after``
    days (a record cannot be delivered before it happened). ``once``: the source delivers a
    record once, soon after it happened (call records, payments...), so the latest of its dates
    may not be earlier than the business date minus the window's ``before`` days either. A
    source that re-delivers a record when it changes (an assignment on release, a complaint's
    verdict, a plan's status) is only checked on the ``after`` side.
    """

    columns: tuple[str, ...]
    once: bool = False


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    description: str
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    references: tuple[Reference, ...] = ()
    record_dates: RecordDates | None = None
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    @property
    def pk(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.pk)

    @property
    def staging_key(self) -> tuple[str, ...]:
        """The key 'latest file wins' applies to; snapshots keep one row per key per snapshot."""
        return (("snapshot_date",) if self.kind == "snapshot" else ()) + self.pk

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def pii_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.pii)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def date_columns(self) -> tuple[str, ...]:
        """Every date and timestamp column (retention judges a file by the latest of them)."""
        return tuple(c.name for c in self.columns if c.type in ("ts", "date"))


_COLUMN_KEYS = {"type", "pk", "nullable", "required", "enum", "min", "max", "gt", "pii", "text",
                "id"}
# An identifier must be a plain name: it keys joins, reports are files named after it and
# e-mails attach them. ASCII letters, digits and _ . - only, not starting with a dot, at most 64
# characters: no path separator, no '..', no space, control, zero-width or look-alike character.
SAFE_ID_PATTERN = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"
SAFE_ID = re.compile(SAFE_ID_PATTERN)


# The dates of a record per source, used while ``contract.yaml`` does not say it itself (its
# optional ``record_dates: {columns: [...], once: true|false}`` per source wins). Sources not
# listed carry no date of their own (snapshots are dated by their file; qa_flags by their call).
DEFAULT_RECORD_DATES = {
    "calls": RecordDates(("started_at",), once=True),
    "repayments": RecordDates(("paid_at",), once=True),
    "surveys": RecordDates(("responded_at",), once=True),
    "costs": RecordDates(("incurred_on",), once=True),
    "assignments": RecordDates(("assigned_at", "released_at")),
    "complaints": RecordDates(("received_at", "resolved_at")),
    "violations": RecordDates(("occurred_on",)),
    "trainings": RecordDates(("completed_on",)),
    "tickets": RecordDates(("opened_at", "closed_at")),
    "plans": RecordDates(("created_at",)),
    "qa_reviews": RecordDates(("reviewed_at",)),
    "appeals": RecordDates(("filed_at", "decided_at")),
}


def _record_dates(name: str, spec: dict | None, columns: tuple[Column, ...]
                  ) -> RecordDates | None:
    where = f"{CONTRACT_FILE.name}: sources.{name}.record_dates"
    if spec is None:
        dates = DEFAULT_RECORD_DATES.get(name)
    else:
        unknown = set(spec) - {"columns", "once"}
        if unknown or not spec.get("columns"):
            raise ContractError(f"{where}: give columns (a list) and optionally once")
        dates = RecordDates(tuple(spec["columns"]), bool(spec.get("once", False)))
    if dates is None:
        return None
    types = {c.name: c.type for c in columns}
    bad = [c for c in dates.columns if types.get(c) not in ("ts", "date")]
    if bad and spec is not None:
        raise ContractError(f"{where}: {bad} are not date or timestamp columns of the source")
    if bad:  # a default naming a column the source does not have (any more): the others
        kept = tuple(c for c in dates.columns if c not in bad)
        return RecordDates(kept, dates.once) if kept else None
    return dates


def _column(source: str, name: str, spec: dict) -> Column:
    where = f"{CONTRACT_FILE.name}: sources.{source}.columns.{name}"
    unknown = set(spec) - _COLUMN_KEYS
    if unknown:
        raise ContractError(f"{where}: unknown key(s) {sorted(unknown)}")
    if spec.get("type") not in TYPES:
        raise ContractError(f"{where}: type must be one of {sorted(TYPES)}")
    if spec.get("id") and spec["type"] != "str":
        raise ContractError(f"{where}: only a str column can be an identifier")
    pk = bool(spec.get("pk", False))
    return Column(
        name=name,
        type=spec["type"],
        pk=pk,
        # A PK column is never null, except where the contract says so (macro.industry).
        nullable=bool(spec.get("nullable", not pk)),
        required=bool(spec.get("required", True)),
        enum=tuple(spec["enum"]) if "enum" in spec else None,
        min=spec.get("min"),
        max=spec.get("max"),
        gt=spec.get("gt"),
        pii=bool(spec.get("pii", False)),
        text=bool(spec.get("text", False)),
        # a str column named *_id is an identifier unless the contract says otherwise
        id=bool(spec.get("id", spec["type"] == "str" and name.endswith("_id"))),
    )


@cache
def load_contract(path: Path = CONTRACT_FILE) -> dict[str, Source]:
    """Load and validate the contract; the dict keeps the contract's order of sources."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sources: dict[str, Source] = {}
    for name, spec in data["sources"].items():
        if spec.get("kind") not in KINDS:
            raise ContractError(f"{path.name}: sources.{name}.kind must be one of {sorted(KINDS)}")
        columns = tuple(_column(name, c, s) for c, s in spec["columns"].items())
        source = Source(
            name=name,
            kind=spec["kind"],
            description=spec.get("description", ""),
            columns=columns,
            rules=tuple(Rule(**r) for r in spec.get("rules", [])),
            references=tuple(Reference(**r) for r in spec.get("references", [])),
            record_dates=_record_dates(name, spec.get("record_dates"), columns),
        )
        if not source.pk:
            raise ContractError(f"{path.name}: sources.{name} has no pk column")
        sources[name] = source
    return sources


def source(name: str) -> Source:
    return load_contract()[name]


# --- what the rest of kaohe reads from the contract: the enums and the buckets, defined once ----

def enum(source_name: str, column: str) -> tuple[str, ...]:
    """The allowed values of a column, in the contract's order (the generator indexes them)."""
    (col,) = [c for c in source(source_name).columns if c.name == column]
    if not col.enum:
        raise ContractError(f"sources.{source_name}.{column} has no enum")
    return tuple(col.enum)


@cache
def bucket_bounds(path: Path = CONTRACT_FILE) -> tuple[tuple[str, int | None], ...]:
    """The overdue buckets and their upper bound in days past due (None: no bound), in order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = tuple((b["name"], b.get("upto")) for b in data["buckets"])
    uptos = [u for _, u in out[:-1]]
    if out[-1][1] is not None or None in uptos or uptos != sorted(set(uptos)):
        raise ContractError(f"{path.name}: buckets must rise, the last without `upto`")
    return out


BUCKETS: tuple[str, ...] = tuple(name for name, _ in bucket_bounds())


def bucket_macro(db: str = "") -> str:
    """The SQL macro ``bucket_of(dpd_at_assignment)``, made from the contract's buckets (``db``:
    the catalog and schema to create it in, e.g. ``pub.main.``)."""
    whens = "\n".join(f"    when dpd_at_assignment <= {upto} then '{name}'"
                      for name, upto in bucket_bounds()[:-1])
    return (f"create or replace macro {db}bucket_of(dpd_at_assignment) as case\n{whens}\n"
            f"    else '{bucket_bounds()[-1][0]}'\nend")
