"""The `explain` section: what is explained, the Integrated Gradients settings and the faithfulness figures."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from stages.attribution.methods import DEFAULT_RIVALS, RIVALS
from stages.attribution.settings import IGSettings, Scoring
from stages.plumbing.params import Expected, Params, worded
from stages.schemas.fields import (
    CountOrAll,
    Fraction,
    NonNegativeInt,
    PositiveInt,
    Sentences,
    StepsOrAuto,
    none_is_empty,
)


def from_zero(indices: list[int]) -> list[int]:
    """Shard indices 0, 1, ..., N-1, in order."""
    if indices != list(range(len(indices))) or not indices:
        raise worded("is not allowed; expected the shard indices counted from 0, e.g. [0] or [0, 1]")
    return indices


def each_once(methods: list[str]) -> list[str]:
    """Methods without a repeat."""
    for index, method in enumerate(methods):
        if method in methods[:index]:
            raise worded("is listed twice; each method must be listed once", index=index, value=method)
    return methods


ShardIndices = Annotated[list[Annotated[int, Expected("a shard index, an integer from 0")]], AfterValidator(from_zero),
                         Expected("the shard indices counted from 0, e.g. [0] or [0, 1]")]
Layer = Annotated[str, Field(pattern=r"^(embeddings|layer_(0|[1-9][0-9]*))$"),
                  Expected("embeddings or layer_N, N the index of a transformer block from 0",
                           hints=("embeddings", "layer_0"))]
IGMethod = Literal["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]
RivalMethod = Literal[RIVALS]  # methods.METHODS' rivals, in its order
RivalMethods = Annotated[list[RivalMethod], BeforeValidator(none_is_empty), AfterValidator(each_once),
                         Expected("a list of methods, e.g. ['saliency', 'random']")]


class ExplainParams(Params):
    """`explain`: what is explained, the Integrated Gradients settings and the faithfulness figures."""

    section: ClassVar[str] = "explain"

    n_reviews: CountOrAll
    n_rt_sentences: NonNegativeInt
    shards: ShardIndices
    sentences: Sentences
    layer: Layer
    baseline: Literal["pad", "mask", "unk", "zero"] = "pad"
    n_steps: StepsOrAuto
    method: IGMethod
    engine: Literal["alibi", "compiled"]
    internal_batch_size: PositiveInt
    completeness_target: Fraction
    max_steps: PositiveInt
    faithfulness_k: Annotated[list[Fraction], Field(min_length=1), Expected("a non-empty list of fractions in (0, 1]")]
    methods: RivalMethods = Field(default_factory=lambda: list(DEFAULT_RIVALS))
    seed: NonNegativeInt
    report_examples: NonNegativeInt = 25
    # TensorFlow's threads where the reviews are explained: a dependency of explain@N (Eigen's sums follow them).
    threads: Annotated[Annotated[int, Field(ge=1)] | Literal["auto"], Expected("an integer >= 1 or 'auto'")] = "auto"
    # Where the reviews' shards are explained; at equal threads none of these changes a byte, so no stage
    # depends on them.
    executor: Literal["local", "ray"] = "local"
    ray_workers: PositiveInt = 2
    ray_cpus_per_worker: PositiveInt = 1
    ray_gpus_per_worker: Annotated[float, Field(ge=0), Expected("a number >= 0 (fractions share a GPU)")] = 0.0

    @model_validator(mode="after")
    def engine_can_run_the_settings(self) -> Self:
        if self.baseline == "zero" and self.engine == "alibi":
            raise worded("is not allowed with explain.engine = 'alibi', which builds baselines from token ids; "
                         "choose one of pad, mask, unk, or explain.engine: compiled",
                         key="baseline", value=self.baseline)
        if self.n_steps == "auto" and self.engine == "alibi":
            raise worded("is not allowed with explain.engine = 'alibi', whose rules cannot reuse passes; it needs "
                         "explain.engine: compiled, or give a number of steps", key="n_steps", value=self.n_steps)
        return self

    def explaining_threads(self) -> int | None:
        """TensorFlow's threads in each process that explains reviews: `threads`, or with `auto` the CPUs a Ray
        actor reserved, and in process every core (None: TensorFlow's default)."""
        if self.threads != "auto":
            return self.threads
        return self.ray_cpus_per_worker if self.executor == "ray" else None

    def ig_settings(self) -> IGSettings:
        """The engine's Integrated Gradients settings."""
        return IGSettings(layer=self.layer, n_steps=self.n_steps, method=self.method,
                          internal_batch_size=self.internal_batch_size, completeness_target=self.completeness_target,
                          max_steps=self.max_steps, engine=self.engine, baseline=self.baseline)

    def scoring(self) -> Scoring:
        """How the engine scores IG against its rivals."""
        return Scoring(methods=tuple(self.methods), faithfulness_k=tuple(self.faithfulness_k), seed=self.seed)
