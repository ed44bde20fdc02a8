"""The attribution methods the project scores, IG first: their names as the report shows them, and what
each costs per example. The methods themselves are in `ig` and `rivals`."""
from __future__ import annotations

NAMES = {"ig": "Integrated Gradients", "gradient_x_input": "gradient × input",
         "saliency": "saliency (gradient norm)", "occlusion": "leave-one-out occlusion", "random": "random ranking"}
RIVALS = tuple(method for method in NAMES if method != "ig")


def passes(method: str, length: int, n_steps: int) -> str:
    """What one example of `length` tokens costs a method, in model passes."""
    return {"ig": f"{n_steps} gradients", "gradient_x_input": "1 gradient", "saliency": "1 gradient",
            "occlusion": f"{length - 2} forwards, one batch", "random": "none"}[method]
