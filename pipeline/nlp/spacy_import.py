"""Importing spaCy without its command-line package.

`import spacy` runs ``from .cli.info import info`` in spaCy's ``__init__``, and importing
``spacy.cli`` loads every spaCy command with typer, requests, httpx, rich and weasel: about
0.4 CPU s of the 1.2 s the import costs, paid by every process that tags (a rerun after one
changed interview builds its tagger in a fresh process, on the run's critical path) and
never used by cityqda.

The `info` function is all spaCy's package takes from ``spacy.cli`` (`CLI_IMPORTS` lists
every import of ``spacy.cli`` outside that package; a test checks the installed spaCy
still has no other). So for the length of the import only, ``spacy.cli`` and
``spacy.cli.info`` are placeholders in ``sys.modules``; they are removed right after, so
a later ``import spacy.cli`` loads the real package, and ``spacy.info`` forwards to the
real function (importing it then). Any failure falls back to a plain import.

Importing this module does it (`pipeline.nlp.tagger` imports it before anything that
imports spaCy); a process that imported spaCy already is left as it is.
"""

from __future__ import annotations

import sys
import types

# Every import of spacy.cli in spaCy's own modules outside spacy/cli (and its tests), as
# (file, line text); the placeholders are only safe while this is the whole list.
CLI_IMPORTS = (("__init__.py", "from .cli.info import info  # noqa: F401"),
               ("__main__.py", "from spacy.cli import setup_cli"))
_PLACEHOLDERS = ("spacy.cli", "spacy.cli.info")
CLI_IMPORT_LINE = r"^[ \t]*(?:from|import)\b.*\bcli\b.*$"  # an import naming `cli`


def info(*args, **kwargs):
    """spaCy's `spacy.info`, loaded on first call."""
    from spacy.cli.info import info as real_info

    return real_info(*args, **kwargs)


def import_spacy():
    """The `spacy` module, imported without ``spacy.cli`` when it is not loaded yet and
    spaCy's ``__init__`` imports nothing else from it (else a plain import)."""
    if "spacy" in sys.modules or any(name in sys.modules for name in _PLACEHOLDERS) \
            or not _only_info_from_cli():
        import spacy

        return spacy
    package = types.ModuleType("spacy.cli")
    package.__path__ = []  # a package with no submodules: nothing else can load from it
    module = types.ModuleType("spacy.cli.info")
    module.info = info
    sys.modules["spacy.cli"], sys.modules["spacy.cli.info"] = package, module
    try:
        import spacy
    except ImportError:  # spaCy wanted more of its CLI: import it again, plainly
        _remove_placeholders(package, module)
        for name in [m for m in sys.modules if m == "spacy" or m.startswith("spacy.")]:
            del sys.modules[name]
        import spacy

        return spacy
    _remove_placeholders(package, module)
    return spacy


def _only_info_from_cli() -> bool:
    """Whether spaCy's ``__init__`` imports from ``spacy.cli`` exactly what `CLI_IMPORTS`
    says (read from the installed file: a cheap check against another spaCy version)."""
    import importlib.util
    import re

    try:
        spec = importlib.util.find_spec("spacy")
        source = open(spec.origin, encoding="utf-8").read()  # noqa: SIM115 - read whole
    except (ImportError, AttributeError, TypeError, OSError, ValueError):
        return False
    found = re.findall(CLI_IMPORT_LINE, source, re.M)
    return [line.strip() for line in found] == [CLI_IMPORTS[0][1]]


def _remove_placeholders(package, module) -> None:
    if sys.modules.get("spacy.cli") is package:
        del sys.modules["spacy.cli"]
    if sys.modules.get("spacy.cli.info") is module:
        del sys.modules["spacy.cli.info"]
    spacy = sys.modules.get("spacy")
    if spacy is not None and getattr(spacy, "cli", None) is package:
        delattr(spacy, "cli")


import_spacy()
