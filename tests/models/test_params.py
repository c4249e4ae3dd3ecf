"""Each SQL model declares the parameters it takes (``bound`` in its dictionary) and gets
exactly those: a test fails on a parameter the SQL names without declaring it, or declares
without naming it; the builder passes the declared ones from the one set (metric_params)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from kaohe.config import load_config
from kaohe.dictionaries import SQL_ROOT, Dictionary, model_dictionary, model_sql
from kaohe.models import bound_params, metric_params

MODELS = [("marts", p.stem) for p in sorted((SQL_ROOT / "marts").glob("*.sql"))] + [
    ("scorecard", "scoring_inputs")]


def placeholders(sql: str) -> list[str]:
    """The ``$name`` parameters of the query itself (comments are not read)."""
    return [p.name for p in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Placeholder)]


@pytest.mark.parametrize(("layer", "name"), MODELS, ids=[f"{a}/{b}" for a, b in MODELS])
def test_each_model_declares_exactly_the_parameters_its_sql_names(layer, name):
    d = model_dictionary(layer, name)
    assert d.bound is not None, f"sql/{layer}/{name}.yaml declares no `bound` list"
    assert len(set(d.bound)) == len(d.bound), d.bound
    named = set(placeholders(model_sql(layer, name)))
    assert named - set(d.bound) == set(), "named in the SQL, not declared"
    assert set(d.bound) - named == set(), "declared, not named in the SQL"
    # and the one set of parameters makes every one of them
    assert set(d.bound) <= set(metric_params(load_config(), "2026-08"))


def test_the_builder_passes_the_declared_parameters_and_refuses_an_unknown_one():
    cfg = load_config()
    d = model_dictionary("marts", "conduct_alerts")
    assert set(bound_params(d, cfg, "2026-08")) == set(d.bound)
    typo = Dictionary(d.table, d.grain, d.description, d.columns, bound=("month_start", "mnth"))
    with pytest.raises(KeyError, match="mnth"):
        bound_params(typo, cfg, "2026-08")


def test_no_sql_header_restates_the_parameters():
    # the list lives in the dictionary only; a comment listing them drifts
    for layer, name in MODELS:
        path = Path(SQL_ROOT) / layer / f"{name}.sql"
        text = path.read_text(encoding="utf-8")
        comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("--"))
        assert "-- Bound: $" not in comments and "--   $" not in comments, path
