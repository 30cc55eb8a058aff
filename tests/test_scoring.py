"""Scoring known answers, each worked by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from outcomes import instruments
from outcomes._errors import DataError, UsageError
from outcomes.measures.goals import gas_tscore
from outcomes.measures.scoring import COLUMNS, item_matrix, reverse_key, score


def answers(instrument, values, *, engagement="e1", occasion="intake", session=None,
            rater=None, items=None):
    """Long responses for one administration; NaN values are unanswered items."""
    items = items if items is not None else range(1, len(values) + 1)
    frame = pd.DataFrame({
        "engagement_id": engagement, "occasion": occasion,
        "session": pd.array([session] * len(values), dtype="Int64"),
        "instrument": instrument, "item": list(items), "value": values,
    })
    if rater is not None:
        frame["rater"] = rater
    return frame


def one(scores, scale):
    row = scores[scores["scale"] == scale]
    assert len(row) == 1
    return row.iloc[0]


LOT = [4, 0, 1, 3, 2, 2, 0, 2, 1, 3]  # items 1..10


def test_lot_r_reverse_keys_and_ignores_fillers():
    # scored 1,3,4,7,9,10; reverse 3,7,9 on 0-4 (x' = 4 - x):
    # 4 + (4-1) + 3 + (4-0) + (4-1) + 3 = 4 + 3 + 3 + 4 + 3 + 3 = 20
    scores = score(answers("lot-r", LOT))
    assert list(scores.columns) == list(COLUMNS)
    row = one(scores, "total")
    assert row["score"] == 20 and row["n_items"] == 6 and row["rater"] == "client"
    fillers_changed = [4, 4, 1, 3, 0, 4, 0, 1, 1, 3]  # items 2, 5, 6, 8 differ
    assert one(score(answers("lot-r", fillers_changed)), "total")["score"] == 20


def test_prorated_sum_and_too_few_items():
    # item 10 missing: 5 of 6 answered (5/6 >= 0.83): keyed 4,3,3,4,3 -> mean 3.4 x 6 = 20.4
    values = LOT[:9] + [np.nan]
    row = one(score(answers("lot-r", values)), "total")
    assert row["score"] == pytest.approx(20.4) and row["n_items"] == 5
    # items 9 and 10 missing: 4 of 6 < 0.83 -> no score, but the count is reported
    values = LOT[:8] + [np.nan, np.nan]
    row = one(score(answers("lot-r", values)), "total")
    assert math.isnan(row["score"]) and row["n_items"] == 4
    # a looser rule given by the caller: 4/6 >= 0.5 -> mean(4,3,3,4) = 3.5 x 6 = 21
    row = one(score(answers("lot-r", values), min_answered=0.5), "total")
    assert row["score"] == pytest.approx(21.0)
    row = one(score(answers("lot-r", values), min_answered={"lot-r": 0.5}), "total")
    assert row["score"] == pytest.approx(21.0)


def test_missing_item_rows_and_nan_values_count_the_same():
    dropped = answers("lot-r", LOT[:9], items=range(1, 10))
    nan_value = answers("lot-r", LOT[:9] + [np.nan])
    a, b = score(dropped), score(nan_value)
    pd.testing.assert_frame_equal(a, b)


def test_wai_sr_item_means():
    values = [5, 4, 1, 2, 2, 3, 3, 4, 4, 3, 5, 2]  # items 1..12
    scores = score(answers("wai-sr", values, rater="coach"))
    # task 1,2,10,12: (5+4+3+2)/4 = 3.5; goal 4,6,8,11: (2+3+4+5)/4 = 3.5
    # bond 3,5,7,9: (1+2+3+4)/4 = 2.5; total 38/12
    assert one(scores, "task")["score"] == 3.5
    assert one(scores, "goal")["score"] == 3.5
    assert one(scores, "bond")["score"] == 2.5
    assert one(scores, "total")["score"] == pytest.approx(38 / 12)
    assert set(scores["rater"]) == {"coach"}
    assert list(scores["scale"]) == ["task", "goal", "bond", "total"]
    # goal item 11 missing: 3 of 4 answered -> (2+3+4)/3 = 3; total 33/11 = 3
    values[10] = np.nan
    scores = score(answers("wai-sr", values))
    assert one(scores, "goal")["score"] == 3.0 and one(scores, "goal")["n_items"] == 3
    assert one(scores, "total")["score"] == 3.0


def test_ahs_sums_without_fillers():
    values = [8, 7, 1, 6, 1, 5, 1, 4, 3, 2, 1, 1]  # fillers 3,5,7,11 answered 1
    scores = score(answers("ahs", values))
    # agency 2,9,10,12: 7+3+2+1 = 13; pathways 1,4,6,8: 8+6+5+4 = 23; total 36
    assert one(scores, "agency")["score"] == 13
    assert one(scores, "pathways")["score"] == 23
    assert one(scores, "total")["score"] == 36 and one(scores, "total")["n_items"] == 8


def test_srs_needs_every_line_by_default():
    row = one(score(answers("srs", [9.5, 9.0, np.nan, 8.5])), "total")
    assert math.isnan(row["score"]) and row["n_items"] == 3
    row = one(score(answers("srs", [9.5, 9.0, 9.2, 8.5])), "total")
    assert row["score"] == pytest.approx(36.2)


def test_ceq_z_sum():
    # Three respondents. Items 1,2,3,5 on 1-9; 4 and 6 on 0-100.
    # item columns: 1:[1,5,9] 2:[2,4,6] 3:[3,5,7] 4:[0,50,100] 5:[1,2,3] 6:[10,20,30]
    # each column is (mean - sd, mean, mean + sd) with the sample SD, so z = (-1, 0, 1);
    # credibility = z1+z2+z3 = (-3, 0, 3); expectancy = z4+z5+z6 = (-3, 0, 3).
    columns = {1: [1, 5, 9], 2: [2, 4, 6], 3: [3, 5, 7], 4: [0, 50, 100], 5: [1, 2, 3],
               6: [10, 20, 30]}
    frames = [answers("ceq", [columns[i][r] for i in range(1, 7)], engagement=f"e{r}")
              for r in range(3)]
    scores = score(pd.concat(frames, ignore_index=True))
    for scale in ("credibility", "expectancy"):
        got = scores.loc[scores["scale"] == scale, "score"].to_numpy()
        np.testing.assert_allclose(got, [-3, 0, 3], atol=1e-12)


def test_ceq_z_sum_prorated():
    # As above but respondent e0 skips item 3. Item 3 is then z-scored over (5, 7):
    # mean 6, sd sqrt(2) -> z = (NaN, -1/sqrt2, 1/sqrt2). e0's credibility is prorated:
    # mean(z1, z2) x 3 = mean(-1, -1) x 3 = -3 (2 of 3 answered >= 0.66).
    columns = {1: [1, 5, 9], 2: [2, 4, 6], 3: [np.nan, 5, 7], 4: [0, 50, 100],
               5: [1, 2, 3], 6: [10, 20, 30]}
    frames = [answers("ceq", [columns[i][r] for i in range(1, 7)], engagement=f"e{r}")
              for r in range(3)]
    scores = score(pd.concat(frames, ignore_index=True))
    got = scores.loc[scores["scale"] == "credibility", ["score", "n_items"]].to_numpy()
    np.testing.assert_allclose(got[:, 0], [-3, 0 - 1 / math.sqrt(2), 2 + 1 / math.sqrt(2)])
    np.testing.assert_array_equal(got[:, 1], [2, 3, 3])


def test_urica_subscale_means_and_readiness():
    # PC items answered 2, C 4, A 3, M 5, unscored items 1:
    # readiness = C + A + M - PC = 4 + 3 + 5 - 2 = 10, over 28 items
    level = {}
    urica = instruments.get("urica")
    for name, value in [("precontemplation", 2), ("contemplation", 4), ("action", 3),
                        ("maintenance", 5)]:
        for item in urica.scales[name].items:
            level[item] = value
    values = [level.get(i, 1) for i in range(1, 33)]
    scores = score(answers("urica", values))
    assert one(scores, "precontemplation")["score"] == 2
    assert one(scores, "maintenance")["score"] == 5
    assert one(scores, "readiness")["score"] == 10
    assert one(scores, "readiness")["n_items"] == 28
    # an action subscale with too few items (2 of 7) leaves readiness missing
    for item in (3, 7, 10, 14, 17):
        values[item - 1] = np.nan
    scores = score(answers("urica", values))
    assert math.isnan(one(scores, "action")["score"])
    assert math.isnan(one(scores, "readiness")["score"])
    assert one(scores, "readiness")["n_items"] == 23


def test_gas_tscore_by_hand():
    # ratings +1, 0, -1, +2: sum = 2, n = 4, divisor sqrt(0.7*4 + 0.3*16) = sqrt(7.6)
    # = 2.7568098; T = 50 + 10 * 2 / 2.7568098 = 50 + 7.2547625 = 57.2547625
    expected = 50 + 20 / math.sqrt(7.6)
    assert expected == pytest.approx(57.2547625, abs=1e-7)
    assert gas_tscore([1, 0, -1, 2]) == pytest.approx(expected, rel=1e-12)
    row = one(score(answers("gas", [1, 0, -1, 2], occasion="end")), "tscore")
    assert row["score"] == pytest.approx(expected, rel=1e-12) and row["n_items"] == 4
    # one goal at +2: divisor sqrt(0.7 + 0.3) = 1 -> T = 70; all at 0 -> T = 50
    assert one(score(answers("gas", [2])), "tscore")["score"] == pytest.approx(70)
    assert one(score(answers("gas", [0, 0, 0])), "tscore")["score"] == pytest.approx(50)
    # weights (1, 2), ratings (+1, -1): sum wx = -1; (0.7*5 + 0.3*9) = 6.2
    assert gas_tscore([1, -1], weights=[1, 2]) == pytest.approx(50 - 10 / math.sqrt(6.2))
    # goals 2 and 7 only (numbers need not be consecutive): +1, +1 -> 50 + 20/sqrt(2.6)
    row = one(score(answers("gas", [1, 1], items=[2, 7])), "tscore")
    assert row["score"] == pytest.approx(50 + 20 / math.sqrt(2.6))


def test_administrations_are_kept_apart_and_sorted():
    frames = [
        answers("ors", [5, 5, 5, 5], engagement="e2", occasion="session", session=2),
        answers("ors", [6, 6, 6, 6], engagement="e2", occasion="session", session=1),
        answers("ors", [4, 4, 4, 4], engagement="e2", occasion="intake"),
        answers("ors", [7, 7, 7, 7], engagement="e1", occasion="end"),
        answers("ors", [1, 1, 1, 1], engagement="e1", occasion="end", rater="coach"),
    ]
    scores = score(pd.concat(frames, ignore_index=True))
    assert scores["engagement_id"].tolist() == ["e1", "e1", "e2", "e2", "e2"]
    assert scores["rater"].tolist() == ["client", "coach", "client", "client", "client"]
    assert scores["occasion"].tolist() == ["end", "end", "intake", "session", "session"]
    assert scores["session"].tolist()[3:] == [1, 2]
    assert scores["score"].tolist() == [28, 4, 16, 24, 20]
    assert str(scores["session"].dtype) == "Int64"


def test_input_is_not_modified():
    frame = answers("lot-r", LOT)
    copy = frame.copy()
    score(frame)
    item_matrix(frame, "lot-r")
    pd.testing.assert_frame_equal(frame, copy)


def test_unknown_instrument_is_an_error_naming_it():
    frame = pd.concat([answers("lot-r", LOT), answers("bdi-ii", [1, 2])])
    with pytest.raises(DataError, match="'bdi-ii'.*register"):
        score(frame)


def test_selected_instruments_and_unregistered_instrument_objects():
    mine = instruments.parse_text("""
        key = "two-items"
        name = "Two items"
        citation = "None."
        licence = "Ours."
        factor = "client"
        n_items = 2
        reverse = [2]
        [response]
        min = 1
        max = 7
        [scales.total]
        items = [1, 2]
        rule = "sum"
    """)
    frame = pd.concat([answers("lot-r", LOT), answers("two-items", [6, 3])])
    scores = score(frame, instruments=[mine])
    assert scores["instrument"].tolist() == ["two-items"]
    assert scores["score"].tolist() == [6 + (8 - 3)]
    assert score(frame, instruments="lot-r")["instrument"].tolist() == ["lot-r"]


def test_items_the_instrument_lacks_and_duplicates_are_errors():
    with pytest.raises(DataError, match="item 11 is not an item of 'lot-r'"):
        score(answers("lot-r", LOT + [2]))
    twice = pd.concat([answers("srs", [5, 5, 5, 5]), answers("srs", [6], items=[2])])
    with pytest.raises(DataError, match="answered more than once"):
        score(twice)


def test_missing_columns_and_bad_options():
    with pytest.raises(DataError, match="no column 'value'"):
        score(answers("lot-r", LOT).drop(columns="value"))
    with pytest.raises(UsageError, match="min_answered"):
        score(answers("lot-r", LOT), min_answered=1.5)
    with pytest.raises(UsageError):
        score([1, 2, 3])


def test_empty_responses_give_an_empty_scores_table():
    empty = answers("lot-r", LOT).iloc[:0]
    scores = score(empty)
    assert scores.empty and list(scores.columns) == list(COLUMNS)


def test_item_matrix_is_keyed_and_wide():
    wide = item_matrix(answers("lot-r", LOT), "lot-r")
    assert list(wide.columns) == [1, 3, 4, 7, 9, 10]
    assert wide.iloc[0].tolist() == [4, 3, 3, 4, 3, 3]
    raw = item_matrix(answers("lot-r", LOT), "lot-r", reverse=False)
    assert raw.iloc[0].tolist() == [4, 1, 3, 0, 1, 3]
    assert list(wide.index.names) == ["engagement_id", "occasion", "session", "rater"]


def test_reverse_key():
    np.testing.assert_array_equal(reverse_key(np.array([1.0, 5.0, 3.0]), 1, 5), [5, 1, 3])


def test_gas_tscore_refuses_a_level_outside_minus_two_to_two():
    from outcomes._errors import DataError

    with pytest.raises(DataError, match="3 is not a goal attainment level"):
        gas_tscore([1, 3])
