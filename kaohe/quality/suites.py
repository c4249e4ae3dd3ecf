"""The data-quality suites: the files in ``expectations/`` and the expectations generated from
the data contract (column-level rules and references of every staging table), loaded as
``Suite`` objects; kaohe/quality/__init__.py runs them. See kaohe/quality/__init__.py for the suite
format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kaohe.ingest.contract import Source, load_contract
from kaohe.warehouse import quote

SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"
GENERATED_DIR = SUITES_DIR / "generated"
SAMPLE = 5


@dataclass(frozen=True)
class Suite:
    name: str
    engine: str
    batch: str
    expectations: tuple[dict, ...]
    path: Path


def contract_expectations(src: Source) -> list[dict]:
    """The column-level expectations the contract implies for ``staging.<source>``, all blocking:
    every non-nullable column not null, the key unique, every enum as a value set, every
    min / max / gt as a range (gt: ``strict_min``, the value must be greater)."""
    out = []

    def add(kind: str, kwargs: dict, description: str, where: str) -> None:
        out.append({"type": f"expect_{kind}", "kwargs": kwargs, "meta": {
            "severity": "blocking", "description": description,
            "contract": f"sources.{src.name}.{where}"}})

    for c in src.columns:
        if not c.nullable:
            add("column_values_to_not_be_null", {"column": c.name}, f"{c.name} is required",
                f"columns.{c.name}")
    if len(src.pk) == 1:
        add("column_values_to_be_unique", {"column": src.pk[0]}, "primary key unique",
            f"columns.{src.pk[0]}")
    else:
        add("compound_columns_to_be_unique", {"column_list": list(src.pk)},
            "primary key unique", "pk")
    for c in src.columns:
        if c.enum:
            add("column_values_to_be_in_set", {"column": c.name, "value_set": list(c.enum)},
                f"{c.name} within the contract's values", f"columns.{c.name}")
        if c.gt is not None and c.min is not None:
            raise ValueError(f"contract: sources.{src.name}.columns.{c.name}: give min or gt, "
                             "not both")
        if c.min is not None or c.max is not None or c.gt is not None:
            kwargs: dict = {"column": c.name}
            if c.gt is not None:
                kwargs |= {"min_value": c.gt, "strict_min": True}
            elif c.min is not None:
                kwargs["min_value"] = c.min
            if c.max is not None:
                kwargs["max_value"] = c.max
            add("column_values_to_be_between", kwargs, f"{c.name} within its range",
                f"columns.{c.name}")
    return out


def reference_expectations(src: Source, batch: str) -> list[dict]:
    """Warnings, one per identifier column naming a record of another source: every
    ``agent_id`` names an agent of the roster, every ``case_id`` a case of the case master,
    every ``call_id`` a call (a master is a source whose key is that one column). The query
    returns the distinct unknown keys: the result's sample lists them. A batch defined through
    the master itself (qa_flags of the month's calls) cannot hold an orphan: the rows delivered
    in the month's files are checked instead."""
    masters = {s.pk[0]: s.name for s in load_contract().values() if len(s.pk) == 1}
    out = []
    for c in src.columns:
        master = masters.get(c.name)
        if not c.id or master is None or master == src.name:
            continue
        col = quote(c.name)
        rows = "{batch}" if f"staging.{master}" not in batch else (
            f"(select * from staging.{src.name} where _business_date >= $month_start "
            "and _business_date < $month_end)")
        out.append({"type": "unexpected_rows_query", "kwargs": {
            "name": f"{c.name}_known",
            "unexpected_rows_query": f"select distinct x.{col} from {rows} x where x.{col} is "
            f"not null and not exists (select 1 from staging.{master} m where m.{col} = "
            f"x.{col}) order by 1"}, "meta": {
            "severity": "warning",
            "description": f"every {c.name} names a record of staging.{master} (unexpected: "
            f"how many {c.name}s are unknown; the sample names them)",
            "contract": f"sources.{src.name}.columns.{c.name}"}})
    return out


def _read_suite(path: Path) -> dict:
    """A suite file with the contract's expectations of its source put in, as it runs."""
    data = json.loads(path.read_text(encoding="utf-8"))
    meta = data.get("meta", {}).get("kaohe", {})
    if meta.get("engine") not in ("gx", "sql"):
        raise ValueError(f"{path}: meta.kaohe.engine must be gx or sql")
    if "batch" not in meta:
        raise ValueError(f"{path}: meta.kaohe.batch (the month's rows) is missing")
    for i, exp in enumerate(data["expectations"]):
        if exp.get("meta", {}).get("severity") not in ("blocking", "warning"):
            raise ValueError(f"{path}: expectations[{i}].meta.severity must be blocking or "
                             "warning")
    source = meta.get("contract")
    if source is None:
        return data
    if data["name"] != f"staging.{source}" or source not in load_contract():
        raise ValueError(f"{path}: meta.kaohe.contract must be the source of staging.<source>")
    generated = contract_expectations(load_contract()[source]) + reference_expectations(
        load_contract()[source], meta["batch"])
    names = {check_name(e) for e in generated}
    for exp in data["expectations"]:
        if check_name(exp) in names:
            raise ValueError(f"{path}: {check_name(exp)} is generated from "
                             f"kaohe/ingest/contract.yaml "
                             f"(sources.{source}): change the contract, not the suite")
    return {**data, "expectations": generated + data["expectations"]}


@cache
def load_suites(directory: Path = SUITES_DIR) -> tuple[Suite, ...]:
    suites = []
    for path in sorted(directory.glob("*.json")):
        data = _read_suite(path)
        meta = data["meta"]["kaohe"]
        suites.append(Suite(data["name"], meta["engine"], meta["batch"],
                            tuple(data["expectations"]), path))
    return tuple(suites)


def generated_suites(directory: Path = SUITES_DIR) -> dict[str, str]:
    """File name -> text of each suite with generated expectations, complete as it runs, for
    ``expectations/generated/`` (for reading: the run generates them again when it loads)."""
    out = {}
    for path in sorted(directory.glob("*.json")):
        data = _read_suite(path)
        meta = dict(data["meta"]["kaohe"])
        source = meta.pop("contract", None)
        if source is None:
            continue
        meta["generated"] = (
            "GENERATED for reading, do not edit: the suite as it runs, i.e. the column-level "
            f"expectations generated from kaohe/ingest/contract.yaml (sources.{source}), "
            f"then those of "
            f"expectations/{path.name}. Edit those, then run "
            "`uv run python -m kaohe.quality --write-generated`.")
        suite = {"name": data["name"], "meta": {**data["meta"], "kaohe": meta},
                 "expectations": data["expectations"]}
        out[path.name] = json.dumps(suite, indent=2, ensure_ascii=False) + "\n"
    return out


def write_generated(directory: Path = GENERATED_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    suites = generated_suites()
    for stale in directory.glob("*.json"):
        if stale.name not in suites:
            stale.unlink()
    for name, text in suites.items():
        (directory / name).write_text(text, encoding="utf-8")
        written.append(directory / name)
    return written


def suites_for(table: str) -> list[Suite]:
    return [s for s in load_suites() if s.name == table]


def referenced_tables(table: str) -> set[str]:
    """Other staging tables the suites of ``table`` read (their asset must run first)."""
    text = json.dumps([s.expectations for s in suites_for(table)] + [s.batch for s in
                                                                     suites_for(table)])
    return set(re.findall(r"staging\.(\w+)", text)) - {table.removeprefix("staging.")}


def check_name(exp: dict) -> str:
    kw = exp.get("kwargs", {})
    if exp["type"] == "unexpected_rows_query":
        return kw.get("name") or kw.get("description", "query")[:60]
    target = kw.get("column") or "+".join(kw.get("column_list", [])) or ""
    return f"{exp['type'].removeprefix('expect_')}({target})"
