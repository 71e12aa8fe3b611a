"""The mine quality bench chooses its knobs honestly: each set is scored under knobs chosen on the
other sets alone (and sets of one source are held out together)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    module = importlib.import_module("bench_mine_quality")
    yield module
    for name in ("bench_mine_quality", "bench_mine_common"):
        sys.modules.pop(name, None)


TOY = {  # set -> knobs -> score; each set's own best differs from what the others prefer
    "a": {"x": 0.9, "y": 0.1, "z": 0.0},
    "b": {"x": 0.0, "y": 0.5, "z": 0.4},
    "c": {"x": 0.0, "y": 0.5, "z": 0.6},
}


def test_each_set_is_scored_under_knobs_chosen_on_the_others_only(bench) -> None:
    folds = bench.loso_select(TOY)
    # a: b and c tie on y and z (0.5); the earlier wins. Its own favourite x (0.9) is not chosen.
    assert folds["a"]["knobs"] == "y" and folds["a"]["score"] == 0.1 and folds["a"]["chosen_on"] == ["b", "c"]
    assert folds["a"]["train_mean"] == pytest.approx(0.5)
    assert (folds["b"]["knobs"], folds["b"]["score"]) == ("x", 0.0)  # a's 0.9 outweighs c's 0.6 on z
    assert (folds["c"]["knobs"], folds["c"]["score"]) == ("x", 0.0)
    for held in TOY:  # whatever a set scores itself, its fold chooses the same
        flipped = {**TOY, held: {k: 1.0 - v for k, v in TOY[held].items()}}
        assert bench.loso_select(flipped)[held]["knobs"] == folds[held]["knobs"]


def test_sets_of_one_source_are_held_out_together(bench) -> None:
    table = {**TOY, "a2": {"x": 1.0, "y": 0.0, "z": 0.0}}  # a's twin, which would pull a's fold to x
    assert bench.loso_select(table)["a"]["knobs"] == "x"
    folds = bench.loso_select(table, {"a": "A", "a2": "A"})
    assert folds["a"]["knobs"] == "y" and folds["a"]["chosen_on"] == ["b", "c"]
    assert folds["a2"]["chosen_on"] == ["b", "c"] and folds["b"]["chosen_on"] == ["a", "c", "a2"]


def test_the_all_sets_choice_is_the_best_mean(bench) -> None:
    assert bench.best_knobs(TOY, list(TOY)) == ("y", pytest.approx(1.1 / 3))
    with pytest.raises(ValueError, match="no set"):
        bench.best_knobs(TOY, [])


def test_the_knob_grid_holds_the_library_defaults(bench) -> None:
    from oversight.mine.cluster import ClusterParams
    from oversight.mine.represent import RepresentParams

    defaults = bench.Knobs.defaults()
    assert defaults.represent() == RepresentParams() and defaults.cluster() == ClusterParams()
    grid = bench.knob_grid([1.0, 1.5, 2.0], [1, 2, 3, 4], [0, 0.5, 1], [0, 0.5], [0, 0.5],
                           [(100, 10), (100, 20), (200, 10), (50, 20)])
    assert len(grid) == len(set(grid)) == 576 and defaults in grid
    assert {k.weights for k in grid} >= {defaults.weights, (1.0, 2, 0.5, 0.5, 0.0), (1.0, 2, 0.5, 0.0, 0.5)}


def test_knobs_saved_before_a_weight_existed_read_back_with_it_at_zero(bench) -> None:
    old = {"lexical_weight": 1.5, "edit_shape_weight": 2.0, "removed_words_weight": 0.5,
           "notes_per_pattern": [100, 10]}
    knobs = bench.Knobs.from_json(old)
    assert knobs.weights == (1.5, 2.0, 0.5, 0.0, 0.0) and knobs.notes_per_pattern == (100, 10)
    assert bench.Knobs.from_json(knobs.as_json()) == knobs


def test_the_tfidf_baseline_is_told_the_number_of_categories(bench) -> None:
    texts = [f"{word} {word} note {i}" for i, word in enumerate(["tense", "cliche", "verbose"] * 6)]
    labels = bench.tfidf_kmeans(texts, 3, seed=0)
    assert len(set(labels)) == 3 and len(labels) == len(texts)
