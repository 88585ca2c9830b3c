"""The sample study's inputs (the repository root is the sample study) copied for a test:
no store, no outputs, so every test starts from what a fresh clone has."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDY_PARTS = ("cityqda.toml", "register.xlsx", "transcripts_sample", "interview_guides",
               "codebooks")


def copy_sample(target: Path, parts=STUDY_PARTS, source: Path = REPO_ROOT) -> Path:
    target.mkdir(parents=True)
    for part in parts:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part)
        else:
            shutil.copyfile(source / part, target / part)
    return target
