"""The configuration's pydantic models (kaohe/config/model.py): every value validated at load, unknown
keys refused by name, one-line errors, the sections read elsewhere (reports, delivery,
retention, ingest) validated too, and the JSON schema for editors kept in step with the models."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from kaohe.config import (
    DEFAULT_CONFIG,
    SCHEMA_FILE,
    Config,
    ConfigError,
    IngestConfig,
    json_schema,
    json_schema_text,
    load_config,
)
from pipelines.cli import main

SHIPPED = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))


def write(tmp_path: Path, change: Callable[[dict], object] | None = None,
          name: str = "x.yaml") -> Path:
    data = copy.deepcopy(SHIPPED)
    if change:
        change(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def error(path: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert "\n" not in message, message
    return message


# the shipped configuration ----------------------------------------------------------------------

def test_the_shipped_configuration_loads_with_every_section():
    cfg = load_config()
    assert isinstance(cfg, Config) and cfg.raw == SHIPPED
    assert cfg.metrics.contact_cap_per_day == 3 and cfg.metrics.hours_start == "08:00:00"
    assert cfg.metrics.bucket_weights["M6+"] == 1.4
    assert {r.dimension for r in cfg.scorecard.rules} == {"compliance", "recovery",
                                                          "satisfaction", "skill"}
    assert cfg.scorecard.grades == {"S": 93.0, "A": 87.0, "B": 74.0, "C": 55.0}
    assert cfg.promotion[0].from_level == "L1" and cfg.promotion[2].requires_expertise
    assert cfg.retention_days == 730 and cfg.grading.mode == "bands"
    assert cfg.reports.lang == "zh"
    assert cfg.delivery.center_recipients == ["center-director@example.cn"]
    assert cfg.delivery.compliance_recipients == [] and cfg.delivery.smtp.port == 25
    assert cfg.config_version.startswith("2026.1+")


def test_the_ingest_section_defaults_when_absent_and_is_read_when_given(tmp_path):
    cfg = load_config()
    assert "ingest" not in SHIPPED
    assert cfg.ingest == IngestConfig()
    assert cfg.ingest.max_rejected_share == 0.20
    assert (cfg.ingest.record_date_window_days.before,
            cfg.ingest.record_date_window_days.after) == (45, 7)
    given = load_config(write(tmp_path, lambda d: d.update(ingest={
        "max_rejected_share": 0.5, "record_date_window_days": {"before": 10}})))
    assert given.ingest.max_rejected_share == 0.5
    assert given.ingest.record_date_window_days.before == 10
    assert given.ingest.record_date_window_days.after == 7  # its default


def test_the_shipped_file_shows_the_ingest_keys_and_points_editors_at_the_schema():
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=kaohe.schema.json"
    assert "#   max_rejected_share: 0.20" in text
    assert "#   record_date_window_days: {before: 45, after: 7}" in text


def test_validated_values_cannot_be_changed():
    cfg = load_config()
    with pytest.raises(Exception):  # noqa: B017 - frozen: a dataclass or pydantic error
        cfg.ingest.max_rejected_share = 0.9
    with pytest.raises(Exception):  # noqa: B017
        cfg.delivery.smtp.port = 26


# unknown keys -----------------------------------------------------------------------------------

def test_an_unknown_key_at_the_top_level_is_named(tmp_path):
    path = write(tmp_path, lambda d: d.update(scorecards={}))
    assert error(path) == f"{path}: scorecards: unknown key"


@pytest.mark.parametrize(("change", "key"), [
    (lambda d: d["scorecard"].update(weigths=d["scorecard"]["weights"]), "scorecard.weigths"),
    (lambda d: d["metrics"]["contact_hours"].update(stop="22:00:00"),
     "metrics.contact_hours.stop"),
    (lambda d: d["scorecard"]["rules"]["recovery"][0].update(wieght=1),
     "scorecard.rules.recovery[0].wieght"),
    (lambda d: d["delivery"]["smtp"].update(hots="mail"), "delivery.smtp.hots"),
    (lambda d: d["metrics"]["bucket_weights"].update(M7=1.0), "metrics.bucket_weights.M7"),
    (lambda d: d["promotion"][1].update(month=6), "promotion[1].month"),
    (lambda d: d.update(ingest={"max_reject_share": 0.1}), "ingest.max_reject_share"),
], ids=["scorecard", "contact-hours", "rule", "smtp", "bucket", "promotion", "ingest"])
def test_a_misspelt_nested_key_is_named_with_its_path(tmp_path, change, key):
    path = write(tmp_path, change)
    assert error(path) == f"{path}: {key}: unknown key"


# the sections read raw before -------------------------------------------------------------------

def test_a_report_language_other_than_zh_or_en_fails_at_load(tmp_path):
    path = write(tmp_path, lambda d: d.update(reports={"lang": "fr"}))
    assert error(path) == f"{path}: reports.lang: must be 'zh' or 'en', not 'fr'"


def test_audit_config_on_a_bad_language_exits_2_with_one_line(tmp_path, capsys):
    path = write(tmp_path, lambda d: d.update(reports={"lang": "fr"}))
    assert main(["audit-config", "--config", str(path)]) == 2
    got = capsys.readouterr()
    assert got.err == f"kaohe: {path}: reports.lang: must be 'zh' or 'en', not 'fr'\n"
    assert got.out == ""


@pytest.mark.parametrize(("change", "key", "what"), [
    (lambda d: d["delivery"].update(sender="reports at example"), "delivery.sender",
     "must be an e-mail address"),
    (lambda d: d["delivery"].update(center_recipients=["boss"]),
     "delivery.center_recipients[0]", "'boss' is not an e-mail address"),
    (lambda d: d["delivery"].update(compliance_recipients=["ok@example.cn", "nope"]),
     "delivery.compliance_recipients[1]", "'nope' is not an e-mail address"),
    (lambda d: d["delivery"]["smtp"].update(port=70000), "delivery.smtp.port",
     "must be <= 65535, not 70000"),
    (lambda d: d["delivery"]["smtp"].update(starttls="yes"), "delivery.smtp.starttls",
     "must be true or false, not 'yes'"),
    (lambda d: d["retention"].update(raw_days=0), "retention.raw_days", "must be >= 1, not 0"),
    (lambda d: d["retention"].pop("raw_days"), "retention.raw_days", "missing"),
    (lambda d: d.update(ingest={"max_rejected_share": 1.5}), "ingest.max_rejected_share",
     "must be <= 1"),
    (lambda d: d.update(ingest={"record_date_window_days": {"before": -1}}),
     "ingest.record_date_window_days.before", "must be >= 0, not -1"),
    (lambda d: d.update(timezone="Asia/Shanghia"), "timezone", "is not a time zone"),
], ids=["sender", "center", "compliance", "port", "starttls", "retention", "retention-missing",
        "rejected-share", "window", "timezone"])
def test_the_sections_read_elsewhere_are_validated_at_load(tmp_path, change, key, what):
    path = write(tmp_path, change)
    message = error(path)
    assert message.startswith(f"{path}: {key}: ") and what in message, message


def test_compliance_recipients_are_read(tmp_path):
    cfg = load_config(write(tmp_path, lambda d: d["delivery"].update(
        compliance_recipients=[" compliance@example.cn "])))
    assert cfg.delivery.compliance_recipients == ["compliance@example.cn"]


def test_a_password_in_the_file_is_accepted_and_left_to_delivery_to_ignore(tmp_path):
    cfg = load_config(write(tmp_path, lambda d: d["delivery"]["smtp"].update(password="x")))
    assert cfg.raw["delivery"]["smtp"]["password"] == "x"  # delivery warns that it is ignored


# wrong types and values -------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "key", "what"), [
    (lambda d: d["metrics"].update(contact_cap_per_day="3"), "metrics.contact_cap_per_day",
     "must be a whole number, not '3'"),
    (lambda d: d["metrics"].update(contact_cap_per_day=2.5), "metrics.contact_cap_per_day",
     "must be a whole number, not 2.5"),
    (lambda d: d["metrics"].update(qa_confidence_threshold=True),
     "metrics.qa_confidence_threshold", "must be a number, not True"),
    (lambda d: d["metrics"]["contact_hours"].update(start="8am"), "metrics.contact_hours.start",
     "must be a time HH:MM:SS, not '8am'"),
    (lambda d: d["metrics"].update(qa_flag_labels="threat"), "metrics.qa_flag_labels",
     "must be a list"),
    (lambda d: d.update(scorecard=[]), "scorecard", "must be a mapping"),
    (lambda d: d["scorecard"].update(missing_dimension="drop"),
     "scorecard.missing_dimension", "must be 'reweight' or 'zero', not 'drop'"),
    (lambda d: d["grading"].update(min_group_size=0), "grading.min_group_size",
     "must be >= 1, not 0"),
    (lambda d: d["conduct_alerts"]["rules"][0].update(severity="urgent"),
     "conduct_alerts.rules[0].severity", "must be 'low', 'medium' or 'high'"),
    (lambda d: d["promotion"][0].update(requires_expertise="no"),
     "promotion[0].requires_expertise", "must be true or false"),
    (lambda d: d["promotion"][0].update(to="L3"), "promotion[0]",
     "from/to must be consecutive levels"),
    (lambda d: d["appraisal"].update(min_active_days=40), "appraisal.min_active_days",
     "must be <= 31, not 40"),
], ids=["int-as-text", "int-as-float", "bool-as-number", "time", "list", "mapping", "literal",
        "min-group", "severity", "bool", "levels", "active-days"])
def test_wrong_types_and_values_name_the_key(tmp_path, change, key, what):
    path = write(tmp_path, change)
    message = error(path)
    assert message.startswith(f"{path}: {key}: ") and what in message, message


def test_several_errors_are_joined_on_one_line(tmp_path):
    def change(d):
        d["metrics"]["contact_cap_per_day"] = 0
        d["pay"]["variable_share"] = 2
    path = write(tmp_path, change)
    assert error(path) == (f"{path}: metrics.contact_cap_per_day: must be >= 1, not 0; "
                           "pay.variable_share: must be <= 0.95, not 2")


def test_a_file_that_is_not_yaml_or_not_a_mapping_is_one_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nmetrics: [\n", encoding="utf-8")
    assert error(broken).startswith(f"{broken}: not valid YAML: line ")
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n", encoding="utf-8")
    assert error(listed) == f"{listed}: must be a mapping of sections"
    assert error(tmp_path / "none.yaml").startswith(f"{tmp_path / 'none.yaml'}: cannot read")


def shipped_with(tmp_path: Path, after: str, line: str) -> tuple[Path, int]:
    """The shipped file's text with ``line`` inserted after the first line that is ``after``;
    (its path, the 1-based number of that first line)."""
    lines = DEFAULT_CONFIG.read_text(encoding="utf-8").splitlines()
    at = lines.index(after)
    path = tmp_path / "x.yaml"
    path.write_text("\n".join([*lines[:at + 1], line, *lines[at + 1:]]) + "\n", encoding="utf-8")
    return path, at + 1


def test_a_key_written_twice_at_the_top_level_is_an_error_naming_both_lines(tmp_path, capsys):
    """A duplicate key is refused (plain YAML keeps the last value without a word)."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    first = text.splitlines().index("metrics:") + 1
    path = tmp_path / "x.yaml"
    path.write_text(text + "metrics:\n  contact_cap_per_day: 9\n", encoding="utf-8")
    last = len(text.splitlines()) + 1
    assert error(path) == (f"{path}: metrics: written twice, line {first} and line {last} (the "
                           "second would silently replace the first): keep one")
    assert main(["audit-config", "--config", str(path)]) == 2  # one line, exit status 2
    got = capsys.readouterr()
    assert got.err.startswith(f"kaohe: {path}: metrics: written twice") and got.err.count("\n") == 1


@pytest.mark.parametrize(("after", "line", "key", "offset"), [
    ("  contact_cap_per_day: 3", "  contact_cap_per_day: 5", "metrics.contact_cap_per_day", 1),
    # in a flow mapping, on one line
    ('  contact_hours: {start: "08:00:00", end: "21:00:00"}', None, "metrics.contact_hours.start",
     0),
])
def test_a_key_written_twice_deeper_is_an_error_naming_the_dotted_key(tmp_path, after, line,
                                                                      key, offset):
    if line is None:  # the line itself gets the duplicate
        lines = DEFAULT_CONFIG.read_text(encoding="utf-8").splitlines()
        at = lines.index(after)
        lines[at] = after.replace("}", ', start: "09:00:00"}')
        path = tmp_path / "x.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        number = at + 1
    else:
        path, number = shipped_with(tmp_path, after, line)
    assert error(path) == (f"{path}: {key}: written twice, line {number} and line "
                           f"{number + offset} (the second would silently replace the first): "
                           "keep one")


def test_a_key_written_twice_in_a_list_item_names_its_position(tmp_path):
    lines = DEFAULT_CONFIG.read_text(encoding="utf-8").splitlines()
    at = lines.index("  - {from: L1, to: L2, min_composite: 90, months: 3}")
    lines[at] = lines[at].replace("}", ", from: L9}")
    path = tmp_path / "x.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert error(path).startswith(f"{path}: promotion[0].from: written twice, line {at + 1} and "
                                  f"line {at + 1} ")


def test_keys_a_yaml_merge_brings_may_be_overridden():
    """``<<: *defaults`` then a key of the defaults again is YAML's way to override, not a
    duplicate; the same key written twice next to a merge still is."""
    from kaohe.config import DuplicateKey, UniqueKeyLoader

    text = "a: &d {b: 1, c: 2}\ne: {<<: *d, b: 3}\n"
    assert yaml.load(text, Loader=UniqueKeyLoader) == {"a": {"b": 1, "c": 2},
                                                       "e": {"b": 3, "c": 2}}
    with pytest.raises(DuplicateKey, match=r"^e\.b: written twice, line 3 and line 5 "):
        yaml.load("a: &d {b: 1}\ne:\n  b: 3\n  <<: *d\n  b: 4\n", Loader=UniqueKeyLoader)


def test_the_shipped_file_has_no_key_twice():
    from kaohe.config import UniqueKeyLoader

    assert yaml.load(DEFAULT_CONFIG.read_text(encoding="utf-8"), Loader=UniqueKeyLoader) == SHIPPED


def test_an_unquoted_version_number_is_kept_as_text(tmp_path):
    cfg = load_config(write(tmp_path, lambda d: d.update(version=2026.2)))
    assert cfg.version == "2026.2"


# the JSON schema -------------------------------------------------------------------------------

def test_the_committed_schema_is_the_one_the_models_generate():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema_text(), (
        "config/kaohe.schema.json is stale: uv run kaohe config-schema --out "
        "config/kaohe.schema.json")


def test_config_schema_prints_and_checks_it(tmp_path, capsys):
    assert main(["config-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()
    assert main(["config-schema", "--check"]) == 0
    out = tmp_path / "schema.json"
    assert main(["config-schema", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == json_schema_text()


def test_editors_validate_the_shipped_file_and_catch_a_misspelt_key_with_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(SHIPPED, schema)
    bad = copy.deepcopy(SHIPPED)
    bad["scorecard"]["weigths"] = bad["scorecard"].pop("weights")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad = copy.deepcopy(SHIPPED)
    bad["reports"]["lang"] = "fr"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
