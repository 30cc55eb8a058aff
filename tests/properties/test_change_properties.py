"""Invariants of reliable change: units, direction, row order, and nobody dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.practice.change import METHODS, change

scores = st.floats(min_value=0, max_value=40, allow_nan=False, allow_infinity=False)


@st.composite
def samples(draw):
    n = draw(st.integers(min_value=4, max_value=30))
    pre = draw(st.lists(scores, min_size=n, max_size=n))
    post = draw(st.lists(scores | st.just(np.nan), min_size=n, max_size=n))
    frame = pd.DataFrame({"pre": pre, "post": post})
    complete = frame.dropna()
    if len(complete) < 3 or complete["pre"].std() < 0.5:
        frame.loc[0:3, ["pre", "post"]] = [[1.0, 2.0], [9.0, 10.0], [20.0, 15.0], [30.0, 33.0]]
    return frame


reliability = st.floats(min_value=0.3, max_value=0.95)
method = st.sampled_from(METHODS)


@settings(max_examples=60, deadline=None)
@given(samples(), reliability, method, st.floats(-50, 50), st.floats(0.1, 10))
def test_indices_do_not_depend_on_the_units(data, r, how, shift, scale):
    base = change(data, pre="pre", post="post", reliability=r, method=how)
    moved = change(data * scale + shift, pre="pre", post="post", reliability=r, method=how)
    np.testing.assert_allclose(moved.table()["rci"], base.table()["rci"], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(moved.effect_sizes["estimate"], base.effect_sizes["estimate"],
                               rtol=1e-6, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(samples(), reliability, method)
def test_reversing_the_scale_and_the_direction_changes_nothing(data, r, how):
    up = change(data, pre="pre", post="post", reliability=r, method=how, cutoff=20)
    down = change(40 - data, pre="pre", post="post", reliability=r, method=how, cutoff=20,
                  higher_is_better=False)
    assert up.table()["category"].tolist() == down.table()["category"].tolist()
    np.testing.assert_allclose(up.effect_sizes["estimate"], down.effect_sizes["estimate"],
                               rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(samples(), reliability, method, st.randoms(use_true_random=False))
def test_every_client_is_counted_once_whatever_the_row_order(data, r, how, random):
    result = change(data, pre="pre", post="post", reliability=r, method=how)
    assert len(result.table()) == len(data) == int(result.counts.sum())
    assert int(result.counts["missing"]) == int(data.isna().any(axis=1).sum())
    order = list(data.index)
    random.shuffle(order)
    shuffled = change(data.loc[order], pre="pre", post="post", reliability=r, method=how)
    a = result.table().set_index("client")["category"]
    b = shuffled.table().set_index("client")["category"].loc[a.index]
    assert a.tolist() == b.tolist()


@settings(max_examples=40, deadline=None)
@given(samples(), reliability)
def test_higher_reliability_never_makes_fewer_clients_reliably_change(data, r):
    low = change(data, pre="pre", post="post", reliability=r)
    high = change(data, pre="pre", post="post", reliability=min(0.99, r + 0.04))
    unchanged = (low.table()["category"] == "unchanged").sum()
    assert (high.table()["category"] == "unchanged").sum() <= unchanged
