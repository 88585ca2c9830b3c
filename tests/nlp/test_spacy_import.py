"""spaCy imported without its command-line package: safe only while spaCy takes nothing but
`info` from it, and leaving nothing behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pipeline.nlp.spacy_import import CLI_IMPORT_LINE, CLI_IMPORTS, _only_info_from_cli


def test_spacy_import_cli_imports_of_installed_spacy_are_the_listed_ones():
    import importlib.util

    root = Path(importlib.util.find_spec("spacy").origin).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(("cli/", "tests/")):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(CLI_IMPORT_LINE, line):
                found.append((relative, line.strip()))
    assert tuple(found) == CLI_IMPORTS
    assert _only_info_from_cli()


def _fresh_interpreter(code: str, pythonpath: str | None = None) -> str:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([pythonpath, env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_spacy_import_leaves_the_real_cli_to_load_on_demand():
    printed = _fresh_interpreter(
        "import sys\n"
        "import pipeline.nlp.tagger\n"
        "import spacy\n"
        "assert spacy.blank('en')('Two words.').text == 'Two words.'\n"
        "print('typer' in sys.modules, 'spacy.cli' in sys.modules)\n"
        "import spacy.cli\n"
        "assert spacy.cli.__file__.endswith('__init__.py'), spacy.cli.__file__\n"
        "print(spacy.info(silent=True)['spacy_version'] == spacy.__version__)\n")
    assert printed.split() == ["False", "False", "True"]


def test_spacy_import_falls_back_when_spacy_wants_more_of_its_cli(tmp_path):
    """Another module of the package importing from spacy.cli: a plain import instead."""
    package = tmp_path / "spacy"
    (package / "cli").mkdir(parents=True)
    (package / "__init__.py").write_text(f"{CLI_IMPORTS[0][1]}\nfrom . import helper\n")
    (package / "helper.py").write_text("from .cli.info import more\n")
    (package / "cli" / "__init__.py").write_text("REAL = True\n")
    (package / "cli" / "info.py").write_text("def info():\n    return 'real'\nmore = 1\n")
    printed = _fresh_interpreter(
        "import sys\n"
        "import pipeline.nlp.spacy_import\n"
        "import spacy\n"
        "print(sys.modules['spacy.cli'].REAL, spacy.info())\n", pythonpath=str(tmp_path))
    assert printed.split() == ["True", "real"]
