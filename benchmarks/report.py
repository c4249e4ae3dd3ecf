"""The Markdown tables of docs/performance.md from a result of ``benchmarks/run.py``.

    uv run python benchmarks/report.py benchmarks/results/large.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _s(m: dict) -> str:
    return f"{m['median']:.1f} s ({m['min']:.1f}-{m['max']:.1f})"


def render(res: dict) -> str:
    n = res["repeat"]
    out = [f"Scale `{res['scale']}`: {res['landing']['calls']:,} calls, "
           f"{res['landing']['rows']:,} rows, {res['landing']['files']} files, "
           f"{res['landing']['mb']:,.0f} MB; {res['date']}; medians of {n} interleaved runs "
           "(min-max); the load average before each run is in the JSON.", "",
           "| side | seconds | peak RSS |", "|---|---|---|",
           f"| `kaohe run`, whole month | {_s(res['pipeline']['wall_s'])} | "
           f"{res['peak_rss_mb'] / 1024:.2f} GiB |"]
    for k, v in res["stages"].items():
        out.append(f"| &nbsp;&nbsp;{k.removesuffix('_s')} | {_s(v)} | |")
    out.append(f"| floor: bare DuckDB, files → `agent_month_metrics` | "
               f"{_s(res['floor']['wall_s'])} | {res['floor']['peak_rss_mb'] / 1024:.2f} GiB |")
    out.append(f"| bare `read_csv` of the same files (ingestion's floor) | "
               f"{_s(res['bare_read']['seconds'])} | |")
    inc = res["increment"]
    out.append(f"| nightly increment ({inc['files']} files of {inc['day']}) | {_s(inc['wall_s'])} "
               f"| {inc['peak_rss_mb'] / 1024:.2f} GiB |")
    for k, v in inc["stages"].items():
        out.append(f"| &nbsp;&nbsp;increment: {k.removesuffix('_s')} | {_s(v)} | |")
    out.append(f"| `kaohe whatif`, changed configuration | {_s(res['whatif']['wall_s'])} | |")
    out += ["", "| calls | run | × time | peak RSS |", "|---|---|---|---|"]
    for p in res["scaling"]:
        runs = f"median of {p['runs']}" if p["runs"] > 1 else "one run"
        out.append(f"| × {p['factor']:g} ({p['calls'] / 1e6:.1f} M) | {p['pipeline_s']:.1f} s "
                   f"({runs}) | {p['time_ratio']:.2f} | {p['peak_rss_mb'] / 1024:.2f} GiB |")
    out += ["", "| target | value | met |", "|---|---|---|"]
    for k, v in res["targets"].items():
        out.append(f"| `{k}` {v['target']} | {v['value']:g} | {'yes' if v['met'] else 'no'} |")
    out.append("")
    out.append(f"The floor's `agent_month_metrics` equals the pipeline's in every round: "
               f"{res['floor']['all_match']} ({res['floor']['matches_pipeline']['rows']} agents × "
               f"{res['floor']['matches_pipeline']['columns']} columns).")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1]).read_text())))
