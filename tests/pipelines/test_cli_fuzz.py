"""The CLI under hostile arguments (hypothesis): every command a user types, with months,
dates, paths, numbers and text that are wrong in every way we could think of (reversed ranges,
impossible months, folders for files, files for folders, paths that do not exist, empty and
unicode text), ends with an exit status of 0-3 and, when refused, one line on stderr; never a
traceback. Run in process on a writable copy of the shared sample (``run``, ``demo`` and
``generate`` are left out: with valid arguments they build centres, minutes each; their
arguments are the same types, checked by the same parsers).
Arguments cannot contain a NUL byte (the operating system refuses them), so none is drawn.
Everything happens in a temporary folder (the working directory too): a command that writes
where it is told (``config-schema --out``, ``send-reports --outbox``...) must never be told a
place in the repository or outside that folder, so no drawn path is absolute or climbs out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.cli import main
from tests.conftest import copy_home

REPO = Path(__file__).resolve().parents[2]
MONTHS = ["2026-08", "2026-09", "2026-10", "2025-01", "2026-13", "2026-00", "2026-8", "26-08",
          "2026-08-01", "", " ", "abc", "9999-12", "0001-01", "二〇二六-八", "2026/08",
          "-2026-08", "2026-08\n", "2026-08 ", "x" * 300]
DATES = ["2026-08-01", "2026-02-30", "2026-13-01", "1999-12-31", "9999-12-31", "", "today",
         "2026-08", "2026-8-1"]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=40)
# a path drawn as text stays inside the temporary working directory
RELATIVE = TEXT.filter(lambda s: not s.lstrip().startswith(("/", "~")) and ".." not in s)


def _repository_state() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                          capture_output=True, text=True, cwd=REPO, check=True).stdout


@pytest.fixture(scope="module")
def place(sample_build, tmp_path_factory):
    before = _repository_state()
    root = tmp_path_factory.mktemp("cli-fuzz")
    home = copy_home(sample_build, root / "home")
    (root / "a-file.txt").write_text("not a warehouse, not yaml: [\n", encoding="utf-8")
    (root / "a-dir").mkdir()
    (root / "kaohe.yaml").write_text(
        (REPO / "config" / "kaohe.yaml").read_text(
            encoding="utf-8"), encoding="utf-8")
    (root / "bad.yaml").write_text("scorecard: {weights: {compliance: 2}}\nnope: 1\n",
                                   encoding="utf-8")
    yield {"home": home, "root": root}
    # nothing the commands were told escaped into the repository
    assert _repository_state() == before


def _paths(place: dict) -> st.SearchStrategy[str]:
    root, home = place["root"], place["home"]
    return st.sampled_from([
        str(home), str(root / "missing"), str(root / "a-file.txt"), str(root / "a-dir"),
        str(root / "bad.yaml"), str(home / "warehouse" / "kaohe.duckdb"),
        str(home / "work" / "kaohe.duckdb"), str(root / "kaohe.yaml"), "", "-",
        str(root / "missing" / "deeper" / "out.xlsx"), str(root / "out.csv"),
        str(root / "out.xlsx"), str(root / "out.txt"), "out.txt"]) | RELATIVE


# each command: its options and what a user might type into each
def _commands(place: dict) -> st.SearchStrategy[list[str]]:
    month = st.sampled_from(MONTHS) | TEXT
    path = _paths(place)
    lang = st.sampled_from(["zh", "en", "fr", ""])
    options = {
        "check": {"--month": month, "--warehouse": path, "--html": path},
        "audit-config": {"--config": path, "--home": path},
        "config-schema": {"--out": path, "--check": None},
        "report": {"--month": month, "--home": path, "--lang": lang, "--config": path},
        "send-reports": {"--month": month, "--home": path, "--config": path,
                         "--outbox": path, "--lang": lang},
        "export-pay": {"--month": month, "--home": path, "--out": path, "--lang": lang},
        "whatif": {"--month": month, "--config": path, "--home": path, "--lang": lang},
        "calibrate": {"--from": month, "--to": month, "--home": path, "--config": path,
                      "--distribution": st.sampled_from(["S5,A15,B30,C35,D15", "S100",
                                                         "S-5,A105", "A,B", ""]) | RELATIVE,
                      "--out": path},
        "purge": {"--before": st.sampled_from(DATES) | TEXT, "--home": path, "--config": path},
        "migrate": {"--home": path, "--dry-run": None},
    }

    @st.composite
    def command(draw) -> list[str]:
        name = draw(st.sampled_from(sorted(options)))
        # a real send would e-mail whoever the configuration names: always a dry run here
        argv = [name] + (["--dry-run"] if name == "send-reports" else [])
        for flag, values in options[name].items():
            if draw(st.booleans()):
                argv.append(flag)
                if values is not None:
                    argv.append(draw(values))
        return argv
    return command()


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_argument_ends_in_a_traceback(place, data, capsys, monkeypatch):
    monkeypatch.chdir(place["root"])
    monkeypatch.delenv("KAOHE_HOME", raising=False)
    monkeypatch.delenv("KAOHE_CONFIG", raising=False)
    argv = data.draw(_commands(place), label="argv")
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, (argv, err[-3000:])
    assert code in (0, 1, 2, 3), (argv, code, err[-2000:])
    if code == 2 and err.strip():
        # refused: the message is one line (a usage error from argparse is its usage + one line)
        last = err.strip().split("\n")
        assert last[-1].startswith(("kaohe: ", "kaohe ")) or "error:" in last[-1], (argv, err)
