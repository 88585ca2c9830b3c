"""The error registry: stable codes, complete messages, and docs/errors.md kept current."""

import re
import string
from pathlib import Path

import pytest

from pipeline.errors import ERRORS, CityQDAError, Problem, render_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def test_errors_docs_are_generated_from_the_registry():
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/errors.md is stale: run `python -m pipeline.errors > docs/errors.md`")


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_errors_every_code_is_complete(code):
    spec = ERRORS[code]
    assert re.fullmatch(r"CQ\d{3}", code)
    assert spec.title and spec.template and spec.hint
    assert spec.level in {"error", "warning"}
    assert spec.exit_code in {0, 1, 2}
    assert (spec.level == "warning") == (spec.exit_code == 0)
    # every placeholder can be filled: render with dummy values
    names = {f for _, f, _, _ in string.Formatter().parse(spec.template + spec.hint) if f}
    rendered = Problem(code, {n.split("!")[0]: "X" for n in names}).render()
    assert code in rendered


def test_errors_exception_carries_location_and_exit_code():
    exc = CityQDAError("CQ003", file="cityqda.toml", row=3, column="role",
                       path="cityqda.toml", field="coders[1].role", problem="bad")
    text = exc.render()
    assert text.startswith("error CQ003: cityqda.toml, row 3, column role:")
    assert "→" in text
    assert exc.exit_code == 1


def test_errors_collected_problems_exit_with_the_worst_code():
    problems = [Problem("CQ050", {"path": "p", "kind": "a Dropbox folder"}),
                Problem("CQ001", {"path": "p"})]
    exc = CityQDAError.from_problems(problems)
    assert exc.exit_code == 2
    assert exc.render().count("\n  →") == 2


def test_errors_unknown_code_is_a_programming_error():
    with pytest.raises(KeyError):
        CityQDAError("CQ999x")
