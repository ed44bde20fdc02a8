"""The `train` section: the fine-tuning run (the hyperparameters are the model's, `stages/schemas/model.py`)."""
from __future__ import annotations

from typing import ClassVar

from stages.plumbing.params import Params
from stages.schemas.fields import Flag, NonNegativeInt, PositiveInt


class TrainParams(Params):
    """`train`: the fine-tuning run (the hyperparameters are the model's, `ModelParams`)."""

    section: ClassVar[str] = "train"

    seed: NonNegativeInt
    log_every_steps: PositiveInt
    mixed_precision: Flag
