"""Judgment repair help: which judgments of a rejected matrix to revisit, to what, and what CR that gives.

It suggests; it never changes a matrix file. For a matrix that is not reciprocal, or whose CR is >= 0.1, the
suggestions (:class:`~transforms.scoring.ahp.Revision`, best first) are:

1. **Reciprocity revisions**, first, one per non-reciprocal pair (the validation's rule, ``ahp.is_reciprocal``).
   The upper triangle holds the judgments, as in the paper audit's ``repair_from_upper``: for a pair i < j (in the
   matrix file's order) the *lower* cell a(j,i) is the one revised, to 1/a(i,j). On the paper's printed Table 3
   that is a(u7,u5) = 5 -> 1, exactly the audit's repair. ``cr_after`` is the CR after that single change.
2. **Consistency revisions**, when the matrix read reciprocally from its upper triangle (every reciprocity
   revision made: they are needed anyway) still has CR >= 0.1. For each given judgment a(i,j), i < j:

   - ``implied``: the value the *other* judgments imply, w_i/w_j of the weights computed without that judgment,
     i.e. with the pair left out and the matrix completed by Harker's method (``ahp.complete_matrix``, all pairs in
     one batched call). Chosen over the geometric mean of the two-step paths a(i,k)·a(k,j) because it uses every
     path, not only those through one intermediate item, it works on incomplete matrices (where i and j may have no
     common neighbour), and it is the same rule that fills a judgment left out of an incomplete matrix: "implied"
     means one thing throughout.
   - ``suggested``: the nearest value of Saaty's scale to ``implied`` (in logs).
   - ``cr_after``: the CR, by the same method and RI, after setting a(i,j) = suggested and a(j,i) = 1/suggested
     (on top of the reciprocity revisions, as said).

   Only changes that lower the CR are listed: a judgment whose nearest Saaty value is already the one written, and
   a judgment no other one links to (removing it disconnects the items: it is in no cycle, so it cannot be
   inconsistent) are left out. Best first: lowest ``cr_after``; among equal ones, the judgment furthest from what
   the others imply; then the matrix's order. At most :data:`REVISION_LIMIT` of them.

Every revision names the cell as the matrix file labels it (row, col) with its current value and its mirror's; a
consistency revision names the cell of the upper triangle (row before col in the file). "The file's order" is
``order`` when given (a profile reorders its matrices into catalogue order and passes the file's own order, so a
file gets the same suggestions alone and inside a profile), else the order of the labels in the result.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from transforms.scoring.ahp import (
    CR_LIMIT,
    RECIPROCITY,
    AhpResult,
    Revision,
    comparisons_connected,
    complete_matrix,
    is_reciprocal,
    nearest_saaty,
    weights_and_consistency,
)

REVISION_LIMIT = 5  # consistency revisions listed (every reciprocity revision is listed)
_SAME_CR = 1e-12  # CRs closer than this are equal when ranking


def needs_revision(result: AhpResult) -> bool:
    """A weighed matrix that is not reciprocal or whose CR is >= 0.1 (an expert's, or an AIJ aggregate)."""
    if result.weights is None or result.matrix is None:
        return False
    return any(d.rule == RECIPROCITY for d in result.errors) or (result.cr is not None and result.cr >= CR_LIMIT)


def with_revisions(
    result: AhpResult, limit: int = REVISION_LIMIT, order: tuple[str, ...] | list[str] | None = None
) -> AhpResult:
    """``result`` with ``revisions`` filled in where it needs them, and the same for each expert's result (all with
    the same ``order``: the matrix file's label order, see the module docstring)."""
    experts = tuple(with_revisions(e, limit, order) for e in result.experts)
    revisions = suggest_revisions(result, limit, order) if needs_revision(result) else ()
    if experts == result.experts and revisions == result.revisions:
        return result
    return dataclasses.replace(result, experts=experts, revisions=revisions)


def suggest_revisions(
    result: AhpResult, limit: int = REVISION_LIMIT, order: tuple[str, ...] | list[str] | None = None
) -> tuple[Revision, ...]:
    """The revisions of the matrix ``result`` analysed (module docstring), best first; () when it has no weights.
    CRs are computed by ``result.method`` with ``result.ri``; without an RI (n > 15, none supplied) only the
    reciprocity revisions are given, with ``cr_after`` None. ``order``: the file's label order (default: the
    result's), which decides the upper triangle."""
    if result.matrix is None or result.weights is None:
        return ()
    a = np.array(result.matrix, dtype=float)
    labels, n = result.labels, len(result.labels)
    ri = result.ri
    position = {label: k for k, label in enumerate(order if order is not None else labels)}
    if sorted(position) != sorted(labels):
        raise ValueError(f"order {', '.join(position)} does not list the labels {', '.join(labels)}")

    def cr_of(matrix: np.ndarray) -> float | None:
        return None if ri is None else weights_and_consistency(matrix, result.method, ri)[4]

    given = ~np.isnan(a)
    # (i, j): i before j in the file's order, so a(i,j) is the upper triangle's cell
    pairs = sorted(
        (
            (i, j) if position[labels[i]] < position[labels[j]] else (j, i)
            for i in range(n)
            for j in range(i + 1, n)
            if given[i, j] and given[j, i]
        ),
        key=lambda p: (position[labels[p[0]]], position[labels[p[1]]]),
    )
    upper = a.copy()  # the matrix read from its upper triangle
    broken = [(i, j) for i, j in pairs if not is_reciprocal(a[i, j], a[j, i])]
    for i, j in broken:
        upper[j, i] = 1 / a[i, j]
    implied = _implied(upper, pairs)

    revisions = []
    for i, j in broken:
        single = a.copy()
        single[j, i] = 1 / a[i, j]
        revisions.append(
            Revision(
                row=labels[j],
                col=labels[i],
                current=float(a[j, i]),
                mirror=float(a[i, j]),
                suggested=float(1 / a[i, j]),
                cr_after=cr_of(single),
                implied=None if implied.get((i, j)) is None else 1 / implied[(i, j)],
                reason="reciprocity",
            )
        )
    base_cr = cr_of(upper)
    if base_cr is None or base_cr < CR_LIMIT:
        return tuple(revisions)

    candidates = []
    for (i, j), value in implied.items():
        suggested = nearest_saaty(value)
        if math.isclose(suggested, upper[i, j], rel_tol=1e-9):
            continue
        changed = upper.copy()
        changed[i, j], changed[j, i] = suggested, 1 / suggested
        cr_after = cr_of(changed)
        assert cr_after is not None
        if cr_after < base_cr - _SAME_CR:
            off = abs(math.log(upper[i, j] / value))
            candidates.append((cr_after, off, i, j, suggested))
    candidates.sort(key=lambda c: (round(c[0] / _SAME_CR), -c[1], position[labels[c[2]]], position[labels[c[3]]]))
    for cr_after, _off, i, j, suggested in candidates[:limit]:
        revisions.append(
            Revision(
                row=labels[i],
                col=labels[j],
                current=float(a[i, j]),
                mirror=float(a[j, i]),
                suggested=float(suggested),
                cr_after=cr_after,
                implied=implied[(i, j)],
                reason="consistency",
            )
        )
    return tuple(revisions)


def _implied(a: np.ndarray, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """For each given pair (i, j): a(i,j) as the other judgments imply it, w_i/w_j of Harker's weights with the pair
    left out. Pairs whose removal disconnects the items (nothing else links them) are absent."""
    if not pairs:
        return {}
    stack = np.broadcast_to(a, (len(pairs), *a.shape)).copy()
    rows, cols = np.array(pairs).T
    k = np.arange(len(pairs))
    stack[k, rows, cols] = stack[k, cols, rows] = math.nan
    linked = comparisons_connected(~np.isnan(stack))
    if not linked.any():
        return {}
    completed = complete_matrix(stack[linked])
    keep = np.flatnonzero(linked)
    return {pairs[p]: float(completed[q, rows[p], cols[p]]) for q, p in enumerate(keep)}


__all__ = ["REVISION_LIMIT", "needs_revision", "suggest_revisions", "with_revisions"]
