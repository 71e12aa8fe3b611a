"""Declared experiments as YAML: what is accepted, and errors that name the line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.errors import InputFileError
from oversight.experiments import load_experiment
from oversight.schemas import Experiment, ScriptedReviewer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "experiments" / "assistance.yaml"


def test_the_readme_example_declares_a_randomised_assistance_ablation() -> None:
    experiment = load_experiment(EXAMPLE)
    assert experiment.design == "randomised" and experiment.sample == 24 and experiment.seed == 7
    assert [c.name for c in experiment.conditions] == ["unassisted", "assisted"]
    assert [c.arm for c in experiment.conditions] == ["critique_hidden", "critique_shown"]
    assert isinstance(experiment.reviewer, ScriptedReviewer) and experiment.reviewer.p_assisted == 0.7
    assert (EXAMPLE.parent / experiment.tasks.file).is_file()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_value_is_named_by_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "name: ok\nreviewer:\n  policy: catches\n  p: 1.5\nconditions:\n  - name: a\n")
    with pytest.raises(InputFileError) as caught:
        load_experiment(path)
    assert (caught.value.line, caught.value.field) == (4, "reviewer.p")
    assert str(caught.value).startswith(f"{path}:4: field 'reviewer.p'")


def test_an_unknown_key_in_a_condition_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "name: ok\nconditions:\n  - name: a\n  - name: b\n    critque: hidden\n")
    with pytest.raises(InputFileError) as caught:
        load_experiment(path)
    assert (caught.value.line, caught.value.field) == (5, "conditions.1.critque")


def test_yaml_that_does_not_parse_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as caught:
        load_experiment(write(tmp_path, "name: ok\nconditions: [\n  - a: b\n"))
    assert caught.value.line is not None and "not valid YAML" in caught.value.message


@pytest.mark.parametrize(("extra", "problem"), [
    ("conditions: [{name: a}, {name: a}]\nreviewer: {policy: catches}\n", "a twice"),
    ("conditions: [{name: a}]\nmeasures: [caught]\nreviewer: {policy: catches}\n", "need errors to plant"),
    ("conditions: [{name: a}]\nmeasures: [flagged]\n", "needs a reviewer"),
    ("conditions: [{name: a}]\n", "nothing to measure"),
    ("conditions: [{name: a}]\ndesign: randomised\nmeasures: [agreement]\nreviewer: {policy: catches}\n",
     "needs design 'paired'"),
])
def test_a_design_that_cannot_measure_what_it_asks_is_refused(tmp_path: Path, extra: str, problem: str) -> None:
    with pytest.raises(InputFileError) as caught:
        load_experiment(write(tmp_path, "name: ok\n" + extra))
    assert problem in caught.value.message


def test_defaults_measure_what_the_design_can() -> None:
    planted = Experiment(name="e", conditions=[{"name": "a"}], plant=["wrong_number"],
                         reviewer={"policy": "catches"})
    assert planted.measures == ["caught", "flagged", "seconds"]
    checked = Experiment(name="e", conditions=[{"name": "a"}], recurrence={"check": {"kind": "max_words", "value": 1}})
    assert checked.measures == ["recurrence"]


def test_the_key_changes_with_what_makes_the_items_and_not_with_the_description() -> None:
    base = {"name": "e", "conditions": [{"name": "a"}], "reviewer": {"policy": "catches"}}
    a = Experiment.model_validate(base)
    assert a.key == Experiment.model_validate({**base, "description": "other words"}).key
    assert a.key != Experiment.model_validate({**base, "seed": 1}).key
    assert a.key != Experiment.model_validate({**base, "conditions": [{"name": "a", "critique": "hidden"}]}).key
