"""The attribution methods the project scores, in the report's order, IG first: each one's name (the key
of `explain.methods` and of the records' figures), how the report names it, what one example costs it
and, for a rival, the function that scores it. A new rival is one entry here and its function in
`rivals`; the params schema's allowed names and the report's rows follow."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from stages.attribution import rivals


@dataclass(frozen=True)
class Method:
    title: str  # as the report names it
    cost: Callable[[int, int], str]  # what one example of (tokens, IG steps) costs, in model passes
    score: Callable[[rivals.RivalInputs], list[np.ndarray]] | None = None  # None: IG, the engine itself
    default: bool = False  # in `explain.methods` unless params.yaml says otherwise
    signed: bool = True  # a score toward a class (negated toward the other); False: a magnitude or a rank


METHODS = {
    "ig": Method("Integrated Gradients", lambda tokens, steps: f"{steps} gradients"),
    "gradient_x_input": Method("gradient × input", lambda tokens, steps: "1 gradient", rivals.gradient_x_input,
                               default=True),
    "saliency": Method("saliency (gradient norm)", lambda tokens, steps: "1 gradient", rivals.saliency,
                       default=True, signed=False),
    # opt-in: one forward pass per token
    "occlusion": Method("leave-one-out occlusion", lambda tokens, steps: f"{tokens - 2} forwards, one batch",
                        rivals.occlusion),
    "random": Method("random ranking", lambda tokens, steps: "none", rivals.random_ranking, default=True,
                     signed=False),
}
RIVALS = tuple(name for name, method in METHODS.items() if method.score is not None)
DEFAULT_RIVALS = tuple(name for name in RIVALS if METHODS[name].default)


def rival_scores(names: Sequence[str], inputs: rivals.RivalInputs) -> tuple[dict[str, list[np.ndarray]],
                                                                           dict[str, float]]:
    """Each named rival's per-token scores of every explained example, and the seconds it took (a pass
    two rivals share counts for the first)."""
    scores, seconds = {}, {}
    for name in names:
        started = time.perf_counter()
        scores[name] = METHODS[name].score(inputs)
        seconds[name] = time.perf_counter() - started
    return scores, seconds


def order(name: str) -> int:
    """A method's place in the report: IG first, then the rivals as listed here (unknown ones last)."""
    return list(METHODS).index(name) if name in METHODS else len(METHODS)
