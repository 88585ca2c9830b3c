"""Every data-printing command prints only parseable data on stdout (DESIGN invariant 6).

Run through the installed console script in a subprocess, on a study holding real sample
transcripts, so that nothing a library prints at import or run time can hide.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "transcripts_sample"


def _jsonl(text: str) -> list:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no data printed"
    return [json.loads(line) for line in lines]


def _json(text: str):
    return json.loads(text)


def _csv(text: str) -> list:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)
    return rows


# (argv after `cityqda --project STUDY`, parser) — one entry per data-printing command.
DATA_COMMANDS = [
    (["status", "--json"], _json),
    (["export", "segments"], _jsonl),
    (["export", "segments", "--format", "jsonl", "--all-paragraphs"], _jsonl),
    (["export", "segments", "--format", "csv"], _csv),
    (["guides", "show", "--json"], _json),
    (["guides", "validate", "--json"], _json),
    (["register", "validate", "--json"], _json),
    (["agreement", "--json", "--no-xlsx"], _json),
    (["review", "log", "--format", "jsonl", "--all"], _jsonl),
]


@pytest.fixture(scope="module")
def ingested_study(tmp_path_factory) -> Path:
    from pipeline.init_study import init_study

    root = init_study(tmp_path_factory.mktemp("purity") / "study")
    for name in ("LIS-PM-01.docx", "SAO-CS-01.docx", "ROT-PM-01.docx"):
        shutil.copyfile(SAMPLE / name, root / "transcripts" / name)
    _cityqda(root, ["ingest"])
    return root


def _cityqda(root: Path, argv: list[str]) -> subprocess.CompletedProcess:
    exe = shutil.which("cityqda", path=str(Path(sys.executable).parent))
    assert exe, "the console script `cityqda` is not installed next to this Python"
    env = {**os.environ, "CITYQDA_NO_LOCATION_WARNING": "1", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([exe, "--project", str(root), *argv], capture_output=True,
                          env=env, cwd=root)


@pytest.mark.parametrize("argv, parse", DATA_COMMANDS, ids=[" ".join(a) for a, _ in DATA_COMMANDS])
def test_stdout_purity_data_commands_print_only_data(ingested_study, argv, parse):
    result = _cityqda(ingested_study, argv)
    assert result.returncode in (0, 1), result.stderr.decode("utf-8", "replace")
    text = result.stdout.decode("utf-8")  # strict: stdout must be valid UTF-8
    parse(text)


def test_stdout_purity_keeps_non_ascii_characters_unescaped(ingested_study):
    text = _cityqda(ingested_study, ["status", "--json"]).stdout.decode("utf-8")
    assert "São Paulo" in text and "\\u00e3" not in text
