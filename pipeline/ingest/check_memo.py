"""The guides and register checks' results, kept between runs (`<study>/.cityqda-cache/`).

`cityqda run` checks the guides and the register on every run although they seldom change:
parsing YAML, importing jsonschema, reading the workbook and resolving every row's wordings
cost about half a second at N = 1,000. A check's result (its problems, and what it read as
plain data) is kept under a digest of everything the check reads: the files' bytes, the
study's vocabularies, the package's files and the versions of the libraries that parse
them. A missing, stale or unreadable memo only means the check runs again; the memo file
holds built-in types only and is read by `pipeline.nlp.build_cache`'s unpickler, which
refuses any class, so a memo cannot run code.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from pipeline.errors import ERRORS, Problem

# Libraries whose behaviour shows in a check's result (parsing, schema messages, cells).
CHECK_LIBRARIES = ("jsonschema", "PyYAML", "python-calamine", "rapidfuzz")
_PLAIN_SCALARS = (str, int, float, bool, type(None))


@functools.lru_cache(maxsize=1)
def _code_state() -> str:
    """The package's files and the checking libraries' versions, once per process."""
    from importlib import metadata

    from pipeline.ingest.ingest import package_digest

    versions = []
    for name in CHECK_LIBRARIES:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=-")
    return package_digest() + "\0" + "\0".join(versions)


def memo_key(kind: str, files: Iterable[tuple[str, bytes | None]], vocabularies,
             extra: object = None) -> str:
    """One digest of a check's inputs: each file's name and bytes (None: absent), the
    vocabularies, anything else it depends on (`extra`, JSON-able) and the code."""
    digest = hashlib.sha256(f"{kind}\0{_code_state()}\0".encode())
    digest.update(json.dumps([vocabularies, extra], sort_keys=True, ensure_ascii=False,
                             default=repr).encode("utf-8"))
    for name, data in files:
        digest.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(b"-" if data is None else hashlib.sha256(data).digest())
    return digest.hexdigest()


def _cache(cache_dir: Path):
    from pipeline.nlp.build_cache import BuildCache

    return BuildCache(cache_dir)


def load_memo(cache_dir: Path, kind: str, key: str):
    """The data kept for `key`, or None (missing, stale or unreadable)."""
    return _cache(cache_dir).load(f"check-{kind}", key)


def save_memo(cache_dir: Path, kind: str, key: str, data) -> None:
    """Keep `data` for `key` when it is plain data (anything else is not kept: the memo's
    reader would refuse it)."""
    if is_plain(data):
        _cache(cache_dir).save(f"check-{kind}", key, data)


def memoised(cache_dir: Path, kind: str, key: str, check, keep, restore):
    """`restore(data)` of the memo kept for `key`; else `check()`, its result kept as
    `keep(result)`. A memo `restore` cannot read (KeyError, TypeError, ValueError,
    AttributeError: not what this code keeps) means checking again."""
    found = load_memo(cache_dir, kind, key)
    if found is not None:
        try:
            return restore(found)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    result = check()
    save_memo(cache_dir, kind, key, keep(result))
    return result


def is_plain(value) -> bool:
    if isinstance(value, _PLAIN_SCALARS):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def plain_problems(problems: list[Problem]) -> list[list]:
    return [[p.code, dict(p.fields), p.file, p.row, p.column, p.sheet] for p in problems]


def problems_of(rows) -> list[Problem]:
    """Problems back from `plain_problems`; ValueError when the rows are not such."""
    problems = []
    for row in rows:
        code, fields, file, row_number, column, sheet = row
        if code not in ERRORS or not isinstance(fields, dict):
            raise ValueError(f"not a kept problem: {row!r}")
        problems.append(Problem(code, fields, file=file, row=row_number, column=column,
                                sheet=sheet))
    return problems
