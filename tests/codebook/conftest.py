"""A small valid codebook, written in code, that tests copy and break one way at a time."""

from __future__ import annotations

import pytest

MINIMAL_CODEBOOK = """\
id: mini
title: Minimal codebook for tests
version: 0.1.0
language: en
changes: []
codes:
  - id: social
    kind: dimension
    label: Social
    definition: Primary needs.
  - id: social.housing
    kind: subcode
    parent: social
    label: Housing
    definition: Housing and shelter.
    examples: [The city runs a shelter.]
    patterns:
      - id: social.housing.service
        role: service
        phrases: ["{night|emergency} shelter", "housing support"]
      - id: social.housing.topic
        role: topic
        tokens: [{LEMMA: {IN: [housing, accommodation]}}]
  - id: cultural_religious
    kind: dimension
    label: Cultural and religious
    definition: Language, culture, religion.
  - id: cultural_religious.language
    kind: subcode
    parent: cultural_religious
    label: Language
    definition: Language courses.
    patterns:
      - id: cultural_religious.language.course
        role: service
        phrases: ["{english|french} {course|class}"]
  - id: economic
    kind: dimension
    label: Economic
    definition: Work.
  - id: political
    kind: dimension
    label: Political
    definition: Voice.
  - id: legal
    kind: dimension
    label: Legal
    definition: Rights.
  - id: challenge
    kind: challenge_group
    label: Challenges
    definition: Problems.
  - id: challenge.housing
    kind: challenge
    parent: challenge
    label: Housing
    definition: Housing problems.
    derive:
      - id: challenge.housing.from_mentions
        from: [social.housing]
        when: [negated, problem]
    patterns:
      - id: challenge.housing.shortage
        when: [always]
        phrases: ["housing shortage"]
rules:
  - id: R01
    type: reassign
    label: Courses near a language are language courses
    reason: the study counts language courses as cultural
    from: [social.housing]
    to: cultural_religious.language
    scope: window
    window: 2
    context: ["language"]
  - id: R02
    type: suppress
    label: Legal obligation
    reason: a mandate, not an initiative
    phrases: ["legal obligation"]
context:
  cues:
    - id: neg.basic
      type: negation
      phrases: ["no", "not"]
    - id: hyp.basic
      type: hypothetical
      direction: both
      phrases: ["should", "would like"]
    - id: plan.basic
      type: planned
      phrases: ["will"]
    - id: pseudo.basic
      type: pseudo
      phrases: ["not only"]
  terminators: ["but", ";"]
  stops: ["can"]
  clause_starters: ["which", "and"]
  markers:
    strong: ["run", "offer", "provide"]
    weak: ["programme", "free"]
  problem: ["problem", "lack"]
  actors: ["city", "council"]
"""


@pytest.fixture
def minimal_codebook(tmp_path):
    """Path of a valid minimal codebook; tests edit the text to break it."""
    path = tmp_path / "codebook.yaml"
    path.write_text(MINIMAL_CODEBOOK, encoding="utf-8")
    return path
