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
class Source:
    name: str
    kind: str
    description: str
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    references: tuple[Reference, ...] = ()
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


_COLUMN_KEYS = {"type", "pk", "nullable", "required", "enum", "min", "max", "gt", "pii", "text",
                "id"}
# An identifier must be a plain name: it keys joins, reports are files named after it and
# e-mails attach them. ASCII letters, digits and _ . - only, not starting with a dot, at most 64
# characters: no path separator, no '..', no space, control, zero-width or look-alike character.
SAFE_ID_PATTERN = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"
SAFE_ID = re.compile(SAFE_ID_PATTERN)


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
        )
        if not source.pk:
            raise ContractError(f"{path.name}: sources.{name} has no pk column")
        sources[name] = source
    return sources


def source(name: str) -> Source:
    return load_contract()[name]
