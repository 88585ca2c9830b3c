"""Segment identity across versions of a transcript."""

from __future__ import annotations

from pipeline.ingest.versions import NewSegment, OldSegment, match_segments

OLD = [OldSegment(1, "Introduction", "I work for the municipality since 2010."),
       OldSegment(2, "Introduction", "Our office has twelve staff members."),
       OldSegment(3, "Partnerships", "We cooperate with the Red Cross on housing."),
       OldSegment(4, "Partnerships", "Yes.")]


def test_versions_equal_text_keeps_ids():
    new = [NewSegment(s.section, s.text) for s in OLD]
    assert match_segments(OLD, new) == [1, 2, 3, 4]


def test_versions_typo_fix_keeps_id_within_section():
    new = [NewSegment("Introduction", "I work for the municipality since 2011."),
           NewSegment("Introduction", "Our office has twelve staff members."),
           NewSegment("Partnerships", "We cooperate with the Red Cross on housing!"),
           NewSegment("Partnerships", "Yes.")]
    assert match_segments(OLD, new) == [1, 2, 3, 4]


def test_versions_inserted_paragraph_is_new_and_others_keep_ids():
    new = [NewSegment("Introduction", "I work for the municipality since 2010."),
           NewSegment("Introduction", "Before that I was a teacher in Porto."),
           NewSegment("Introduction", "Our office has twelve staff members."),
           NewSegment("Partnerships", "We cooperate with the Red Cross on housing."),
           NewSegment("Partnerships", "Yes.")]
    assert match_segments(OLD, new) == [1, None, 2, 3, 4]


def test_versions_similar_text_in_another_section_is_new_but_equal_text_moves():
    new = [NewSegment("Partnerships", "I work for the municipality since 2011."),
           NewSegment("Closure", "Our office has twelve staff members.")]
    assert match_segments(OLD, new) == [None, 2]


def test_versions_rewritten_paragraph_is_new():
    new = [NewSegment("Introduction", "The city hired me a decade ago to run the office.")]
    assert match_segments(OLD, new) == [None]


def test_versions_repeated_text_pairs_in_order():
    old = [OldSegment(7, "A", "Yes."), OldSegment(8, "A", "Yes.")]
    new = [NewSegment("A", "Yes."), NewSegment("A", "Yes."), NewSegment("A", "Yes.")]
    assert match_segments(old, new) == [7, 8, None]


def test_versions_best_similarity_wins():
    old = [OldSegment(1, "A", "The programme started in 2015 with ten families."),
           OldSegment(2, "A", "The programme started in 2015 with ten families!!")]
    new = [NewSegment("A", "The programme started in 2015 with ten families!!!")]
    assert match_segments(old, new) == [2]
