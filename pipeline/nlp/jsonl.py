"""Reading `cityqda tag` input: JSON Lines of {"id": ..., "text": "..."}.

Every line is checked before anything is tagged, so a malformed line is reported with its
line number and (without --keep-going) nothing is coded from a broken input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.errors import Problem


@dataclass(frozen=True)
class Record:
    line: int
    id: object
    text: str


def parse_lines(lines: Iterable[str], source: str | None = None
                ) -> tuple[list[Record], list[Problem]]:
    """Records of the non-blank lines, and a CQ210 problem for each malformed one."""
    records: list[Record] = []
    problems: list[Problem] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        problem = None
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = f"not valid JSON ({exc.msg} at column {exc.colno})"
        else:
            if not isinstance(value, dict):
                problem = f"expected a JSON object, got {type(value).__name__}"
            elif "text" not in value:
                problem = 'the object has no "text"'
            elif not isinstance(value["text"], str):
                problem = f'"text" must be a string, got {type(value["text"]).__name__}'
            elif "id" not in value:
                problem = 'the object has no "id"'
        if problem is not None:
            problems.append(Problem("CQ210", {"line": number, "problem": problem}, file=source))
        else:
            records.append(Record(number, value["id"], value["text"]))
    return records, problems
