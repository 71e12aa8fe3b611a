"""The report's first level: patterns grouped into themes, each with an id that lasts and a name a lead can read.

``cluster.group_themes`` decides which patterns a theme holds; this module names it and keeps its id
from run to run (``theme_ids``: the last run's id where the pattern sets overlap enough). A theme of one
pattern takes its name; one whose largest pattern holds half its notes is named by it ("… (+2 more)");
any other like one pattern of all its notes (``plain_names.phrase_names``: its edits' commonest shape, a
tag, or the note nearest its centre cut to a short phrase), and only when none fits by its patterns'
commonest keywords ("felt · piece · ends" makes a lead guess).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from oversight.mine.cluster import Clustering
from oversight.mine.identity import Previous, match_patterns
from oversight.mine.naming import keyword_name, theme_name
from oversight.mine.plain_names import phrase_names
from oversight.schemas import FailureNote, Pattern, Theme

__all__ = ["build_themes", "theme_groups", "theme_ids", "theme_phrases"]


def theme_groups(clustering: Clustering) -> list[list[int]]:
    """The patterns of each theme, largest first (the clustering's order)."""
    return [[c for c, t in enumerate(clustering.themes) if t == theme]
            for theme in range(int(clustering.themes.max()) + 1 if len(clustering.themes) else 0)]


def theme_phrases(
    notes: Sequence[FailureNote], vectors: np.ndarray, clustering: Clustering, members: Sequence[np.ndarray],
    keywords: Mapping[int, list[str]], texts: Sequence[str], *, exclude: frozenset[str] | set[str] = frozenset(),
) -> list[str | None]:
    """Each theme named as if all its notes were one pattern (``phrase_names``: the edits' commonest shape,
    a tag, the note nearest the theme's centre cut to a short phrase; None where only keywords fit); blocking."""
    orders, words = [], {}
    for t, chosen in enumerate(theme_groups(clustering)):
        member = np.concatenate([members[c] for c in chosen])
        sizes = np.array([len(members[c]) for c in chosen], dtype=np.float64)
        centre = (sizes[:, None] * clustering.centroids[chosen]).sum(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        orders.append(member[np.argsort(-(vectors[member] @ centre), kind="stable")])
        words[t] = _theme_keywords(chosen, keywords)
    return phrase_names(notes, texts, orders, words, exclude=exclude)


def _theme_keywords(chosen: Sequence[int], keywords: Mapping[int, list[str]]) -> list[str]:
    """A theme's keywords: its patterns' first three, commonest first."""
    return [w for w, _ in Counter(w for c in chosen for w in keywords.get(c, [])[:3]).most_common(6)]


def build_themes(
    clustering: Clustering, patterns: Sequence[Pattern], keywords: Mapping[int, list[str]],
    previous: Sequence[Mapping[str, Any]], phrases: Sequence[str | None],
) -> list[dict[str, Any]]:
    """The run's first level; a theme continuing one of the last run's (shared patterns) keeps its id.

    A theme of one pattern takes its name; a theme whose largest pattern holds half its notes and has a
    phrase for a name is named by it ("… (+2 more)"); any other by its phrase (``theme_phrases``: in its
    notes' own words) where one fits, else by its patterns' commonest keywords."""
    groups = theme_groups(clustering)
    ids = theme_ids([frozenset(patterns[c].id for c in chosen) for chosen in groups], previous)
    themes: list[dict[str, Any]] = []
    for t, (chosen, theme_id) in enumerate(zip(groups, ids, strict=True)):
        lead = patterns[chosen[0]]
        phrase = (lead.name != keyword_name(keywords.get(chosen[0], []), lead.size).name
                  and lead.size * 2 >= sum(patterns[c].size for c in chosen))
        name = lead.name if len(chosen) == 1 else theme_name([keywords.get(c, []) for c in chosen],
                                                             lead.name if phrase else None, own=phrases[t])
        themes.append(Theme(
            id=theme_id,
            name=name,
            pattern_ids=[patterns[c].id for c in chosen],
            size=sum(patterns[c].size for c in chosen),
            keywords=_theme_keywords(chosen, keywords),
        ).model_dump())
    return themes


def theme_ids(groups: Sequence[frozenset[str]], previous: Sequence[Mapping[str, Any]]) -> list[str]:
    """Ids for this run's themes: the last run's id where the pattern sets overlap enough (Jaccard,
    one-to-one), else the next free ``theme-N``."""
    earlier = [Previous(t["id"], frozenset(t.get("pattern_ids", [])), np.zeros(1, dtype=np.float32))
               for t in previous]
    matched = match_patterns(earlier, groups, np.zeros((len(groups), 1), dtype=np.float32))
    taken = {t["id"] for t in previous} | {m for m in matched if m}
    out, n = [], 0
    for theme_id in matched:
        if theme_id is None:
            n += 1
            while f"theme-{n}" in taken:
                n += 1
            theme_id = f"theme-{n}"
            taken.add(theme_id)
        out.append(theme_id)
    return out
