"""Invariants of scoring, checked on generated responses."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes import instruments
from outcomes.measures.scoring import item_matrix, reverse_key, score

KEYS = ["lot-r", "wai-sr", "urica", "gas", "srs", "ceq", "ahs", "mspss"]
SUM_KEYS = ["lot-r", "ahs", "gse", "srs", "ors"]
ADMINISTRATIONS = [("intake", None), ("session", 1), ("session", 2), ("end", None),
                   ("followup", None)]


def _values(instrument, rng, size):
    """Answers within each item's range (steps of 10 where the item has them)."""
    out = np.empty((size, instrument.n_items))
    for j, item in enumerate(instrument.items):
        found = instrument.range_of(item)
        step = found.step or 1
        levels = np.arange(found.min, found.max + step / 2, step)
        out[:, j] = rng.choice(levels, size=size)
        if found.decimals:
            out[:, j] = np.clip(out[:, j] + rng.choice([0, 0.3, 0.7], size=size),
                                found.min, found.max)
    return out


def generate(keys, n_engagements, missing, seed, *, raters=("client",)):
    rng = np.random.default_rng(seed)
    frames = []
    for key in keys:
        instrument = instruments.get(key)
        for e in range(n_engagements):
            chosen = rng.choice(len(ADMINISTRATIONS), size=rng.integers(1, 3), replace=False)
            for index in chosen:
                occasion, session = ADMINISTRATIONS[index]
                rater = raters[rng.integers(len(raters))]
                values = _values(instrument, rng, 1)[0]
                values[rng.random(instrument.n_items) < missing] = np.nan
                frames.append(pd.DataFrame({
                    "engagement_id": f"e{e}", "occasion": occasion,
                    "session": pd.array([session] * instrument.n_items, dtype="Int64"),
                    "instrument": key, "item": list(instrument.items), "value": values,
                    "rater": rater,
                }))
    return pd.concat(frames, ignore_index=True)


@st.composite
def responses(draw):
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True))
    return generate(keys, draw(st.integers(1, 4)), draw(st.sampled_from([0.0, 0.1, 0.4])),
                    draw(st.integers(0, 2**32 - 1)), raters=("client", "coach"))


@settings(max_examples=40, deadline=None)
@given(data=responses(), order=st.randoms(use_true_random=False))
def test_scores_do_not_depend_on_row_or_column_order(data, order):
    rows = list(range(len(data)))
    order.shuffle(rows)
    columns = list(data.columns)
    order.shuffle(columns)
    shuffled = data.iloc[rows][columns]
    pd.testing.assert_frame_equal(score(data), score(shuffled), check_exact=False,
                                  rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(data=responses())
def test_one_row_per_administration_and_scale(data):
    scores = score(data)
    keys = ["engagement_id", "occasion", "session", "instrument", "rater"]
    administrations = data.assign(session=data["session"].astype("Int64"))[keys]
    administrations = administrations.drop_duplicates()
    expected = sum(len(instruments.get(k).scales) for k in administrations["instrument"])
    assert len(scores) == expected
    assert not scores.duplicated(keys + ["scale"]).any()
    assert (scores["n_items"] >= 0).all()


@given(st.sampled_from(KEYS), st.data())
def test_reverse_keying_twice_is_identity(key, data):
    instrument = instruments.get(key)
    item = data.draw(st.sampled_from(instrument.items))
    low, high = instrument.item_range(item)
    values = np.array(data.draw(st.lists(st.integers(int(low), int(high)), min_size=1)),
                      dtype=float)
    np.testing.assert_array_equal(reverse_key(reverse_key(values, low, high), low, high),
                                  values)
    within = reverse_key(values, low, high)
    assert ((within >= low) & (within <= high)).all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5))
def test_keyed_matrix_reversed_again_is_the_raw_matrix(seed, n):
    data = generate(["lot-r"], n, 0.2, seed)
    lot = instruments.get("lot-r")
    keyed = item_matrix(data, lot).copy()
    for item in lot.reverse:
        keyed[item] = reverse_key(keyed[item], *lot.item_range(item))
    pd.testing.assert_frame_equal(keyed, item_matrix(data, lot, reverse=False))


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(SUM_KEYS), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5))
def test_prorated_sum_equals_plain_sum_when_all_items_answered(key, seed, n):
    instrument = instruments.get(key)
    data = generate([key], n, 0.0, seed)
    scores = score(data).set_index(["engagement_id", "occasion", "session", "scale"])
    for (engagement, occasion, session), rows in data.groupby(
            ["engagement_id", "occasion", "session"], dropna=False):
        values = dict(zip(rows["item"], rows["value"], strict=True))
        for name, scale in instrument.scales.items():
            plain = sum(
                reverse_key(values[i], *instrument.item_range(i)) if i in instrument.reverse
                else values[i]
                for i in scale.items)
            got = scores.loc[(engagement, occasion, session, name)]
            assert abs(got["score"] - plain) < 1e-9
            assert got["n_items"] == len(scale.items)
