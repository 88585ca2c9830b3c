"""The entity development set: the test half is frozen; every label is consistent."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

from pipeline.nlp.partnerships import partnership_type
from pipeline.nlp.registry import CATEGORIES, SECTORS

DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset"
TEST_SHA256 = "019e4597500862c3832c6f9bcb81750e01727b70aaf3552524d4872440e631df"


def test_entities_devset_test_half_is_frozen():
    digest = hashlib.sha256((DEVSET / "entities_test.yaml").read_bytes()).hexdigest()
    assert digest == TEST_SHA256, "entities_test.yaml is frozen: tune on entities_dev.yaml"


def test_entities_devset_benchmark_checks_the_same_hash():
    bench = (DEVSET.parents[2] / "benchmarks" / "bench_entities.py").read_text(encoding="utf-8")
    assert re.search(rf'TEST_SHA256 = "{TEST_SHA256}"', bench)


@pytest.mark.parametrize("half", ["dev", "test"])
def test_entities_devset_labels_are_consistent(half):
    items = yaml.safe_load((DEVSET / f"entities_{half}.yaml").read_text(encoding="utf-8"))
    assert len(items) >= 50
    for item in items:
        names = {}
        for actor in item["actors"]:
            assert actor["category"] in CATEGORIES and actor["sector"] in SECTORS
            for name in [actor["name"], *actor.get("also", [])]:
                assert name in item["text"], (item["id"], name)
            names[actor["name"]] = actor
        for initiative in item["initiatives"]:
            assert initiative["name"] in item["text"]
            assert initiative["status"] in ("existing", "planned", "ended")
        for partnership in item["partnerships"]:
            assert set(partnership["parties"]) <= set(names), item["id"]
            sectors = {names[p]["sector"] for p in partnership["parties"]}
            assert partnership["type"] == partnership_type(sectors), item["id"]
            assert partnership["status"] in ("existing", "ended", "planned", "desired")
