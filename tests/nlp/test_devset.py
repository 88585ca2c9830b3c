"""The development set: well formed, large enough, and its test half frozen."""

import hashlib
from pathlib import Path

import pytest
import yaml

DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset"
FROZEN_TEST_SHA256 = "532e7d4c73f5d28955c2aa37b90cf1b88109801f200072be1bb6988414c81e02"
# The held-out set of real published content (session 12): read once per session, never tuned on.
FROZEN_HOLDOUT_SHA256 = "b3efe61c4fd6cf0623e75a4a40eccb3db970d5e30de6db76c8232544413f2e3f"
DIMENSIONS = {"social", "cultural_religious", "economic", "political", "legal"}
CHALLENGES = {"language", "housing", "discrimination", "funding", "monitoring_evaluation",
              "knowledge_sharing", "terminology"}


def load(name):
    return yaml.safe_load((DEVSET / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name, expected", [("test", FROZEN_TEST_SHA256),
                                            ("holdout", FROZEN_HOLDOUT_SHA256)])
def test_devset_frozen_sets_are_unchanged(name, expected):
    digest = hashlib.sha256((DEVSET / f"{name}.yaml").read_bytes()).hexdigest()
    assert digest == expected, (
        f"tests/data/devset/{name}.yaml changed: it is frozen; add passages to dev.yaml instead")


def test_devset_halves_are_well_formed_and_disjoint():
    dev, test, holdout = load("dev"), load("test"), load("holdout")
    assert len(dev) + len(test) >= 300
    assert len(holdout) >= 200
    ids = [item["id"] for item in dev + test + holdout]
    assert len(ids) == len(set(ids))
    texts = [item["text"] for item in dev + test + holdout]
    assert len(texts) == len(set(texts))
    for item in dev + test + holdout:
        assert set(item) == {"id", "city", "register", "text", "dimensions", "withheld",
                             "flags", "challenges"}
        assert set(item["dimensions"]) <= DIMENSIONS
        assert set(item["withheld"]) <= DIMENSIONS
        assert not set(item["dimensions"]) & set(item["withheld"])
        assert set(item["flags"]) <= {"negated", "hypothetical", "planned"}
        assert set(item["challenges"]) <= CHALLENGES
        assert item["register"] in {"report", "interview"}


def test_devset_covers_the_hard_cases():
    items = load("dev") + load("test")
    cities = {item["city"] for item in items}
    assert len(cities) > 100
    assert sum("negated" in item["flags"] for item in items) >= 40
    assert sum("hypothetical" in item["flags"] for item in items) >= 20
    assert sum("planned" in item["flags"] for item in items) >= 10
    assert sum(len(item["dimensions"]) > 1 for item in items) >= 30
    assert sum(bool(not item["dimensions"] and item["challenges"]) for item in items) >= 30
