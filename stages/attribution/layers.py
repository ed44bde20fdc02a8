"""The classifier as Integrated Gradients sees it: a model of class probabilities, and the layer
(`embeddings` or a transformer block) whose output is attributed."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from stages.plumbing.errors import UserError


def probability_model(classifier: Any) -> Any:
    """Wrap a HF TF classifier in a `keras.Model` whose `call(input_ids, attention_mask)` returns softmax
    probabilities, so that Integrated Gradients explains class probabilities, as the reference does."""
    import tensorflow as tf

    class ProbabilityModel(tf.keras.Model):
        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def call(self, input_ids: Any, attention_mask: Any = None, training: bool = False) -> Any:
            output = self.transformer(input_ids=input_ids, attention_mask=attention_mask, training=training)
            return tf.nn.softmax(output.logits, axis=-1)

        def get_config(self) -> dict:
            return {}

    return ProbabilityModel(classifier)


def main_layer(wrapper: Any) -> Any:
    """The transformer body (`bert`, `distilbert`, ...) inside a `probability_model` wrapper."""
    transformer = wrapper.transformer
    return getattr(transformer, transformer.base_model_prefix)


def embeddings_layer(wrapper: Any) -> Any:
    """The embedding layer (token + position embeddings, LayerNorm): the reference's choice."""
    return main_layer(wrapper).embeddings


def blocks(wrapper: Any) -> Any:
    """The transformer blocks, bottom up (`encoder.layer` in BERT, `transformer.layer` in DistilBERT)."""
    body = main_layer(wrapper)
    return (body.encoder if hasattr(body, "encoder") else body.transformer).layer


def block_layer(wrapper: Any, index: int) -> Any:
    """Transformer block `index`, from 0 (`encoder.layer[index]` in BERT)."""
    return blocks(wrapper)[index]


def layer_getter(name: str) -> Callable[[Any], Any]:
    """The function that finds `explain.layer` (`embeddings` or `layer_N`) in a `probability_model`.

    Module-level functions and their partials, so that the alibi explainer stays serialisable.
    """
    if name == "embeddings":
        return embeddings_layer
    return functools.partial(block_layer, index=int(name.removeprefix("layer_")))


def check_layer(name: str, wrapper: Any) -> None:
    """Refuse a `layer_N` beyond the model's blocks, naming the range it has."""
    count = len(blocks(wrapper))
    if name != "embeddings" and int(name.removeprefix("layer_")) >= count:
        raise UserError(f"params.yaml: explain.layer = {name!r} is not allowed; the model has {count} "
                        f"transformer blocks: embeddings or layer_0 to layer_{count - 1}")
