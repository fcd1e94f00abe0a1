"""Why a paper is recommended: plain-words reasons with numbers, strongest first."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kg.graph.algorithms import FLOAT as _F
from kg.graph.algorithms import row_set
from kg.recommend.index import RecommendIndex, name_list
from kg.recommend.signals import PRIORS, Signals


# --------------------------------------------------------------------------- reasons
def explain(
    index: RecommendIndex,
    sig: Signals,
    scaled: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    j: int,
) -> list[str]:
    """Plain-words reasons for node ``j``, strongest contribution first. At least one
    reason is evidence (a link or closeness to the read papers), never a prior alone: when
    no evidence is strong enough to be named, the strongest there is is named anyway."""
    found = _reasons(index, sig, scaled, weights, j, strict=True)
    if not any(signal not in PRIORS for signal, _, _ in found):
        weak = [r for r in _reasons(index, sig, scaled, weights, j, strict=False)
                if r[0] not in PRIORS]  # fmt: skip
        if weak:
            found.append(max(weak, key=lambda r: r[1]))
    found.sort(key=lambda t: -t[1])
    reasons = [text for _, _, text in found[:6]]
    if not reasons:
        reasons = ["ranked by the fused score of weak signals (no single strong link)"]
    return reasons


def _reasons(
    index: RecommendIndex,
    sig: Signals,
    scaled: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    j: int,
    *,
    strict: bool,
) -> list[tuple[str, float, str]]:
    """(signal, contribution, text) for each reason of node ``j``; ``strict``: only the
    signals strong enough to be worth naming (else any evidence above 0)."""
    view = index.view
    read = sig.read.tolist()
    read_set = set(read)
    found: list[tuple[str, float, str]] = []
    cut = 1.0 if strict else 0.0

    def add(signal: str, text: str, bonus: float = 0.0) -> None:
        weight = weights.get(signal, 0.0)
        if weight > 0 or bonus > 0:  # a signal weighed 0 did not put the paper here
            found.append((signal, weight * float(scaled[signal][j]) + bonus, text))

    citers = set(view.AT.indices[view.AT.indptr[j] : view.AT.indptr[j + 1]].tolist())
    refs = set(view.A.indices[view.A.indptr[j] : view.A.indptr[j + 1]].tolist())
    by = [q for q in read if q in citers]
    if by:
        add(
            "cited_by",
            f"cited by {len(by)} of your papers: {name_list([index.label(q) for q in by])}",
            1.0,
        )
    cites = [q for q in read if q in refs]
    if cites:
        add(
            "cites",
            f"cites {len(cites)} of your papers: {name_list([index.label(q) for q in cites])}",
            1.0,
        )
    if scaled["cocitation"][j] > 0:
        best = max(
            ((len(citers & row_set(view.AT, q)), q) for q in read), key=lambda t: (t[0], -t[1])
        )
        if best[0] > 0:
            add(
                "cocitation",
                f"co-cited with {index.label(best[1])} in {best[0]} "
                f"paper{'s' if best[0] > 1 else ''}",
            )
    if scaled["cocited"][j] > 0:
        named = next((i for i, r in enumerate(found) if r[0] == "cocitation"), None)
        together = (
            set().union(*(row_set(view.AT, q) for q in read)) & citers if named is None else set()
        )
        if named is not None:
            # One fact, two measures: the co-citation reason carries both contributions.
            signal, value, text = found[named]
            extra = weights.get("cocited", 0.0) * float(scaled["cocited"][j])
            found[named] = (signal, value + extra, text)
        elif together:
            add(
                "cocited",
                f"cited alongside your papers by {len(together)} "
                f"paper{'s' if len(together) > 1 else ''} of this graph",
            )
    if scaled["coupling"][j] > 0:
        best = max(((len(refs & row_set(view.A, q)), q) for q in read), key=lambda t: (t[0], -t[1]))
        if best[0] > 0:
            add(
                "coupling",
                f"shares {best[0]} reference{'s' if best[0] > 1 else ''} with "
                f"{index.label(best[1])}",
            )
    if not by and not cites and scaled["ppr"][j] > 0.05 * cut:
        via = _via(index, j, read_set)
        if via is not None:
            add(
                "ppr",
                f"two citation steps from {index.label(via[1])} (via {index.label(via[0])})",
            )
    if sig.text_sims is not None and scaled["text"][j] > 0.3 * cut:
        row = sig.text_by_read(index, j)
        if not np.isnan(row).all():
            q = int(np.nanargmax(row))
            add(
                "text",
                f"close to {index.label(read[q])} in content ({float(row[q]):.2f})",
            )
    lexical = scaled["lexical"][j]
    if sig.lexical_sims is not None and sig.lexical_read is not None and lexical > 0.3 * cut:
        row = sig.lexical_sims[j]
        q = int(read[int(sig.lexical_read[int(np.argmax(row))])])
        terms = index.lexical.shared_terms(j, q)
        if terms:
            quoted = ", ".join(f"'{t}'" for t in terms)
            add(
                "lexical",
                f"shares the term{'s' if len(terms) > 1 else ''} {quoted} with {index.label(q)}",
            )
    if scaled["s2"][j] > 0:
        rank = round(10.0 * (1.0 / float(scaled["s2"][j]) - 1.0)) + 1
        add("s2", f"Semantic Scholar recommends it for your papers (#{rank})")
    if scaled["topic"][j] > 0.2 * cut:
        topic = _shared_topic(index, j, sig.read)
        if topic is not None:
            add("topic", f"in topic {topic}")
    indeg = int(view.indeg[j])
    if scaled["influence"][j] >= 0.6 and indeg >= 3:
        count = int(index.citation_count[j])
        overall = f"; {count:,} in all" if count > indeg else ""
        add("influence", f"central in this graph (cited by {indeg:,} papers here{overall})")
    year = index.year[j]
    if scaled["recency"][j] >= 0.8 and not np.isnan(year):
        add("recency", f"recent ({int(year)})")
    return found


def _via(index: RecommendIndex, j: int, read: set[int]) -> tuple[int, int] | None:
    """(intermediate paper, read paper) linking ``j`` to the read set in two steps: the
    neighbour of ``j`` linked to the most read papers (ties: the lowest node number)."""
    view = index.view
    around = np.union1d(
        view.A.indices[view.A.indptr[j] : view.A.indptr[j + 1]],
        view.AT.indices[view.AT.indptr[j] : view.AT.indptr[j + 1]],
    )
    if around.size == 0:
        return None
    mask = np.zeros(index.n, dtype=_F)
    mask[list(read)] = 1.0
    linked = np.asarray(view.A[around] @ mask + view.AT[around] @ mask).ravel()
    best = int(np.argmax(linked))
    if linked[best] <= 0:
        return None
    m = int(around[best])
    near = (row_set(view.A, m) | row_set(view.AT, m)) & read
    return m, min(near)


def _shared_topic(index: RecommendIndex, j: int, read: np.ndarray) -> str | None:
    """The label of the most telling topic ``j`` shares with the read set (not one that
    covers half the corpus, nor a curated top section); narrower topics first."""
    tv = index.topic_vectors
    mine = dict(zip(tv.indices[tv.indptr[j] : tv.indptr[j + 1]].tolist(),
                    tv.data[tv.indptr[j] : tv.indptr[j + 1]].tolist(), strict=True))  # fmt: skip
    if not mine:
        return None
    profile = np.asarray(tv[read].sum(axis=0)).ravel()
    best: tuple[bool, float, int] | None = None
    for t, v in mine.items():
        if profile[t] <= 0 or index.topic_share[t] > 0.5 or t in index.topic_skip:
            continue
        key = (t not in index.topic_containers, v * profile[t], t)  # the narrowest first
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None
    return index.topic_label.get(index.topic_ids[best[2]], index.topic_ids[best[2]])


def dislike_reason(index: RecommendIndex, dis: np.ndarray, j: int, penalty: float) -> str:
    names = name_list([index.label(int(d)) for d in dis], 2)
    return f"ranked lower: close to {names}, which you marked not relevant ({penalty:.2f})"


__all__ = ["dislike_reason", "explain"]
