"""Quarterly macro-economic indicators per province and industry, plus a region-wide row: one
file per quarter the period touches, dated the quarter's first day (streams ``macro``)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

import kaohe.generate.names as vocab
from kaohe.generate.schema import INDUSTRIES
from kaohe.generate.util import _eday, _labels, _money
from kaohe.generate.writer import _Writer


class _Macro(_Writer):
    """The macro source."""

    def _write_macro(self) -> None:
        """Quarterly indicators per province and industry (plus a region-wide row)."""
        base_rng = self._rng("macro")
        regions = np.array([c for c, _, _ in vocab.PROVINCES])
        base_unemployment = base_rng.uniform(4.3, 6.3, len(regions))
        # Industry effects: the article's high-risk industries (foreign trade, pharma) suffer.
        ind_unemp = np.array([0.9, 0.5, 0.3, 0.2, 0.7, -0.3, 0.0, 0.0])
        ind_prosp = np.array([-6.0, -4.0, -1.0, 1.0, -3.0, 3.0, 0.0, 0.0])
        ind_dso = np.array([95, 110, 70, 45, 120, 60, 75, 75])
        y, q = self.start.year, (self.start.month - 1) // 3 + 1
        while _eday(date(y, 3 * q - 2, 1)) < self.d0 + self.n_days:  # quarters of the period
            rng = self._rng("macro", y * 4 + q)
            r = np.repeat(np.arange(len(regions)), 8)
            k = np.tile(np.arange(8), len(regions))  # 7 industries + the region-wide row (7)
            drift = rng.normal(0, 0.15, len(regions))[r]
            unemp = base_unemployment[r] + ind_unemp[k] + drift
            prosp = 100 + ind_prosp[k] + rng.normal(0, 1.5, len(r))
            dso = ind_dso[k] + rng.normal(0, 5, len(r)).round().astype(np.int64)
            df = pl.DataFrame({
                "quarter": pl.Series([f"{y}Q{q}"] * len(r)),
                "region_code": pl.Series(regions[r]),
                "industry": _labels(INDUSTRIES + ("",), k, null=k == 7),
                "unemployment_rate": _money(np.round(unemp * 100).astype(np.int64)),
                "prosperity_index": _money(np.round(prosp * 100).astype(np.int64)),
                "dso_benchmark_days": pl.Series(dso),
            })
            self._write("macro", date(y, 3 * q - 2, 1), df)
            y, q = (y + 1, 1) if q == 4 else (y, q + 1)
