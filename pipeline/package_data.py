"""The package's own data files: parsed with libyaml, schema-checked once per installed package.

Two data files ship inside the package and are read on every `cityqda run` that ingests or
codes anything: the vocabulary variants (`pipeline/defaults/vocabulary_variants.yaml`) and the
section-context word lists (`pipeline/coding/section_context.yaml`). Tests keep them valid
against their schemas, and their loaders check them anyway, because an install can be edited
by hand. In a rerun after one changed interview that check cost about 0.12 CPU s of the run
process: importing jsonschema, validating, and parsing YAML in pure Python.

`trust_package_data(cache_dir)` checks both files once per package state and keeps the
verdict in the study's cache under the digest of every package file and the checking
libraries' versions (`pipeline.ingest.check_memo`): any edit to the package, or another
jsonschema or PyYAML, means checking again. A loader skips its schema check only for the
package's own file and only after that verdict (`package_data_checked()`); a file a team
points to is always checked.
"""

from __future__ import annotations

from pathlib import Path

import yaml

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it

_VERDICT: list[bool] = []  # [True] once the package's data files are known to be valid


def parse_yaml(text: str):
    """YAML as `yaml.safe_load` reads it (the same safe constructors), at libyaml's speed."""
    return yaml.load(text, Loader=YAML_LOADER)


def package_data_checked() -> bool:
    return bool(_VERDICT)


def check_package_data() -> bool:
    """Load every package data file with its full check; False when one fails (its loader
    reports it where it is used, as without a verdict)."""
    from pipeline.coding.section_context import load_context_words
    from pipeline.errors import CityQDAError
    from pipeline.vocabulary import default_variants

    try:
        default_variants()
        load_context_words()
    except (CityQDAError, ValueError, KeyError, TypeError):
        return False
    return True


def trust_package_data(cache_dir: Path) -> bool:
    """Whether the package's data files are valid, from the study's memo when this package
    state was checked before, else checked now (and kept when valid)."""
    from pipeline.ingest import check_memo

    if _VERDICT:
        return True
    key = check_memo.memo_key("package-data", (), None)
    found = check_memo.load_memo(cache_dir, "package-data", key)
    valid = found is True or check_package_data()
    if valid:
        if found is not True:
            check_memo.save_memo(cache_dir, "package-data", key, True)
        _VERDICT[:] = [True]
    return valid
