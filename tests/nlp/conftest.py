"""The coder with the packaged codebook, built once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tagger():
    from pipeline.nlp import Tagger

    return Tagger()


def coding(result: dict, text: str, code: str | None = None) -> dict:
    """The coding whose evidence is `text` (and whose code is `code`, when given)."""
    found = [c for c in result["codes"]
             if c["text"] == text and (code is None or c["code"] == code)]
    assert found, f"no coding {text!r} in {[(c['code'], c['text']) for c in result['codes']]}"
    return found[0]


@pytest.fixture
def minimal_codebook_path(tmp_path):
    from tests.codebook.conftest import MINIMAL_CODEBOOK

    path = tmp_path / "codebook.yaml"
    path.write_text(MINIMAL_CODEBOOK, encoding="utf-8")
    return path
