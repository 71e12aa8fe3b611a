"""Patterns follow the failure, not the subject: masking and centring within each subject.

The notes below are about twelve different questions and show two failures each. Embedded
raw, the topic of each question is most of what a note says; the miner must still put the
same failure about different questions together, and the two failures about one question apart.
"""

from __future__ import annotations

import numpy as np
import pytest

from oversight.mine.cluster import cluster_embeddings
from oversight.mine.miner import mine
from oversight.mine.represent import centre_by_subject, mask_notes, mask_text, represent_notes, single_subject_words
from oversight.schemas import FailureNote

SUBJECTS = {
    "q1": "the Battle of Bull Run and General Beauregard's Confederate army in Virginia",
    "q2": "the Star-Spangled Banner, Francis Scott Key and the Anacreontic Society song",
    "q3": "Ben & Jerry's ice cream factory in Waterbury, Vermont",
    "q4": "the orbit of Jupiter's moon Europa and its frozen ocean",
    "q5": "Mount Everest, the Khumbu Icefall and Sherpa climbing permits",
    "q6": "the French Revolution, Robespierre and the Reign of Terror",
    "q7": "photosynthesis in chloroplasts and the Calvin cycle",
    "q8": "the Great Barrier Reef, coral bleaching and Queensland",
    "q9": "Beethoven's Ninth Symphony and its choral finale",
    "q10": "the Apollo 11 landing, Neil Armstrong and the Sea of Tranquility",
    "q11": "the Roman aqueducts of Segovia and concrete engineering",
    "q12": "Marie Curie, polonium and her two Nobel prizes",
}
TOO_LONG = "The answer about {} runs to three paragraphs although the question asked for a single word."
UNSUPPORTED = "The answer about {} states a detail the passage never mentions, presented as if it were sourced."


def two_failures_per_subject() -> tuple[list[FailureNote], list[str]]:
    notes, truth = [], []
    for subject, topic in SUBJECTS.items():
        for failure, template in (("too_long", TOO_LONG), ("unsupported", UNSUPPORTED)):
            text = template.format(topic)
            notes.append(FailureNote(id=f"n-{subject}-{failure}", text=text, source="import",
                                     metadata={"subject": subject}))
            truth.append(failure)
    return notes, truth


def groups(labels: np.ndarray, truth: list[str]) -> set[frozenset[str]]:
    """The failures each cluster holds (noise as its own group)."""
    out: dict[int, set[str]] = {}
    for label, failure in zip(labels, truth, strict=True):
        out.setdefault(int(label), set()).add(failure)
    return {frozenset(v) for v in out.values()}


async def test_the_same_failure_about_different_subjects_is_one_pattern(tmp_store, embedder) -> None:
    notes, truth = two_failures_per_subject()
    tmp_store.save_notes(notes)
    result = await mine(tmp_store, names="keywords", embedder=embedder)
    by_id = {n.id: failure for n, failure in zip(notes, truth, strict=True)}
    assert [sorted({by_id[i] for i in p.member_ids}) for p in result.patterns] == [["too_long"], ["unsupported"]] \
        or [sorted({by_id[i] for i in p.member_ids}) for p in result.patterns] == [["unsupported"], ["too_long"]]
    assert sorted(p.size for p in result.patterns) == [12, 12] and result.run.noise == 0
    # Each pattern holds all twelve subjects: two subjects with the same failure share a pattern,
    # one subject with two failures is in two.
    for pattern in result.patterns:
        assert {i.split("-")[1] for i in pattern.member_ids} == set(SUBJECTS)
    # The names come from the failure's words, never from one subject's.
    for pattern in result.patterns:
        assert not set(pattern.name.replace("/", " ").split()) & {"jupiter", "everest", "beethoven", "curie"}


async def test_without_the_subject_taken_out_the_topic_wins(embedder) -> None:
    """The control: the same notes embedded raw do not separate the two failures cleanly,
    so the test above measures the representation, not easy data."""
    notes, truth = two_failures_per_subject()
    raw = await embedder.embed([n.text for n in notes])
    labels = cluster_embeddings(np.asarray(raw)).labels
    assert groups(labels, truth) != {frozenset({"too_long"}), frozenset({"unsupported"})}


async def test_representation_masks_and_centres(tmp_store, embedder) -> None:
    notes, _ = two_failures_per_subject()
    texts, vectors = await represent_notes(tmp_store, notes, embedder)
    assert texts[0] == ("The answer about the X and X X in X runs to three paragraphs although the question "
                        "asked for a single word.")
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the two notes of a subject point away from each other once their shared topic is gone
    raw = np.asarray(await embedder.embed(texts))
    assert float(vectors[0] @ vectors[1]) < float(raw[0] @ raw[1])


def test_mask_text() -> None:
    assert mask_text('It said "Paris is in Germany" in 1999, citing Victor Hugo.') == (
        'It said "…" in N, citing X.')
    assert mask_text("The ending felt rushed.", {"ending"}) == "The X felt rushed."


def test_subject_words_need_enough_subjects() -> None:
    few = [FailureNote(id=f"n{i}", text=f"Too long, about {w}.", source="import", metadata={"subject": f"s{i}"})
           for i, w in enumerate(["Rome", "Oslo", "Lima"])]
    # three subjects cannot tell a subject's words from a rare failure word: only names are masked
    assert mask_notes(few)[1] == "Too long, about X."
    assert mask_notes([FailureNote(id="a", text="too wordy here", source="import", metadata={"subject": "s"})]) == [
        "too wordy here"]


def test_a_subjects_own_task_words_are_masked() -> None:
    note = FailureNote(id="n", text="Says the anthem was written in 1814 by a poet.", source="rationale", task_id="t1")
    other = FailureNote(id="m", text="Too long for a one word answer.", source="rationale", task_id="t2")
    sources = {"t1": "Who wrote the national anthem? The anthem was written by a lawyer.",
               "t2": "What is the capital of Peru? Lima."}
    masked = mask_notes([note, other], sources)
    assert masked[0] == "Says the X was X in N by a poet."
    assert masked[1] == "Too long for a one word answer."


def test_single_subject_words() -> None:
    texts = ["The anthem is long.", "The anthem is wrong.", "Too long.", "Unrelated words."]
    assert single_subject_words(texts, ["a", "a", "b", None]) == {"anthem", "wrong"}


def test_centring_leaves_lonely_and_subjectless_notes_alone() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(4, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    out = centre_by_subject(vectors, ["a", "a", "b", None])
    assert np.allclose(out[2:], vectors[2:])
    assert not np.allclose(out[:2], vectors[:2])
    with pytest.raises(ValueError):
        centre_by_subject(vectors, ["a"])


def test_lexical_vectors_carry_shared_failure_words_and_need_enough_notes() -> None:
    from oversight.mine.represent import combine, lexical_vectors

    assert lexical_vectors(["too long", "too long", "too long"], [None] * 3) is None  # fewer than four notes
    assert lexical_vectors(["alpha", "beta", "gamma", "delta"], [None] * 4) is None  # no word in three notes
    texts = ["the verb tense is wrong", "wrong verb tense used", "verb tense wrong, should be past",
             "the document does not mention it", "the source document does not mention this",
             "no mention in the source document"]
    lexical = lexical_vectors(texts, [f"s{i}" for i in range(6)])
    assert lexical is not None and lexical.shape[0] == 6
    similarity = lexical @ lexical.T
    assert similarity[0, 1] > similarity[0, 3] and similarity[3, 4] > similarity[3, 0]
    both = combine(np.eye(6, 8, dtype=np.float32), lexical)
    assert both.shape == (6, 8 + lexical.shape[1])
    assert np.allclose(np.linalg.norm(both, axis=1), 1.0, atol=1e-5)


def test_identical_notes_have_no_lexical_part_and_raise_no_warning() -> None:
    import warnings

    from oversight.mine.represent import lexical_vectors

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lexical_vectors(["far too long for the question"] * 6, [None] * 6) is None


def test_names_are_masked_whole_and_nothing_after_them() -> None:
    """A particle of a name ("de", "of", "the") is masked only inside the name: "Jackson's death" kept
    "Xath" once, and "asked Jackson the question" must not lose its "the"."""
    assert mask_text("caused Jackson's death based on it") == "caused X death based on it"
    assert mask_text("met Charles de Gaulle in Paris") == "met X in X"
    assert mask_text("asked Jackson the question") == "asked X the question"
    assert mask_text("went to the Bank of England today") == "went to the X today"


def edit_note(key: str, before: str, after: str, subject: str | None = None) -> FailureNote:
    return FailureNote(id=key, text=f"Edited: {before!r} to {after!r}", source="edit",
                       metadata={"edit": {"op": "replace", "before": before, "after": after},
                                 **({"subject": subject} if subject else {})})


SWAPS = [edit_note("s1", "a testament to her courage", "proof she was brave", "story-1"),
         edit_note("s2", "a testament to his patience", "proof he could wait", "story-2"),
         edit_note("s3", "a testament to their love", "proof they cared", "story-3"),
         edit_note("a1", "", ", the smell of diesel and wet rope", "story-1"),
         edit_note("a2", "", ", the smell of burnt sugar and smoke", "story-2"),
         edit_note("a3", "", ", the smell of cut grass and rain", "story-3"),
         edit_note("c1", "It was a dark night in the old town.", "", "story-1"),
         edit_note("c2", "It was a cold night in the harbour.", "", "story-2"),
         edit_note("c3", "It was a long night in the city.", "", "story-3")]


def test_the_words_put_in_and_the_words_cut_are_blocks_of_their_own() -> None:
    from oversight.mine.represent import added_words_vectors, removed_words_vectors

    added, removed = added_words_vectors(SWAPS), removed_words_vectors(SWAPS)
    assert added is not None and removed is not None
    # a pure cut puts nothing in, a pure addition cuts nothing: zeros, even centred within their story
    assert not added[6:].any() and not removed[3:6].any()
    assert np.allclose(np.linalg.norm(added[:6], axis=1), 1.0, atol=1e-5)
    same, other = added[3] @ added[4], added[3] @ added[0]
    assert same > 0.5 > other  # two smells put in on different stories are alike, not like a plain phrase
    assert removed[0] @ removed[1] > 0.5 > removed[0] @ removed[6]
    assert added_words_vectors([n for n in SWAPS if n.id.startswith("c")]) is None  # nothing put in


async def test_the_transformation_is_the_direction_from_before_to_after(tmp_store, embedder) -> None:
    from oversight.mine.represent import transformation_vectors

    cut, put_back = edit_note("x", "the calm before the storm", ""), edit_note("y", "", "the calm before the storm")
    swap = edit_note("z", "the calm before the storm", "a quiet hour")
    other = FailureNote(id="n", text="Too long.", source="import")
    moved = await transformation_vectors(tmp_store, [cut, put_back, swap, other], embedder)
    assert moved is not None and not moved[3].any()  # not an edit: zeros
    assert moved[0] @ moved[1] == pytest.approx(-1.0, abs=1e-5)  # a cut and its undoing point opposite ways
    before, after = np.asarray(await embedder.embed(["the calm before the storm", "a quiet hour"]))
    expected = (after - before) / np.linalg.norm(after - before)
    assert moved[2] @ expected == pytest.approx(1.0, abs=1e-4)
    assert await transformation_vectors(tmp_store, [other, cut], embedder) is None  # one edit: no direction


class CountingEmbedder:
    def __init__(self, real) -> None:
        self.real, self.name, self.texts = real, real.name, []

    async def embed(self, texts):
        self.texts += list(texts)
        return await self.real.embed(texts)


async def test_a_block_of_weight_zero_costs_nothing(tmp_store, embedder) -> None:
    """The transformation embeds each edit's spans; with its weight 0 they are never embedded, and a
    second run embeds nothing again (the store's cache)."""
    from oversight.mine.represent import RepresentParams

    counting = CountingEmbedder(embedder)
    off = await represent_notes(tmp_store, SWAPS, counting, params=RepresentParams(transformation_weight=0.0))
    assert "a testament to her courage" not in counting.texts
    on = await represent_notes(tmp_store, SWAPS, counting, params=RepresentParams(transformation_weight=0.5))
    assert "a testament to her courage" in counting.texts and on.vectors.shape[1] > off.vectors.shape[1]
    counting.texts.clear()
    await represent_notes(tmp_store, SWAPS, counting, params=RepresentParams(transformation_weight=0.5))
    assert counting.texts == []
