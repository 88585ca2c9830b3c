"""Agreement between coders on nominal ratings: the statistics, with no store behind them.

The input is a table of units × coders holding nominal values (a code's presence 0/1 on a
segment, or a category); a coder who did not see a unit simply has no rating there. For one
table, `agreement` reports the units that at least two coders rated (only those say anything
about agreement), the prevalence of the positive value, percent agreement, Cohen's kappa and
Krippendorff's alpha, each with a percentile bootstrap interval over resampled units.

Definitions (so reports can name them):

* **pairable** ratings are those on units rated by two or more coders; everything below is
  computed on them only.
* **percent agreement** counts, over all units, the pairs of coders who gave a unit the same
  value, divided by all pairs of coders who both rated it. With two coders this is the share of
  units they agree on; with more coders every pair of ratings on a unit weighs the same.
* **Cohen's kappa** needs exactly two coders and uses the units both coded:
  (p_o − p_e) / (1 − p_e), with p_e from each coder's own marginal distribution.
* **Krippendorff's alpha** (nominal) uses the coincidence matrix of pairable values, any number
  of coders and missing ratings: 1 − (n − 1)·Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k.
* kappa and alpha are undefined when chance agreement is perfect (every pairable rating has one
  value, or for kappa both coders used one and the same value throughout): they are then
  `None` with a reason, never NaN, because a report must say *why* there is no figure.
* the **bootstrap** resamples units with replacement (a fixed-seed NumPy generator, one set of
  resamples shared by all four statistics), recomputes each statistic, drops the resamples on
  which it is undefined (their count is reported) and takes the 2.5th and 97.5th percentiles.
  Units that contribute identically are folded into patterns first and each resample draws
  pattern counts from the multinomial distribution that drawing units would give, so the
  cost depends on the number of distinct patterns, not of units.

Why NumPy and not a statistics package: the formulas are a few lines over a coincidence or
confusion matrix, and writing them over per-unit count matrices lets the bootstrap run as one
matrix product per batch of resamples instead of a library call per resample. The packages
that compute these were weighed: `krippendorff` (small, fast, NumPy only) is licensed
GPL-3.0-or-later, which the MIT-licensed cityqda cannot depend on without relicensing, so it
serves only as an independent oracle in the tests; scikit-learn's `cohen_kappa_score` would add
scikit-learn, SciPy and joblib for one formula; statsmodels has no alpha; irrCAC pins an old
SciPy and needs pandas; NLTK's `AnnotationTask` is pure Python and too slow to bootstrap. The
tests check every statistic against examples worked by hand (Krippendorff's published ones and
a 2×2 kappa) and alpha against `krippendorff` on random tables with missing data.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 20240601
DEFAULT_CONFIDENCE = 0.95
# Resamples are drawn in batches so memory stays near BATCH_CELLS integers whatever the size.
BATCH_CELLS = 2_000_000

UNDEFINED_NO_UNITS = "no unit was rated by two or more coders"
UNDEFINED_ONE_VALUE = ("every pairable rating is {value!r}, so agreement expected by chance is "
                       "perfect and the coefficient is undefined")
UNDEFINED_KAPPA_CODERS = "Cohen's kappa needs exactly two coders; {count} rated these units"
UNDEFINED_KAPPA_SAME = ("both coders gave every unit {value!r}, so agreement expected by chance "
                        "is perfect and kappa is undefined")
NO_CI_OFF = "no bootstrap was asked for (resamples = 0)"
NO_CI_FEW_UNITS = "a bootstrap interval needs at least two units"
NO_CI_ALL_UNDEFINED = "the statistic is undefined on every bootstrap resample"


def _sort_key(item: Hashable) -> tuple[str, str]:
    """A total, run-independent order for ids and values of any hashable type."""
    return (type(item).__name__, repr(item))


def _ordered(items) -> list:
    """Sorted naturally when the items compare (fast for many (segment, code) units),
    else by `_sort_key`; either way the same items always come in the same order."""
    items = list(items)
    kinds = {type(item) for item in items}
    if len(kinds) <= 1:
        try:
            return sorted(items)
        except TypeError:
            pass
    return sorted(items, key=_sort_key)


@dataclass(frozen=True)
class RatingTable:
    """Nominal ratings by unit and coder; a missing (unit, coder) pair means not rated.

    Units, coders and values are any hashables (ids from the store, (segment, code) tuples,
    0/1, category names); they are ordered by type name and repr, so results never depend on
    the order in which ratings were added.
    """

    ratings: Mapping[tuple[Hashable, Hashable], Hashable]

    @classmethod
    def from_records(cls, records: Iterable[tuple[Hashable, Hashable, Hashable | None]]
                     ) -> RatingTable:
        """From (unit, coder, value) triples; a value of None means not rated.

        The same (unit, coder) twice with different values is a programming error: the caller
        must decide which rating counts before asking for agreement.
        """
        ratings: dict[tuple[Hashable, Hashable], Hashable] = {}
        for unit, coder, value in records:
            if value is None:
                continue
            key = (unit, coder)
            if key in ratings and ratings[key] != value:
                raise ValueError(f"unit {unit!r} has two ratings by coder {coder!r}: "
                                 f"{ratings[key]!r} and {value!r}")
            ratings[key] = value
        return cls(ratings)

    @classmethod
    def from_rows(cls, rows: Mapping[Hashable, Mapping[Hashable, Hashable | None]]
                  ) -> RatingTable:
        """From {unit: {coder: value}}; None or an absent coder means not rated."""
        return cls.from_records((unit, coder, value) for unit, by_coder in rows.items()
                                for coder, value in by_coder.items())

    @property
    def units(self) -> list[Hashable]:
        return sorted({unit for unit, _ in self.ratings}, key=_sort_key)

    @property
    def coders(self) -> list[Hashable]:
        return sorted({coder for _, coder in self.ratings}, key=_sort_key)

    def only_coders(self, coders: Iterable[Hashable]) -> RatingTable:
        """The same table restricted to some coders (e.g. one pair for pairwise kappa)."""
        keep = set(coders)
        return RatingTable({key: value for key, value in self.ratings.items()
                            if key[1] in keep})


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap interval; None values always come with a reason."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None  # why value is None
    ci_reason: str | None = None  # why the interval is None
    undefined_resamples: int = 0  # resamples left out because the statistic was undefined

    def as_dict(self) -> dict:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "reason": self.reason, "ci_reason": self.ci_reason,
                "undefined_resamples": self.undefined_resamples}


@dataclass(frozen=True)
class AgreementResult:
    """Agreement on one table (one code, one dimension, or a pooled set of units)."""

    n_units: int  # units with two or more ratings
    n_coders: int  # coders with at least one pairable rating
    n_ratings: int  # pairable ratings
    value_shares: dict  # value -> share of pairable ratings
    prevalence: Estimate  # share of pairable ratings equal to the positive value
    percent_agreement: Estimate
    cohen_kappa: Estimate
    krippendorff_alpha: Estimate
    resamples: int
    seed: int
    confidence: float
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "n_units": self.n_units, "n_coders": self.n_coders, "n_ratings": self.n_ratings,
            "value_shares": {str(k): v for k, v in self.value_shares.items()},
            "prevalence": self.prevalence.as_dict(),
            "percent_agreement": self.percent_agreement.as_dict(),
            "cohen_kappa": self.cohen_kappa.as_dict(),
            "krippendorff_alpha": self.krippendorff_alpha.as_dict(),
            "resamples": self.resamples, "seed": self.seed, "confidence": self.confidence,
        }


@dataclass(frozen=True)
class _Counts:
    """Per-unit count matrices from which every statistic is a weighted sum over units."""

    values: list[Hashable]
    coders: list[Hashable]
    value_counts: np.ndarray  # (units, V): how many coders gave each value
    pairs: np.ndarray  # (units,): coder pairs on the unit
    agreeing_pairs: np.ndarray  # (units,): coder pairs that agree
    coincidences: np.ndarray  # (units, V*V): each unit's share of the coincidence matrix
    confusion: np.ndarray | None  # (units, V*V): one-hot (first coder, second coder) cell


def _counts(table: RatingTable) -> _Counts:
    by_unit: dict[Hashable, dict[Hashable, Hashable]] = {}
    for (unit, coder), value in table.ratings.items():
        by_unit.setdefault(unit, {})[coder] = value
    pairable = {unit: rated for unit, rated in by_unit.items() if len(rated) >= 2}
    units = _ordered(pairable)
    values = sorted({v for rated in pairable.values() for v in rated.values()}, key=_sort_key)
    coders = sorted({c for rated in pairable.values() for c in rated}, key=_sort_key)
    index = {v: i for i, v in enumerate(values)}
    n_values = len(values)
    cells = [row * n_values + index[value] for row, unit in enumerate(units)
             for value in pairable[unit].values()]
    value_counts = np.bincount(np.asarray(cells, dtype=np.int64),
                               minlength=len(units) * n_values
                               ).reshape(len(units), n_values).astype(np.int64)
    m = value_counts.sum(axis=1)
    pairs = m * (m - 1) / 2.0
    agreeing_pairs = (value_counts * (value_counts - 1) / 2.0).sum(axis=1)
    # Krippendorff: unit u adds (n_uc·n_uk − [c=k]·n_uc) / (m_u − 1) to cell (c, k).
    outer = value_counts[:, :, None] * value_counts[:, None, :]
    outer = outer - value_counts[:, :, None] * np.eye(n_values, dtype=np.int64)[None, :, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        coincidences = (outer / (m - 1)[:, None, None]).reshape(len(units), n_values * n_values)
    confusion = None
    if len(coders) == 2:
        first, second = coders
        cells = [index[pairable[u][first]] * n_values + index[pairable[u][second]]
                 for u in units]
        confusion = np.zeros((len(units), n_values * n_values), dtype=np.int64)
        confusion[np.arange(len(units)), cells] = 1
    return _Counts(values, coders, value_counts, pairs, agreeing_pairs, coincidences,
                   confusion)


def _alpha(coincidence_rows: np.ndarray, n_values: int) -> np.ndarray:
    """Nominal alpha for each row of summed coincidences (rows × V*V); NaN where undefined."""
    o = coincidence_rows.reshape(-1, n_values, n_values)
    n_c = o.sum(axis=2)
    n = n_c.sum(axis=1)
    disagreeing = o.sum(axis=(1, 2)) - np.trace(o, axis1=1, axis2=2)
    expected = n * n - (n_c * n_c).sum(axis=1)
    # n_c are sums of integer counts, so `expected` is an exact integer held in a float.
    expected_ok = np.rint(expected) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1) * disagreeing / expected
    return np.where(expected_ok, alpha, np.nan)


def _kappa(confusion_rows: np.ndarray, n_values: int) -> np.ndarray:
    """Cohen's kappa for each row of summed confusion counts; NaN where undefined."""
    c = confusion_rows.reshape(-1, n_values, n_values).astype(np.int64)
    total = c.sum(axis=(1, 2))
    observed = np.trace(c, axis1=1, axis2=2)
    chance = (c.sum(axis=2) * c.sum(axis=1)).sum(axis=1)  # Σ row_c · col_c
    numerator = total * observed - chance
    denominator = total * total - chance
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = numerator / denominator
    return np.where(denominator > 0, kappa, np.nan)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1),
                        np.nan)


def _statistics(weights: np.ndarray, counts: _Counts, positive_index: int | None
                ) -> dict[str, np.ndarray]:
    """Every statistic for each row of unit weights (rows × units)."""
    n_values = len(counts.values)
    ratings = weights @ counts.value_counts
    result = {
        "percent_agreement": _ratio(weights @ counts.agreeing_pairs, weights @ counts.pairs),
        "krippendorff_alpha": _alpha(weights @ counts.coincidences, n_values),
    }
    if positive_index is None:
        result["prevalence"] = np.zeros(weights.shape[0])
    else:
        result["prevalence"] = _ratio(ratings[:, positive_index], ratings.sum(axis=1))
    if counts.confusion is not None:
        result["cohen_kappa"] = _kappa(weights @ counts.confusion, n_values)
    return result


def _patterns(counts: _Counts) -> tuple[_Counts, np.ndarray]:
    """Units that contribute identically (same value counts, same confusion cell) folded
    into one pattern each: the representatives' counts and how many units each stands for.

    Presence data has a handful of patterns however many units there are, so the
    bootstrap works on patterns, not units.
    """
    features = counts.value_counts
    if counts.confusion is not None:
        features = np.concatenate([features, counts.confusion], axis=1)
    _unique, first, multiplicity = np.unique(features, axis=0, return_index=True,
                                             return_counts=True)
    by_unit = np.argsort(first)  # representatives in unit order, not np.unique's order
    order, multiplicity = first[by_unit], multiplicity[by_unit]
    folded = _Counts(counts.values, counts.coders, counts.value_counts[order],
                     counts.pairs[order], counts.agreeing_pairs[order],
                     counts.coincidences[order],
                     None if counts.confusion is None else counts.confusion[order])
    return folded, multiplicity


def _bootstrap(counts: _Counts, positive_index: int | None, resamples: int, seed: int
               ) -> dict[str, np.ndarray]:
    """Resample units with replacement, `resamples` times.

    Drawing n units uniformly with replacement gives each pattern of identical units a
    multinomial count with probabilities proportional to its size, so the weights are drawn
    per pattern (the same distribution as drawing units, at a fraction of the cost).
    """
    n_units = counts.value_counts.shape[0]
    folded, multiplicity = _patterns(counts)
    n_patterns = multiplicity.size
    probabilities = multiplicity / n_units
    rng = np.random.default_rng(seed)
    batch = max(1, min(resamples, BATCH_CELLS // max(n_patterns, 1)))
    collected: dict[str, list[np.ndarray]] = {}
    done = 0
    while done < resamples:
        size = min(batch, resamples - done)
        weights = rng.multinomial(n_units, probabilities, size=size)
        for name, values in _statistics(weights.astype(np.float64), folded,
                                        positive_index).items():
            collected.setdefault(name, []).append(values)
        done += size
    return {name: np.concatenate(parts) for name, parts in collected.items()}


def _estimate(point: float, reason: str | None, samples: np.ndarray | None,
              ci_reason: str | None, confidence: float) -> Estimate:
    if np.isnan(point):
        return Estimate(None, reason=reason, ci_reason="the statistic itself is undefined")
    value = float(point)
    if samples is None:
        return Estimate(value, ci_reason=ci_reason)
    defined = samples[~np.isnan(samples)]
    undefined = int(samples.size - defined.size)
    if defined.size == 0:
        return Estimate(value, ci_reason=NO_CI_ALL_UNDEFINED, undefined_resamples=undefined)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    return Estimate(value, float(low), float(high), undefined_resamples=undefined)


def agreement(table: RatingTable, *, positive: Hashable | None = 1,
              resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
              confidence: float = DEFAULT_CONFIDENCE) -> AgreementResult:
    """Agreement statistics with percentile bootstrap intervals for one table.

    `positive` is the value whose share is reported as prevalence (presence 1 by default; a
    value no one used gives 0.0; None leaves prevalence out, e.g. for category tables).
    `resamples` = 0 switches the bootstrap off. The same table, seed and resamples always give
    the same figures.
    """
    if resamples < 0:
        raise ValueError("resamples must be 0 or more")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must lie strictly between 0 and 1")
    counts = _counts(table)
    n_units = counts.value_counts.shape[0]
    n_ratings = int(counts.value_counts.sum())
    common = {"n_units": n_units, "n_coders": len(counts.coders), "n_ratings": n_ratings,
              "resamples": resamples, "seed": seed, "confidence": confidence}
    if n_units == 0:
        none = Estimate(None, reason=UNDEFINED_NO_UNITS,
                        ci_reason="the statistic itself is undefined")
        kappa = none
        if len(table.coders) > 2:
            kappa = Estimate(None, reason=UNDEFINED_KAPPA_CODERS.format(
                count=len(table.coders)), ci_reason="the statistic itself is undefined")
        return AgreementResult(value_shares={}, prevalence=none if positive is not None else
                               Estimate(None, reason="no positive value was named"),
                               percent_agreement=none, cohen_kappa=kappa,
                               krippendorff_alpha=none, **common)

    shares = counts.value_counts.sum(axis=0) / n_ratings
    value_shares = {v: float(s) for v, s in zip(counts.values, shares, strict=True)}
    positive_index = (counts.values.index(positive)
                      if positive is not None and positive in counts.values else None)
    point = _statistics(np.ones((1, n_units)), counts, positive_index)
    samples: dict[str, np.ndarray] = {}
    ci_reason = None
    if resamples == 0:
        ci_reason = NO_CI_OFF
    elif n_units < 2:
        ci_reason = NO_CI_FEW_UNITS
    else:
        samples = _bootstrap(counts, positive_index, resamples, seed)

    one_value = (UNDEFINED_ONE_VALUE.format(value=counts.values[0])
                 if len(counts.values) == 1 else None)

    def make(name: str, reason: str | None) -> Estimate:
        return _estimate(point[name][0], reason, samples.get(name), ci_reason, confidence)

    if positive is None:
        prevalence = Estimate(None, reason="no positive value was named")
    else:
        prevalence = make("prevalence", None)
    if counts.confusion is None:
        kappa = Estimate(None, reason=UNDEFINED_KAPPA_CODERS.format(count=len(counts.coders)),
                         ci_reason="the statistic itself is undefined")
    else:
        kappa = make("cohen_kappa", UNDEFINED_KAPPA_SAME.format(value=counts.values[0]))
    return AgreementResult(
        value_shares=value_shares, prevalence=prevalence,
        percent_agreement=make("percent_agreement", None), cohen_kappa=kappa,
        krippendorff_alpha=make("krippendorff_alpha", one_value), **common)


def pairwise_agreement(table: RatingTable, **options) -> dict[tuple[Hashable, Hashable],
                                                                 AgreementResult]:
    """`agreement` for every pair of coders (where kappa is defined), keyed by sorted pair."""
    coders = table.coders
    return {(a, b): agreement(table.only_coders((a, b)), **options)
            for i, a in enumerate(coders) for b in coders[i + 1:]}


def presence_table(coded: Mapping[Hashable, Iterable[Hashable]],
                   units_seen: Mapping[Hashable, Iterable[Hashable]],
                   codes: Sequence[Hashable]) -> dict[Hashable, RatingTable]:
    """One presence table per code from what each coder marked and what each coder saw.

    `units_seen[coder]` are the units a coder reviewed; `coded[coder]` the (unit, code) pairs
    that coder marked present. A seen unit without the code is an explicit 0, an unseen unit
    is missing: absence of a mark only counts where the coder looked.
    """
    marked = {coder: set(pairs) for coder, pairs in coded.items()}
    tables = {}
    for code in codes:
        records = []
        for coder, units in units_seen.items():
            mine = marked.get(coder, set())
            for unit in units:
                records.append((unit, coder, 1 if (unit, code) in mine else 0))
        tables[code] = RatingTable.from_records(records)
    return tables
