"""The one source of every label, the number formats, and the one Jinja environment.

Every page (agent cards, team and centre reports, the index, data-quality.html) and every e-mail
body is rendered by :func:`environment` with two label tables for the language:

- ``m``: metric labels, ``column -> label``: the ``label: {zh, en}`` of the column in its
  dictionary ``sql/marts/<table>.yaml`` (the column's definition stays in its ``en``/``zh``),
  plus ``metrics`` of ``reports/i18n.yaml`` for what a scoring rule may score that is no column;
- ``t``: every other string, ``ui`` of ``reports/i18n.yaml``.

Chinese (``zh``) is the default language, English (``en``) the other. Configured numbers are never
written into these texts: the pages read them from the configuration. A page is rendered in ONE
language: what the marts hold as English text (the target explanation, the promotion progress,
veto and mismatch reasons, check descriptions) is re-worded from its parts
(kaohe/reporting/reports.py, :func:`check_text`), never shown as it is.

Number formats (the filters): money ``cny`` "¥1,640.00", a negative amount with the minus sign
(U+2212) before the currency sign, "−¥1,640.00", as zh-CN and en locales write a negative
amount (the sign belongs to the amount, not inside it; U+2212 is as wide as a digit, so columns
stay aligned, and cannot be misread as a dash); rates ``pct`` "12.3%"; ``metric`` formats a
value by what the metric is: a rate or share as a percentage, a count as a whole number.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from kaohe.models import SQL_ROOT
from kaohe.paths import safe_name

ROOT = Path(__file__).resolve().parents[2]
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


MINUS = "\u2212"


def cny(value) -> str:
    """Money: "¥1,640.00"; negative "−¥1,640.00" (U+2212 before the currency sign)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    amount = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
    text = f"¥{abs(amount):,.2f}"
    return MINUS + text if amount < 0 and text != "¥0.00" else text


def pct(value, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value * 100:.{digits}f}%"


def num(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int):
        text = f"{abs(value):,}"
    else:
        text = f"{abs(value):,.{digits}f}"
    return MINUS + text if value < 0 and text.strip("0.,") else text


# A metric whose name ends so is a rate or a share (0..1, shown as a percentage); precision and
# recall of the speech-analytics model are too.
RATE_SUFFIXES = ("_rate", "_share", "_ratio", "_vs_target", "_coverage", "_rate_adjusted")
RATES = {"precision", "recall", "recovery_target"}


def is_rate(metric: str) -> bool:
    return metric in RATES or metric.endswith(RATE_SUFFIXES)


@cache
def _column_types() -> dict[str, str]:
    """Column name -> its type in the mart dictionaries (the first dictionary naming it)."""
    types: dict[str, str] = {}
    for path in sorted((SQL_ROOT / "marts").glob("*.yaml")):
        for column in yaml.safe_load(path.read_text(encoding="utf-8"))["columns"]:
            types.setdefault(column["name"], column["type"])
    return types


def metric(value, name: str) -> str:
    """A value (a rule's floor or target too) of the metric ``name`` as it reads: a rate or a
    share as a percentage, a count (an integer column, or a metric no dictionary types, with a
    whole value) as a whole number, anything else with two decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if is_rate(name):
        return pct(value)
    kind = _column_types().get(name)
    if kind in ("BIGINT", "INTEGER") or (kind is None and float(value).is_integer()):
        return num(int(round(float(value))))
    return num(float(value), 2)


# ---------------------------------------------------------------------------------------------
# data-quality checks in the page's language (reports/i18n.yaml ``checks``)

_GENERIC = re.compile(r"^(?P<type>[a-z_]+)\((?P<columns>[^)]*)\)$")


@cache
def _check_texts() -> dict[str, dict[str, str]]:
    data = yaml.safe_load(I18N.read_text(encoding="utf-8"))
    return {k: _pair(f"{I18N}: checks.{k}", v) for k, v in data["checks"].items()}


# a name in a check's own description: a column or check (with an underscore) or a table
_NAME = re.compile(r"\b(?:staging|marts|intermediate|audit|raw)\.[a-z_0-9]+\b"
                   r"|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def _code_names(text: str) -> Markup:
    """A check's description, its names of tables and columns as code."""
    out, last = [], 0
    for hit in _NAME.finditer(text):
        out += [escape(text[last:hit.start()]), Markup("<code>{}</code>").format(hit[0])]
        last = hit.end()
    return Markup("").join([*out, escape(text[last:])])


def _code(name: str, labels: dict[str, str]) -> Markup:
    return escape(labels[name]) if name in labels else Markup("<code>{}</code>").format(name)


def check_text(result, lang: str) -> Markup:
    """What a check verifies, in ``lang``. English: the check's own description (its
    expectation's). Chinese: ``checks`` of reports/i18n.yaml, by the check's name, else by its
    kind: the column checks of every table by expectation type (``column_values_to_not_be_null``
    and the like, ``{columns}`` filled in with the columns' labels, else their names as code),
    the reference checks (``<column>_known``) and the evidence chains (``<kind>_chain_intact``).
    A check nobody has worded in Chinese yet shows ``checks.untranslated`` (tests/
    test_report_pages.py fails on any such check of the generated month)."""
    check_lang(lang)
    if lang == "en":
        return _code_names(result.description or result.check)
    words = _check_texts()
    labels = metric_labels(lang)
    name, columns = result.check, []
    generic = _GENERIC.match(name)
    if generic:
        name = generic["type"]
        columns = [c for c in generic["columns"].split("+") if c]
    elif name.endswith("_known"):
        name, columns = "reference_known", [name[: -len("_known")]]
    elif name.endswith("_chain_intact"):
        name = "chain_intact" if result.passed else "chain_broken"
    text = words.get(name, words["untranslated"])[lang]
    sep = "、" if lang == "zh" else ", "
    return escape(text).format(
        columns=Markup(sep).join(_code(c, labels) for c in columns),
        table=Markup("<code>{}</code>").format(result.suite))


def severity_text(severity: str, lang: str) -> str:
    """blocking | warning in ``lang``."""
    return texts(lang)[f"check_{severity}"]


def ui(text) -> Markup:
    """A text of reports/i18n.yaml as HTML: a name in backticks (an input, a column, a
    configuration key) as ``<code>``, the rest escaped."""
    parts = str(text).split("`")
    return Markup("").join(escape(p) if i % 2 == 0 else Markup("<code>{}</code>").format(p)
                           for i, p in enumerate(parts))


def _autoescape(name: str | None) -> bool:
    # every page and the HTML e-mail body are escaped; only plain-text templates are not
    return not (name or "").endswith(".txt.j2")


@cache
def environment() -> Environment:
    """The Jinja environment of every report page, data-quality.html and e-mail body."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=_autoescape,
                      trim_blocks=True, lstrip_blocks=True)
    # ``file``: a link to a report file, the file name from the id as the writer names it
    env.filters.update(cny=cny, pct=pct, num=num, metric=metric, file=safe_name,
                       check_text=check_text, severity_text=severity_text, ui=ui)
    return env


def render(template: str, lang: str, **context) -> str:
    """Render ``reports/templates/<template>`` in ``lang`` with ``t`` and ``m`` set."""
    return environment().get_template(template).render(
        lang=lang, t=texts(lang), m=metric_labels(lang), **context)
