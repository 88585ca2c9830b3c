"""Agreement statistics against examples worked by hand, degenerate tables, missing data and
the bootstrap's determinism; alpha also against the `krippendorff` package as an oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.review.agreement_stats import (
    NO_CI_FEW_UNITS,
    NO_CI_OFF,
    UNDEFINED_NO_UNITS,
    RatingTable,
    agreement,
    pairwise_agreement,
    presence_table,
)


def table_from_columns(columns: dict[str, list]) -> RatingTable:
    """Coder -> list of values by unit position; None is a missing rating."""
    return RatingTable.from_records((unit, coder, value) for coder, values in columns.items()
                                    for unit, value in enumerate(values))


# Krippendorff (2011, "Computing Krippendorff's alpha-reliability"), example A: binary data,
# two coders, ten units, nothing missing.
#   unit  1 2 3 4 5 6 7 8 9 10
#   A     0 1 0 0 0 0 0 0 1 0
#   B     1 1 1 0 0 1 0 0 0 0
BINARY_A = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
BINARY_B = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]

# Krippendorff (2011), example C: nominal values 1-5, four coders, twelve units, missing data
# (None). Unit 12 has a single rating and is not pairable.
NOMINAL_MISSING = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def test_agreement_stats_binary_example_by_hand():
    # Pairs (A, B): agree on units 2,4,5,7,8,10 -> percent agreement 6/10 = 0.6.
    # Coincidence matrix (each unit adds both ordered pairs, weight 1/(m_u - 1) = 1):
    #   five (0,0) units -> o00 = 10; four mixed units -> o01 = o10 = 4; one (1,1) -> o11 = 2.
    #   n0 = 14, n1 = 6, n = 20.
    #   alpha = 1 - (n - 1) * (o01 + o10) / (n0*n1 + n1*n0) = 1 - 19*8/168 = 1 - 152/168
    #         = 0.095238...  (Krippendorff reports 0.095)
    # Kappa: A has 8 zeros and 2 ones, B 6 zeros and 4 ones.
    #   p_o = 0.6, p_e = 0.8*0.6 + 0.2*0.4 = 0.56, kappa = 0.04/0.44 = 0.090909...
    # Prevalence of 1 among the 20 ratings: 6/20 = 0.3.
    result = agreement(table_from_columns({"A": BINARY_A, "B": BINARY_B}))
    assert result.n_units == 10 and result.n_coders == 2 and result.n_ratings == 20
    assert result.percent_agreement.value == pytest.approx(0.6)
    assert result.krippendorff_alpha.value == pytest.approx(1 - 152 / 168)
    assert round(result.krippendorff_alpha.value, 3) == 0.095
    assert result.cohen_kappa.value == pytest.approx(0.04 / 0.44)
    assert result.prevalence.value == pytest.approx(0.3)
    assert result.value_shares == pytest.approx({0: 0.7, 1: 0.3})


def test_agreement_stats_two_by_two_kappa_by_hand():
    # 50 units: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    #   p_o = (20 + 15)/50 = 0.70
    #   A says yes on 25/50 = 0.5, B on 30/50 = 0.6
    #   p_e = 0.5*0.6 + 0.5*0.4 = 0.50
    #   kappa = (0.70 - 0.50)/(1 - 0.50) = 0.40
    cells = [(1, 1)] * 20 + [(1, 0)] * 5 + [(0, 1)] * 10 + [(0, 0)] * 15
    table = table_from_columns({"A": [a for a, _ in cells], "B": [b for _, b in cells]})
    result = agreement(table)
    assert result.cohen_kappa.value == pytest.approx(0.40)
    assert result.percent_agreement.value == pytest.approx(0.70)
    assert result.prevalence.value == pytest.approx((25 + 30) / 100)


def test_agreement_stats_nominal_missing_example_by_hand():
    # Pairable units: 1-11 (unit 12 has one rating). Counting agreeing coder pairs / all pairs:
    #   u1 {1,1,1} 3/3   u2 {2,2,3,2} 3/6   u3 6/6   u4 6/6   u5 6/6   u6 {1,2,3,4} 0/6
    #   u7 6/6   u8 {1,1,2,1} 3/6   u9 6/6   u10 {5,5,5} 3/3   u11 {1,1} 1/1
    #   percent agreement = 43/55 = 0.7818...
    # Coincidences (weight 1/(m_u - 1)) give n = 40 pairable values with n_1 = 9, n_2 = 13,
    # n_3 = 10, n_4 = 5, n_5 = 3. Unit u adds n_uc*n_uk/(m_u - 1) off the diagonal:
    #   u2 {2,2,2,3}: 2*(3*1)/3 = 2;  u6 {1,2,3,4}: 12 ordered pairs/3 = 4;  u8 {1,1,1,2}: 2
    #   so 8 of the 40 coincidences disagree.
    #   sum_{c!=k} n_c n_k = 40^2 - (81 + 169 + 100 + 25 + 9) = 1600 - 384 = 1216
    #   alpha = 1 - 39 * 8 / 1216 = 1 - 312/1216 = 0.74342...  (Krippendorff reports 0.743)
    result = agreement(table_from_columns(NOMINAL_MISSING), positive=None)
    assert result.n_units == 11 and result.n_coders == 4 and result.n_ratings == 40
    assert result.percent_agreement.value == pytest.approx(43 / 55)
    assert result.krippendorff_alpha.value == pytest.approx(1 - 312 / 1216)
    assert round(result.krippendorff_alpha.value, 3) == 0.743
    assert result.value_shares == pytest.approx({1: 9 / 40, 2: 13 / 40, 3: 10 / 40,
                                                 4: 5 / 40, 5: 3 / 40})
    assert result.cohen_kappa.value is None
    assert "exactly two coders; 4" in result.cohen_kappa.reason
    assert result.prevalence.value is None


def test_agreement_stats_alpha_with_one_coder_missing_per_unit():
    # Three coders; on each unit one of them did not look. Values are categories.
    #   u1 (a, a, -)  u2 (a, -, b)  u3 (-, b, b)  u4 (a, a, -)
    # Every unit has m_u = 2, so each adds its ordered pairs with weight 1:
    #   o_aa = 2 + 2 = 4, o_bb = 2, o_ab = o_ba = 1; n_a = 5, n_b = 3, n = 8
    #   alpha = 1 - 7 * 2 / (2 * 5 * 3) = 1 - 14/30 = 0.5333...
    table = table_from_columns({"X": ["a", "a", None, "a"], "Y": ["a", None, "b", "a"],
                                "Z": [None, "b", "b", None]})
    result = agreement(table, positive=None)
    assert result.n_units == 4
    assert result.krippendorff_alpha.value == pytest.approx(1 - 14 / 30)
    assert result.percent_agreement.value == pytest.approx(3 / 4)


@pytest.mark.parametrize("value", [0, 1, "present"])
def test_agreement_stats_one_value_everywhere_is_undefined_not_nan(value):
    table = table_from_columns({"A": [value] * 6, "B": [value] * 6})
    result = agreement(table)
    assert result.percent_agreement.value == 1.0
    for estimate in (result.cohen_kappa, result.krippendorff_alpha):
        assert estimate.value is None and estimate.ci_low is None
        assert repr(value) in estimate.reason and "undefined" in estimate.reason


def test_agreement_stats_opposite_constant_coders_give_defined_kappa():
    # A always 1, B always 0: p_o = 0, p_e = 1*0 + 0*1 = 0 -> kappa = 0; alpha: n1 = n0 = 5,
    # o01 = o10 = 5 -> alpha = 1 - 9*10/50 = -0.8.
    result = agreement(table_from_columns({"A": [1] * 5, "B": [0] * 5}))
    assert result.cohen_kappa.value == pytest.approx(0.0)
    assert result.krippendorff_alpha.value == pytest.approx(-0.8)


def test_agreement_stats_no_pairable_unit():
    table = table_from_columns({"A": [1, None, 0], "B": [None, 1, None]})
    result = agreement(table)
    assert result.n_units == 0 and result.n_ratings == 0
    for estimate in (result.percent_agreement, result.krippendorff_alpha,
                     result.cohen_kappa, result.prevalence):
        assert estimate.value is None and estimate.reason == UNDEFINED_NO_UNITS
    assert agreement(RatingTable({})).n_units == 0


def test_agreement_stats_missing_ratings_leave_units_out_of_kappa():
    # Unit 3 is rated by A only, so kappa and alpha use units 0-2 and 4.
    full = agreement(table_from_columns({"A": [1, 0, 1, 0], "B": [1, 0, 0, 0]}))
    gappy = agreement(table_from_columns({"A": [1, 0, 1, 1, 0], "B": [1, 0, 0, None, 0]}))
    assert gappy.n_units == 4
    assert gappy.cohen_kappa.value == pytest.approx(full.cohen_kappa.value)
    assert gappy.krippendorff_alpha.value == pytest.approx(full.krippendorff_alpha.value)


def test_agreement_stats_bootstrap_is_deterministic_and_seeded():
    table = table_from_columns(NOMINAL_MISSING)
    first = agreement(table, resamples=300, seed=7)
    again = agreement(table, resamples=300, seed=7)
    other = agreement(table, resamples=300, seed=8)
    assert first == again
    assert first.krippendorff_alpha != other.krippendorff_alpha
    estimate = first.krippendorff_alpha
    assert estimate.ci_low <= estimate.value <= estimate.ci_high
    assert -1.0 <= estimate.ci_low < estimate.ci_high <= 1.0


def test_agreement_stats_result_does_not_depend_on_record_order():
    records = [(unit, coder, value) for coder, values in NOMINAL_MISSING.items()
               for unit, value in enumerate(values)]
    forward = agreement(RatingTable.from_records(records), resamples=200)
    backward = agreement(RatingTable.from_records(reversed(records)), resamples=200)
    assert forward == backward


def test_agreement_stats_bootstrap_drops_undefined_resamples_and_counts_them():
    # Only one unit disagrees; resamples without it hold a single value, where alpha is
    # undefined, so they are left out and counted.
    table = table_from_columns({"A": [1, 0, 0, 0], "B": [0, 0, 0, 0]})
    result = agreement(table, resamples=500, seed=1)
    assert result.krippendorff_alpha.value is not None
    assert 0 < result.krippendorff_alpha.undefined_resamples < 500
    assert result.percent_agreement.undefined_resamples == 0


def test_agreement_stats_interval_covers_narrower_with_more_units():
    rng = np.random.default_rng(3)
    def simulated(n):
        truth = rng.random(n) < 0.4
        flip = rng.random(n) < 0.15
        return table_from_columns({"A": truth.astype(int).tolist(),
                                   "B": (truth ^ flip).astype(int).tolist()})
    small = agreement(simulated(40), resamples=400).cohen_kappa
    large = agreement(simulated(4000), resamples=400).cohen_kappa
    assert (large.ci_high - large.ci_low) < (small.ci_high - small.ci_low)


@pytest.mark.parametrize(("resamples", "units", "reason"),
                         [(0, 5, NO_CI_OFF), (100, 1, NO_CI_FEW_UNITS)])
def test_agreement_stats_no_interval_says_why(resamples, units, reason):
    table = table_from_columns({"A": [1, 0, 1, 0, 1][:units], "B": [1, 0, 0, 0, 0][:units]})
    result = agreement(table, resamples=resamples)
    assert result.percent_agreement.value is not None
    assert result.percent_agreement.ci_low is None
    assert result.percent_agreement.ci_reason == reason


def test_agreement_stats_conflicting_ratings_are_refused():
    with pytest.raises(ValueError, match="two ratings"):
        RatingTable.from_records([("u1", "A", 1), ("u1", "A", 0)])


@pytest.mark.parametrize(("resamples", "confidence"), [(-1, 0.95), (10, 1.0), (10, 0.0)])
def test_agreement_stats_bad_options_are_refused(resamples, confidence):
    with pytest.raises(ValueError):
        agreement(table_from_columns({"A": [1, 0], "B": [1, 1]}), resamples=resamples,
                  confidence=confidence)


def test_agreement_stats_pairwise_gives_kappa_per_pair():
    pairs = pairwise_agreement(table_from_columns(NOMINAL_MISSING), resamples=0,
                               positive=None)
    assert sorted(pairs) == [("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("B", "D"),
                             ("C", "D")]
    # A and B both rated units 1-9 and agree on all but unit 6 (1 vs 2): p_o = 8/9.
    assert pairs[("A", "B")].n_units == 9
    assert pairs[("A", "B")].percent_agreement.value == pytest.approx(8 / 9)
    assert all(result.cohen_kappa.value is not None for result in pairs.values())


def test_agreement_stats_presence_table_counts_absence_only_where_seen():
    tables = presence_table(
        coded={"ana": [("s1", "social"), ("s2", "legal")], "ben": [("s1", "social")]},
        units_seen={"ana": ["s1", "s2", "s3"], "ben": ["s1", "s3"]},
        codes=["social", "legal"])
    social = tables["social"].ratings
    assert social == {("s1", "ana"): 1, ("s2", "ana"): 0, ("s3", "ana"): 0,
                      ("s1", "ben"): 1, ("s3", "ben"): 0}
    result = agreement(tables["legal"], resamples=0)
    # s2 was seen by ana only, so legal has two pairable units (s1, s3), both 0 by both.
    assert result.n_units == 2 and result.krippendorff_alpha.value is None


def test_agreement_stats_as_dict_is_json_ready():
    import json

    payload = agreement(table_from_columns({"A": BINARY_A, "B": BINARY_B}),
                        resamples=50).as_dict()
    text = json.dumps(payload)
    assert json.loads(text)["krippendorff_alpha"]["value"] == pytest.approx(1 - 152 / 168)


ratings = st.lists(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=3, max_size=3),
                   min_size=2, max_size=30)


@settings(max_examples=150, deadline=None)
@given(ratings)
def test_agreement_stats_alpha_matches_krippendorff_package(rows):
    import krippendorff  # GPL-3.0 test oracle only; never imported by the package

    table = RatingTable.from_records((unit, coder, value) for unit, row in enumerate(rows)
                                     for coder, value in enumerate(row))
    result = agreement(table, resamples=0, positive=None)
    pairable = [row for row in rows if sum(v is not None for v in row) >= 2]
    values = {v for row in pairable for v in row if v is not None}
    if len(values) < 2:
        assert result.krippendorff_alpha.value is None
        return
    data = np.array([[np.nan if v is None else v for v in row] for row in pairable]).T
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert math.isclose(result.krippendorff_alpha.value, expected, rel_tol=1e-9, abs_tol=1e-9)
