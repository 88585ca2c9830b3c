"""A vectorised map from spaCy string hashes to values, filled lazily.

Pipeline components look up one value per token (a lemma, a sentence-boundary class). Doing
that with a Python dict costs a Python call per token; here a whole document is looked up
with one `searchsorted`, and only hashes never seen before go through Python (once per
vocabulary entry, not per token).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy


class LazyHashMap:
    """uint64 hash -> uint64 value, computing unseen keys with `compute(key)`."""

    def __init__(self, compute: Callable[[int], int]):
        self._compute = compute
        self._keys = numpy.zeros(0, dtype=numpy.uint64)
        self._values = numpy.zeros(0, dtype=numpy.uint64)

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, hashes: numpy.ndarray) -> numpy.ndarray:
        """Values for an array of uint64 hashes (any order, repeats allowed)."""
        keys = self._keys
        if len(hashes) == 0:
            return numpy.zeros(0, dtype=numpy.uint64)
        index = numpy.searchsorted(keys, hashes)
        index[index >= len(keys)] = 0
        if len(keys) == 0:
            missing = numpy.ones(len(hashes), dtype=bool)
        else:
            missing = keys[index] != hashes
        if missing.any():
            self._add(numpy.unique(hashes[missing]))
            keys = self._keys
            index = numpy.searchsorted(keys, hashes)
        return self._values[index]

    def _add(self, new_keys: numpy.ndarray) -> None:
        new_values = numpy.fromiter((self._compute(int(k)) for k in new_keys),
                                    dtype=numpy.uint64, count=len(new_keys))
        keys = numpy.concatenate([self._keys, new_keys])
        values = numpy.concatenate([self._values, new_values])
        order = numpy.argsort(keys, kind="stable")
        self._keys = keys[order]
        self._values = values[order]
