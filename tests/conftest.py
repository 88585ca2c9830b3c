"""Shared fixtures: a fresh study built with the real `init`, and the CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"

# Tests run in temporary folders; the sync-folder warning would only be noise there.
os.environ.setdefault("CITYQDA_NO_LOCATION_WARNING", "1")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def study_dir(tmp_path) -> Path:
    from pipeline.init_study import init_study

    return init_study(tmp_path / "study")
