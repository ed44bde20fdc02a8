"""`model` and `models`: the entry of `models` that `model` selects, its checkpoint and training hyperparameters."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, model_validator

from stages.plumbing.errors import UserError
from stages.plumbing.params import PARAMS_FILE, Expected, Params, did_you_mean, load_params, validated, worded
from stages.schemas.fields import Fraction, NonNegativeInt, PositiveInt, StepsOrAuto, Text


class ModelParams(Params):
    """An entry of `models`: the checkpoint and its training hyperparameters."""

    checkpoint: Text
    init_lr: Fraction
    min_lr_ratio: Annotated[float, Field(ge=0, le=1), Expected("a number in [0.0, 1.0]")]
    batch_size: PositiveInt
    num_warmup_steps: NonNegativeInt
    num_train_steps: StepsOrAuto
    power: Annotated[float, Field(gt=0, le=10), Expected("a number in (0.0, 10.0]")]

    @model_validator(mode="after")
    def warmup_ends_before_training(self) -> Self:
        if self.num_train_steps != "auto" and self.num_warmup_steps >= self.num_train_steps:
            raise worded(f"must be smaller than num_train_steps = {self.num_train_steps}",
                         key="num_warmup_steps", value=self.num_warmup_steps)
        return self


def selected_model(path: Path = PARAMS_FILE) -> tuple[str, ModelParams]:
    """The name and validated entry of the model that `model:` selects."""
    params = load_params(path)
    name = params.get("model")
    models = params.get("models")
    if not isinstance(models, dict) or not models:
        raise UserError("params.yaml: 'models' must map model names to their settings")
    if not isinstance(name, str) or name not in models:  # a list or mapping would not even hash
        raise UserError(f"params.yaml: model = {name!r} is not an entry of 'models'; "
                        f"choose one of {', '.join(sorted(map(str, models)))}{did_you_mean(str(name), models)}")
    return name, validated(f"models.{name}", ModelParams, models[name])


