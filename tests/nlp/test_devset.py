"""The development set: well formed, large enough, and its test half frozen."""

import hashlib
from pathlib import Path

import yaml

DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset"
FROZEN_TEST_SHA256 = "532e7d4c73f5d28955c2aa37b90cf1b88109801f200072be1bb6988414c81e02"
DIMENSIONS = {"social", "cultural_religious", "economic", "political", "legal"}
CHALLENGES = {"language", "housing", "discrimination", "funding", "monitoring_evaluation",
              "knowledge_sharing", "terminology"}


def load(name):
    return yaml.safe_load((DEVSET / f"{name}.yaml").read_text(encoding="utf-8"))


def test_devset_test_half_is_frozen():
    digest = hashlib.sha256((DEVSET / "test.yaml").read_bytes()).hexdigest()
    assert digest == FROZEN_TEST_SHA256, (
        "tests/data/devset/test.yaml changed: the test half is frozen; add passages to "
        "dev.yaml instead")


def test_devset_halves_are_well_formed_and_disjoint():
    dev, test = load("dev"), load("test")
    assert len(dev) + len(test) >= 300
    ids = [item["id"] for item in dev + test]
    assert len(ids) == len(set(ids))
    texts = [item["text"] for item in dev + test]
    assert len(texts) == len(set(texts))
    for item in dev + test:
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
