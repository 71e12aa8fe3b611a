"""Edit notes group by the kind of edit, whatever the story; the cut comes from the notes, not a constant."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_mutual_info_score

from oversight.mine.cluster import cluster_embeddings, pattern_band
from oversight.mine.miner import mine
from oversight.mine.note_files import load_note_file
from oversight.mine.represent import RepresentParams
from tests.mine.conftest import FIXTURES

WRITER_EDITS = FIXTURES / "creativity_eval" / "writer_edits_sample.jsonl"

# Five stories each: a cliche swapped for a plain phrase, a sentence of exposition cut, a vague noun made specific.
CLICHES = [("a testament to his unwavering resolve", "proof he meant it"),
           ("sent shivers down her spine", "scared her"),
           ("the calm before the storm", "a quiet hour"),
           ("time stood still", "nobody moved"),
           ("her heart skipped a beat", "she flinched")]
CUTS = [("The harbour had always been a place of quiet reflection for the fishermen of the village, who came "
         "there each morning to mend their nets and talk about the weather.", ""),
        ("It was clear to everyone in the room that the negotiation had reached a point where neither side "
         "could give any more ground without losing face.", ""),
        ("The old library, with its towering shelves and dusty volumes, had stood on the corner of Elm Street "
         "for more than a century, watching the town grow around it.", ""),
        ("Marcus knew deep down that his decision to leave the orchestra would change the course of his "
         "life forever, although he could not yet say how.", ""),
        ("The desert stretched endlessly in every direction, a vast and unforgiving expanse that seemed to "
         "swallow every sound and every hope of rescue.", "")]
SPECIFIC = [("the car", "the rusted 1972 Ford pickup with one working headlight"),
            ("some food", "two cold samosas wrapped in yesterday's newspaper"),
            ("a song", "the first bars of a Nina Simone record her father used to play"),
            ("the building", "the six-storey brick warehouse on the corner of Dock Road"),
            ("a tool", "a chipped wooden-handled chisel from his grandfather's bench")]


def write_edits(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# Five stories each, words put in where there were none: a concrete sensory detail, or the character's feeling told.
SENSORY = [("", ", the smell of diesel and wet rope"), ("", ", the smell of burnt sugar and smoke"),
           ("", ", the smell of cut grass and cold rain"), ("", ", the smell of frying onions and petrol"),
           ("", ", the smell of pine resin and woodsmoke")]
TELLING = [("", " because she felt lonely and afraid"), ("", " because he felt that nobody cared"),
           ("", " because she felt deeply ashamed"), ("", " because he felt tired and old"),
           ("", " because she felt nobody would listen")]


async def mine_edits(store, embedder, folder: Path, kinds: dict[str, list[tuple[str, str]]],
                     represent: RepresentParams | None = None) -> list[list]:
    """Mine the edits (one story each) and return, per pattern, how many of each kind it holds."""
    rows, kind = [], {}
    for name, pairs in kinds.items():
        for story, (before, after) in enumerate(pairs):
            key = f"{name}-{story}"
            rows.append({"key": key, "story": f"story-{story}", "before": before, "after": after})
            kind[key] = name
    notes = load_note_file(write_edits(folder / "edits.jsonl", rows), id_field="key", source_field="story",
                           before_field="before", after_field="after")
    store.save_notes(notes)
    result = await mine(store, names="keywords", embedder=embedder, represent=represent)
    by_id = {n.id: kind[str(n.external_id)] for n in store.notes()}
    return sorted(sorted(Counter(by_id[m] for m in p.member_ids).items()) for p in result.patterns)


async def test_cliches_swapped_and_sentences_cut_on_different_stories_land_apart(
        tmp_store, embedder, tmp_path: Path) -> None:
    found = await mine_edits(tmp_store, embedder, tmp_path, {"cliche": CLICHES, "cut": CUTS})
    assert found == [[("cliche", 5)], [("cut", 5)]], found


async def test_cliches_swapped_and_vague_words_made_specific_land_apart(tmp_store, embedder, tmp_path: Path) -> None:
    """Both replace a few words: the shape (shorter against much longer) tells them apart, the stories do not."""
    found = await mine_edits(tmp_store, embedder, tmp_path, {"cliche": CLICHES, "specific": SPECIFIC})
    assert found == [[("cliche", 5)], [("specific", 5)]], found


async def test_edits_adding_the_same_kind_of_words_on_different_stories_land_together(
        tmp_store, embedder, tmp_path: Path) -> None:
    """Sensory details and told feelings are both short pure additions: their shape and their note
    ("Added a phrase: '…'") are alike, only the words put in tell them apart. Cuts land apart."""
    kinds = {"sensory": SENSORY, "telling": TELLING, "cut": CUTS}
    found = await mine_edits(tmp_store, embedder, tmp_path, kinds, RepresentParams(added_words_weight=1.0))
    assert found == [[("cut", 5)], [("sensory", 5)], [("telling", 5)]], found


async def test_without_the_added_words_two_kinds_of_addition_are_one(tmp_store, embedder, tmp_path: Path) -> None:
    """The control: the same edits with the added-words block off do not tell the additions apart."""
    kinds = {"sensory": SENSORY, "telling": TELLING, "cut": CUTS}
    found = await mine_edits(tmp_store, embedder, tmp_path, kinds, RepresentParams(added_words_weight=0.0))
    assert [("sensory", 5)] not in found and [("telling", 5)] not in found, found


def writer_notes(tmp_path: Path, copies: int = 1) -> list:
    rows = [json.loads(line) for line in WRITER_EDITS.read_text(encoding="utf-8").splitlines()]
    rows = [dict(r, key=f"{r['key']}#{c}") for r in rows for c in range(copies)]
    return load_note_file(write_edits(tmp_path / f"writer-{copies}.jsonl", rows), id_field="key", source_field="id",
                          before_field="originalText", after_field="editedText", meta_fields=["category"])


async def test_five_hundred_varied_edits_never_collapse_into_fewer_than_five_patterns(
        tmp_store, embedder, tmp_path: Path) -> None:
    """532 professional writers' edits of 63 LLM paragraphs: the fixed cut made two or three patterns of them."""
    notes = writer_notes(tmp_path)
    tmp_store.save_notes(notes)
    result = await mine(tmp_store, names="keywords", embedder=embedder)
    cut = result.run.params["cut"]
    assert cut["cut"] == "silhouette" and cut["band"][0] == 5
    assert len(result.patterns) >= 5
    assert cut["silhouette"] == max(cut["curve"].values())
    category = {n.id: n.metadata["category"] for n in tmp_store.notes()}
    ids = [m for p in result.patterns for m in p.member_ids]
    labels = [k for k, p in enumerate(result.patterns) for _ in p.member_ids]
    assert adjusted_mutual_info_score([category[i] for i in ids], labels) > 0.15  # kmeans told k on shape: 0.26


async def test_the_same_notes_ten_times_over_give_the_same_patterns(embedder, tmp_path: Path) -> None:
    from oversight.mine.represent import represent_notes
    from oversight.store import Store

    def patterns_of(notes: list, clustering) -> set[frozenset[str]]:
        keys = [str(n.external_id).split("#")[0] for n in notes]
        return {frozenset(k for k, label in zip(keys, clustering.labels, strict=True) if label == c)
                for c in set(clustering.labels.tolist()) if c >= 0}

    found, cuts = [], []
    for copies in (1, 10):
        with Store.open(tmp_path / f"store-{copies}.db") as store:
            notes = writer_notes(tmp_path, copies)[: 200 * copies]
            store.save_notes(notes)
            notes = store.notes()
            represented = await represent_notes(store, notes, embedder)
            clustering = cluster_embeddings(represented.vectors)
            found.append(patterns_of(notes, clustering))
            cuts.append(clustering.params["cut"]["clusters"])
    assert cuts[0] == cuts[1]
    # every pattern of the notes once is a pattern of the notes ten times; ten copies of a note that was
    # too rare to be a pattern (fewer than 3) may be one now: they are 10 notes
    assert found[0] <= found[1] and all(len(p) < 3 for p in found[1] - found[0])


def test_the_band_grows_with_the_distinct_notes() -> None:
    from oversight.mine.cluster import ClusterParams

    params = ClusterParams()
    assert pattern_band(30, params) == (2, 5)
    assert pattern_band(500, params) == (5, 50)
    assert pattern_band(2_000, params) == (20, 80)
    assert pattern_band(100_000, params) == (40, 80)


def test_identical_notes_are_one_pattern() -> None:
    points = np.tile(np.eye(8, dtype=np.float32)[0], (40, 1))
    clustering = cluster_embeddings(points)
    assert set(clustering.labels.tolist()) == {0}
