"""scripts/build_demo_reviews.py: the answer-key decisions it fills in (the full build takes
minutes and runs as `python scripts/build_demo_reviews.py --check --out DIR`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_demo_reviews.py"


@pytest.fixture(scope="module")
def demo():
    spec = importlib.util.spec_from_file_location("build_demo_reviews", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _coding(code, kind="dimension", dimension=None, negated=0, hypothetical=0,
            text="We run a housing desk."):
    return SimpleNamespace(code=code, kind=kind, dimension=dimension, negated=negated,
                           hypothetical=hypothetical, file="LIS-PM-01.docx", text=text)


@pytest.mark.parametrize("coding, expected", [
    (_coding("social.housing", dimension="social"), "accept"),
    (_coding("social.housing", dimension="social", negated=1), "reject"),
    (_coding("social.housing", dimension="social", hypothetical=1), "reject"),
    (_coding("economic.employment", dimension="economic"), "reject"),
    (_coding("challenge.housing", kind="challenge"), "accept"),
    (_coding("challenge.funding", kind="challenge"), "reject"),
    (_coding("social.housing", dimension="social", text="Another paragraph."), "reject"),
])
def test_demo_reviews_script_decides_from_the_answer_key(demo, coding, expected):
    key = {("LIS-PM-01.docx", "We run a housing desk."): {
        "dimensions": ["social"], "challenges": ["housing"],
        "initiatives": [{"name": "Housing Desk", "status": "existing",
                         "dimensions": ["social"]}],
        "actors": [{"name": "Lisbon City Council", "mention": "the City Council"}],
        "partnerships": [{"parties": ["Lisbon City Council", "Tejo Hotels"],
                          "type": "public_private", "status": "existing"}]}}
    index = demo.KeyIndex(key)
    assert index.coding_decision(coding) == expected
    assert demo.fold("Housing Desk") in index.initiatives
    assert demo.fold("the City Council") in index.actors
    assert frozenset({demo.fold("Tejo Hotels"), demo.fold("Lisbon City Council")}) \
        in index.partnerships


def test_demo_reviews_script_answer_key_pairs_segments_by_text(demo):
    key = demo.load_key()
    assert len(key) > 400
    file, text = next(iter(key))
    assert file.endswith(".docx") and text == text.strip()


def test_demo_reviews_script_committed_workbooks_are_current(demo):
    """The workbooks in reviews/inbox/ are what the script builds now, byte for byte (a
    change to the sample's inputs, codebook or rules needs them rebuilt)."""
    inbox = SCRIPT.parents[1] / "reviews" / "inbox"
    assert sorted(p.name for p in inbox.glob("*.xlsx")) == ["sample-ana-demo.xlsx",
                                                             "sample-ben-demo.xlsx"]
    assert demo.build(inbox, check=True, verbose=False) == 0
