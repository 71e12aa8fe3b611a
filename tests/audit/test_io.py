"""Reading judgment files: canonical fields, --map, choice spellings, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.audit import PairwiseJudgment, PointwiseJudgment, normalise_choice, parse_mapping, read_judgments
from oversight.errors import ConfigError, InputFileError


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _pair(**over: object) -> dict:
    row = {
        "id": "p1",
        "prompt": "Q?",
        "response_a": "short",
        "response_b": "a longer answer",
        "annotator": "ann1",
        "choice": "a",
    }
    row.update(over)
    return row


def test_reads_canonical_pairwise_jsonl_with_gold_and_metadata(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "j.jsonl", [_pair(gold="b", metadata={"batch": 3}, source="vendor"), _pair(annotator="x")])
    got = read_judgments(path)
    assert len(got) == 2 and all(isinstance(j, PairwiseJudgment) for j in got)
    first = got[0]
    assert isinstance(first, PairwiseJudgment)
    assert (first.choice, first.gold) == ("a", "b")
    assert first.metadata == {"batch": 3, "source": "vendor"}  # unknown columns kept as metadata


def test_csv_with_column_mapping_and_choice_spellings(tmp_path: Path) -> None:
    path = tmp_path / "j.csv"
    path.write_text(
        "qid,question,r1,r2,rater,label,expert\n1,Q1,aa,bb,ann1,1,2\n2,Q2,aa,bb,ann1,B,\n3,Q3,aa,bb,ann1,0,a\n",
        encoding="utf-8",
    )
    mapping = parse_mapping(
        [
            "id=qid",
            "prompt=question",
            "response_a=r1",
            "response_b=r2",
            "annotator=rater",
            "choice=label",
            "gold=expert",
        ]
    )
    got = read_judgments(path, mapping)
    assert [(j.id, j.choice, j.gold) for j in got] == [("1", "a", "b"), ("2", "b", None), ("3", "tie", "a")]  # type: ignore[union-attr]


def test_pointwise_score_and_label(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": "1", "item": "x", "annotator": "a1", "score": 4, "gold": 5},
            {"id": "2", "item": "x", "annotator": "a2", "score": "3.5"},
        ],
    )
    got = read_judgments(path)
    assert all(isinstance(j, PointwiseJudgment) for j in got)
    assert [j.value for j in got] == [4.0, 3.5]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("rows", "line", "field", "words"),
    [
        ([_pair(), _pair(annotator="b", choice="maybe")], 2, "choice", "expected a, b or tie"),
        ([_pair(), {k: v for k, v in _pair(annotator="c").items() if k != "response_b"}], 2, "response_b", "missing"),
        ([_pair(), _pair(gold="tie")], 2, "gold", "expected a or b"),
        ([_pair(), _pair()], 2, "annotator", "duplicate judgment"),
        ([_pair(annotator="")], 1, "annotator", "at least 1 character"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path: Path, rows: list[dict], line: int, field: str, words: str) -> None:
    path = _jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(InputFileError) as caught:
        read_judgments(path)
    error = caught.value
    assert (error.line, error.field) == (line, field)
    assert words in error.message
    assert str(error).startswith(f"{path}:{line}: field '{field}'")


def test_bad_json_line_and_mapped_column_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_pair()) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"bad.jsonl:2: not valid JSON"):
        read_judgments(path)
    mapped = _jsonl(tmp_path / "m.jsonl", [{**_pair(), "verdict": "x"}])
    with pytest.raises(InputFileError) as caught:
        read_judgments(mapped, ["choice=verdict"])
    assert caught.value.field == "verdict"  # the user's column, not ours


def test_pointwise_needs_exactly_one_of_score_or_label(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "p.jsonl", [{"id": "1", "item": "x", "annotator": "a", "score": 1, "label": "good"}])
    with pytest.raises(InputFileError, match="exactly one of score or label"):
        read_judgments(path)
    bad_score = _jsonl(tmp_path / "q.jsonl", [{"id": "1", "item": "x", "annotator": "a", "score": "high"}])
    with pytest.raises(InputFileError, match=r"q.jsonl:1: field 'score': expected a number"):
        read_judgments(bad_score)


def test_empty_missing_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no judgments"):
        read_judgments(tmp_path / "empty.jsonl")
    with pytest.raises(InputFileError, match="no such file"):
        read_judgments(tmp_path / "absent.jsonl")
    (tmp_path / "j.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputFileError, match="unknown file type"):
        read_judgments(tmp_path / "j.txt")
    neither = _jsonl(tmp_path / "n.jsonl", [{"id": "1", "annotator": "a"}])
    with pytest.raises(InputFileError, match="field 'response_a'"):
        read_judgments(neither)


def test_csv_line_numbers_count_the_header(tmp_path: Path) -> None:
    path = tmp_path / "j.csv"
    path.write_text("id,prompt,response_a,response_b,annotator,choice\n1,Q,a,b,x,a\n2,Q,a,b,x,c\n", encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        read_judgments(path)
    assert (caught.value.line, caught.value.field) == (3, "choice")


def test_mapping_errors() -> None:
    with pytest.raises(ConfigError, match="unknown field 'verdict'"):
        parse_mapping(["verdict=label"])
    with pytest.raises(ConfigError, match="FIELD=COLUMN"):
        parse_mapping(["choice"])


@pytest.mark.parametrize(
    ("raw", "want"), [("A", "a"), (1, "a"), (2.0, "b"), ("model_b", "b"), (0, "tie"), ("Tie", "tie")]
)
def test_choice_spellings(raw: object, want: str) -> None:
    assert normalise_choice(raw) == want


def test_choice_rejects_booleans_and_ties_where_not_allowed() -> None:
    with pytest.raises(ValueError):
        normalise_choice(True)
    with pytest.raises(ValueError):
        normalise_choice("tie", allow_tie=False)


def test_public_api_resolves_lazily() -> None:
    import oversight.audit as audit_api
    import oversight.audit.style as style

    assert audit_api.__all__ == sorted(audit_api.__all__) and "read_judgments" in audit_api.__all__
    for name in audit_api.__all__:
        assert getattr(audit_api, name) is not None
    assert audit_api.fit_style is style.fit_style and audit_api.StyleModel.__module__.startswith("oversight.schemas")
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        audit_api.nothing_here  # noqa: B018
