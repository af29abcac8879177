"""Every interval the package draws is a valid error bar (never negative, always inside [0, 1]
for rates) -- a property test over hit counts, class counts and seeds.

Before the shared helpers, ``plot_lottery`` computed ``rate - (centre - half)`` by hand: at a hit
rate of exactly 0 or 1 rounding made it about -1e-17 (e.g. 6 hits of 6, 0 of 11), and
matplotlib refused the figure ("'yerr' must not contain negative values") after a whole
``mrp multiview compare --seeds 4`` run.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrptheory.experiments.multiview.figures import plot_lottery
from mrptheory.experiments.subspace.figures import plot_subspace_accuracy, plot_subspace_budget
from mrptheory.plots.style import error_bar, wilson_interval


@st.composite
def hit_counts(draw):
    """(hits, counts) per bin: counts in [0, 400] (0 = an empty bin), hits in [0, count]."""
    counts = draw(st.lists(st.integers(0, 400), min_size=1, max_size=8))
    hits = [draw(st.integers(0, c)) for c in counts]
    return np.array(hits), np.array(counts)


@given(hit_counts())
@settings(max_examples=300, deadline=None)
def test_wilson_interval_contains_the_rate_and_stays_in_0_1(hc):
    hits, counts = hc
    rate, lo, hi = wilson_interval(hits, counts)
    full = counts > 0
    assert np.all(np.isnan(rate[~full]) & np.isnan(lo[~full]) & np.isnan(hi[~full]))
    assert np.all((0 <= lo[full]) & (lo[full] <= rate[full]) & (rate[full] <= hi[full])
                  & (hi[full] <= 1))
    bars = error_bar(rate, lo, hi)
    assert bars.shape == (2, len(counts)) and np.all(bars >= 0) and np.all(np.isfinite(bars))


@pytest.mark.parametrize("hits,counts", [(6, 6), (0, 11), (21, 21), (0, 22)])
def test_wilson_rounding_cases_that_crashed_the_lottery_figure(hits, counts):
    rate, lo, hi = wilson_interval([hits], [counts])
    assert np.all(error_bar(rate, lo, hi) >= 0)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=6))
@settings(max_examples=200, deadline=None)
def test_min_max_bars_around_a_mean_are_never_negative(values):
    """The subspace figures draw mean +- (min, max) over seeds: the float mean of equal values can
    lie a rounding error above their max."""
    v = 100 * np.asarray(values)
    assert np.all(error_bar([v.mean()], [v.min()], [v.max()]) >= 0)


def _lottery_payload(hits, counts, n_seeds):
    rng = np.random.default_rng(n_seeds)
    edges = [1.0, 1.1, 1.25, 1.5, 2.0, float("inf")][:len(counts) + 1]
    while len(edges) < len(counts) + 1:
        edges.insert(-1, edges[-2] + 1.0)
    return {"figure_kind": "multiview_lottery", "seeds": list(range(n_seeds)),
            "hit_rate_all": rng.uniform(0, 1, n_seeds).tolist(), "chance": 0.5,
            "resolution": {"edges": edges, "hits": list(map(int, hits)),
                           "counts": list(map(int, counts))}}


@given(hit_counts(), st.integers(1, 8))
@settings(max_examples=8, deadline=None)  # each example draws a figure (~0.8 s)
def test_lottery_figure_draws_for_any_hit_counts(tmp_path_factory, hc, n_seeds):
    hits, counts = hc
    out = tmp_path_factory.mktemp("lottery")
    [path] = plot_lottery(_lottery_payload(hits, counts, n_seeds), out)
    assert path.stat().st_size > 0


def test_lottery_figure_at_a_full_hit_rate(tmp_path):
    """6 of 6 and 0 of 11: the rounding cases of the issue."""
    [path] = plot_lottery(_lottery_payload([6, 0, 21], [6, 11, 21], 4), tmp_path)
    assert path.exists()


def test_subspace_figures_draw_when_the_mean_rounds_above_the_max(tmp_path):
    acc = 0.1  # mean of three 0.1s is 0.10000000000000002 > 0.1
    mean = float(np.mean([acc] * 3))
    assert mean > acc
    rows = [{"arch": "mlp", "part": p, "variance_share": s, "mean": mean, "min": acc, "max": acc,
             "n_seeds": 3, "dims": 5, "cut": s} for p, s in (("top", 0.9), ("bottom", 0.2))]
    assert plot_subspace_accuracy({"summary": rows, "dataset": "x"}, tmp_path)
    budget = [{"arch": "mlp", "epochs": 1, "train_size": 100, "top90_mean": mean,
               "bottom20_mean": mean, "top90": [acc] * 3, "bottom20": [acc] * 3, "n_seeds": 3}]
    assert plot_subspace_budget({"summary": budget, "dataset": "x"}, tmp_path)
