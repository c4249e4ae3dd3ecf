"""The one source of every label, the number formats, and the one Jinja environment.

Every page (agent cards, team and centre reports, the index, data-quality.html) and every e-mail
body is rendered by :func:`environment` with two label tables for the language:

- ``m``: metric labels, ``column -> label``: the ``label: {zh, en}`` of the column in its
  dictionary ``sql/marts/<table>.yaml`` (the column's definition stays in its ``en``/``zh``),
  plus ``metrics`` of ``reports/i18n.yaml`` for what a scoring rule may score that is no column;
- ``t``: every other string, ``ui`` of ``reports/i18n.yaml``.

Chinese (``zh``) is the default language, English (``en``) the other. Configured numbers are never
written into these texts: the pages read them from the configuration.
"""

from __future__ import annotations

import math
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader

from kaohe.models import SQL_ROOT
from kaohe.paths import safe_name

ROOT = Path(__file__).resolve().parents[1]
I18N = ROOT / "reports" / "i18n.yaml"
TEMPLATES = ROOT / "reports" / "templates"
LANGS = ("zh", "en")


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang


def _pair(where: str, value) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(LANGS) or not all(
            isinstance(v, str) and v for v in value.values()):
        raise ValueError(f"{where}: must give a non-empty text for each of {', '.join(LANGS)}")
    return value


@cache
def _catalogue() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """(ui strings, metric labels), each key -> {lang: text}, validated."""
    data = yaml.safe_load(I18N.read_text(encoding="utf-8"))
    ui = {k: _pair(f"{I18N}: ui.{k}", v) for k, v in data["ui"].items()}
    labels = {k: _pair(f"{I18N}: metrics.{k}", v) for k, v in data["metrics"].items()}
    for path in sorted((SQL_ROOT / "marts").glob("*.yaml")):
        for column in yaml.safe_load(path.read_text(encoding="utf-8"))["columns"]:
            if "label" not in column:
                continue
            name, label = column["name"], _pair(f"{path}: {column['name']}.label",
                                                column["label"])
            if labels.setdefault(name, label) != label:
                raise ValueError(f"{path}: {name}.label differs from the label of {name} in "
                                 "another dictionary: one metric, one label")
    return ui, labels


def texts(lang: str) -> dict[str, str]:
    """Every UI string in ``lang`` (``reports/i18n.yaml`` ``ui``)."""
    check_lang(lang)
    return {k: v[lang] for k, v in _catalogue()[0].items()}


def metric_labels(lang: str) -> dict[str, str]:
    """Metric (column) name -> its label in ``lang``."""
    check_lang(lang)
    return {k: v[lang] for k, v in _catalogue()[1].items()}


# ---------------------------------------------------------------------------------------------
# number formats (the templates' filters)


def cny(value) -> str:
    if value is None:
        return "–"
    return f"¥{Decimal(value):,.2f}" if not isinstance(value, float) else f"¥{value:,.2f}"


def pct(value, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value * 100:.{digits}f}%"


def num(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _autoescape(name: str | None) -> bool:
    # every page and the HTML e-mail body are escaped; only plain-text templates are not
    return not (name or "").endswith(".txt.j2")


@cache
def environment() -> Environment:
    """The Jinja environment of every report page, data-quality.html and e-mail body."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=_autoescape,
                      trim_blocks=True, lstrip_blocks=True)
    # ``file``: a link to a report file, the file name from the id as the writer names it
    env.filters.update(cny=cny, pct=pct, num=num, file=safe_name)
    return env


def render(template: str, lang: str, **context) -> str:
    """Render ``reports/templates/<template>`` in ``lang`` with ``t`` and ``m`` set."""
    return environment().get_template(template).render(
        lang=lang, t=texts(lang), m=metric_labels(lang), **context)
