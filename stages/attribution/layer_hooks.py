"""Reading and replacing one layer's output inside a forward pass, the way alibi's IntegratedGradients
does it (by swapping the layer's `call`): what IG, its compiled engine and the gradient rivals share."""
from __future__ import annotations

from typing import Any


def layer_output(wrapper: Any, layer: Any, ids: Any, mask: Any) -> tuple[Any, Any, bool]:
    """One forward pass: the class probabilities, what `layer` outputs (the hidden states, for
    blocks returning a 1-tuple) and whether it returns a tuple."""
    original, captured = layer.call, []

    def recording(*args: Any, **kwargs: Any) -> Any:
        captured.append(original(*args, **kwargs))
        return captured[-1]

    layer.call = recording
    try:
        probabilities = wrapper(ids, attention_mask=mask)
    finally:
        layer.call = original
    output = captured[0]
    as_tuple = isinstance(output, (tuple, list))
    return probabilities, output[0] if as_tuple else output, as_tuple


def replaced_probabilities(wrapper: Any, layer: Any, value: Any, as_tuple: bool, ids: Any, mask: Any) -> Any:
    """The class probabilities with `layer`'s output replaced by `value`."""
    original = layer.call

    def replaced(*args: Any, **kwargs: Any) -> Any:
        return (value,) if as_tuple else value

    layer.call = replaced
    try:
        return wrapper(ids, attention_mask=mask)
    finally:
        layer.call = original


def path_gradients(wrapper: Any, layer: Any, path: Any, as_tuple: bool, ids: Any, mask: Any, target: Any) -> Any:
    """Gradient of the target-class probability with respect to `layer`'s output, set to `path`."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(path)
        probabilities = replaced_probabilities(wrapper, layer, path, as_tuple, ids, mask)
        chosen = tf.gather(probabilities, target, batch_dims=1)
    return tape.gradient(chosen, path)
