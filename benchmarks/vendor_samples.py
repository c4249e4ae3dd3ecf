"""The shipped vendor samples, ``profiles/samples/<profile>.csv``: a generated month's first calls
rendered in each vendor's format (``kaohe.generate.vendors.write_samples``; 12 records each, one
of them a record the profile's drop rule removes).

    uv run python benchmarks/vendor_samples.py

Deterministic: seed 11, small, one month from 2026-09-01 (the same bytes on every run;
tests/generate/test_vendor_render.py checks the shipped files against it).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from kaohe.generate import generate
from kaohe.generate.vendors import write_samples

START, SEED, SCALE = date(2026, 9, 1), 11, "small"

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), START, 1, SEED, SCALE, progress=None)
        for path in write_samples(Path(tmp)):
            print(f"wrote {path}")
