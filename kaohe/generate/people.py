"""People built from the vocabularies in ``names``, vectorised: Chinese names with their pinyin
(for e-mail addresses), Chinese numerals (team names) and the check character of resident ID
numbers. The random draws come from the caller's generator."""

from __future__ import annotations

import numpy as np

import kaohe.generate.names as vocab


def _people(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Chinese names (surname + 1-2 given-name characters) and their pinyin, vectorised."""
    sur = np.array([s for s, _ in vocab.SURNAMES])
    sur_py = np.array([p for _, p in vocab.SURNAMES])
    giv = np.array([g for g, _ in vocab.GIVEN_CHARS])
    giv_py = np.array([p for _, p in vocab.GIVEN_CHARS])
    w = 1 / np.arange(1, len(sur) + 1) ** 0.9  # surname frequency falls roughly with rank
    si = rng.choice(len(sur), n, p=w / w.sum())
    g1, g2 = rng.integers(0, len(giv), n), rng.integers(0, len(giv), n)
    two = rng.random(n) < 0.65
    name = np.strings.add(np.strings.add(sur[si], giv[g1]), np.where(two, giv[g2], ""))
    py = np.strings.add(np.strings.add(sur_py[si], giv_py[g1]), np.where(two, giv_py[g2], ""))
    return name, py


def _chinese_number(n: np.ndarray) -> np.ndarray:
    """1..999 as Chinese numerals (一, 十二, 一百零五 ...), vectorised."""
    dig = np.array(vocab.CHINESE_DIGITS)
    h, t, u = n // 100, n // 10 % 10, n % 10
    hundreds = np.where(h > 0, np.strings.add(dig[h], "百"), "")
    tens = np.where(t > 0, np.where((t == 1) & (h == 0), "十", np.strings.add(dig[t], "十")),
                    np.where((h > 0) & (u > 0), "零", ""))
    units = np.where(u > 0, dig[u], "")
    return np.strings.add(np.strings.add(hundreds, tens), units)


def resident_id_check(first17: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 check character of 18-digit PRC resident IDs (GB 11643), vectorised."""
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    total = np.zeros(len(first17), dtype=np.int64)
    for k, w in enumerate(weights):  # 17 digit positions, not rows
        total += (first17 // 10 ** (16 - k)) % 10 * w
    return np.array(list("10X98765432"))[total % 11]
