"""Stage `train`: fine-tune the whole BERT-family classifier as the reference example does.

Usage: python -m stages.train TOKENS_DIR MODEL_DIR LIVE_DIR
Writes the fine-tuned model and its tokenizer (`save_pretrained`) to MODEL_DIR
and the dvclive training curves to LIVE_DIR. The held-out figures are the `evaluate`
stage's (a validation pass here would repeat its IMDB pass: 50 s on 2 cores).
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from stages.plumbing.artifacts import atomic_path, read_arrays, run
from stages.plumbing.errors import UserError
from stages.plumbing.models import load_classifier, load_tokenizer
from stages.plumbing.params import load_section
from stages.schemas.model import ModelParams, selected_model
from stages.schemas.train import TrainParams

SHUFFLE_BUFFER = 1024  # as in the reference example


def seed_everything(seed: int) -> None:
    """One seed for Python, NumPy and TF, and deterministic TF kernels."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def resolve_train_steps(model: ModelParams, n_train: int) -> int:
    """`auto` means one epoch: ceil(n_train / batch_size), as the reference example computes it."""
    if model.num_train_steps != "auto":
        return model.num_train_steps
    steps = math.ceil(n_train / model.batch_size)
    if model.num_warmup_steps >= steps:
        raise UserError(f"params.yaml: num_warmup_steps = {model.num_warmup_steps} must be smaller than "
                        f"num_train_steps = auto = {steps} for {n_train} training reviews")
    return steps


def learning_rate_schedule(model: ModelParams, num_train_steps: int) -> Any:
    """Linear (polynomial) decay from init_lr to init_lr * min_lr_ratio, after an optional warm-up."""
    import tensorflow as tf
    from transformers.optimization_tf import WarmUp

    schedule = tf.keras.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=model.init_lr,
        decay_steps=num_train_steps - model.num_warmup_steps,
        end_learning_rate=model.init_lr * model.min_lr_ratio,
        power=model.power,
    )
    if model.num_warmup_steps:
        schedule = WarmUp(initial_learning_rate=model.init_lr, decay_schedule_fn=schedule,
                          warmup_steps=model.num_warmup_steps)
    return schedule


def batches(arrays: dict[str, np.ndarray], batch_size: int, shuffle_seed: int | None = None,
            trim: bool = True) -> Any:
    """A tf.data pipeline of ({input_ids, attention_mask}, label) batches.

    Each batch is cut to its longest sequence (unless not `trim`): the attention mask hides the
    rest, so the padding would cost time and change no result.
    """
    import tensorflow as tf

    features = {"input_ids": arrays["input_ids"], "attention_mask": arrays["attention_mask"]}
    data = tf.data.Dataset.from_tensor_slices((features, arrays["label"]))
    if shuffle_seed is not None:
        data = data.shuffle(SHUFFLE_BUFFER, seed=shuffle_seed, reshuffle_each_iteration=True).repeat()
    data = data.batch(batch_size)
    return (data.map(trim_batch) if trim else data).prefetch(tf.data.AUTOTUNE)


def trim_batch(features: dict[str, Any], label: Any) -> tuple[dict[str, Any], Any]:
    import tensorflow as tf

    longest = tf.reduce_max(tf.reduce_sum(features["attention_mask"], axis=1))
    return {name: values[:, :longest] for name, values in features.items()}, label


def distribution_strategy(mixed_precision: bool) -> Any:
    """All visible GPUs (mirrored when several), with optional float16 compute; the CPU otherwise."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus and mixed_precision:
        tf.keras.mixed_precision.set_global_policy("mixed_float16")
    print(f"training on {len(gpus)} GPU(s)" if gpus else "training on the CPU")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def compile_classifier(model: Any, learning_rate: Any = None) -> None:
    """The reference example's optimizer, loss and metric.

    The training step is traced without autograph: the model has no control flow on tensor values, so the graph
    and the weights are the same, and rewriting the source of every layer cost 6 s of a tiny model's fit."""
    import tensorflow as tf

    optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999,
                                         epsilon=1e-08) if learning_rate is not None else None
    model.compile(optimizer=optimizer,
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    model.train_step = tf.autograph.experimental.do_not_convert(model.train_step)


def starting_classifier(checkpoint: str, model: ModelParams, num_train_steps: int, seed: int,
                        mixed_precision: bool = False) -> Any:
    """The checkpoint's weights, seeded and compiled with the reference example's optimizer and the
    learning-rate schedule of `num_train_steps`: what `main` fits, and what the benchmarks time."""
    seed_everything(seed)
    with distribution_strategy(mixed_precision).scope():
        classifier = load_classifier(checkpoint)
        compile_classifier(classifier, learning_rate_schedule(model, num_train_steps))
    return classifier


def live_logger(live: Any, every: int, total: int) -> Any:
    """A Keras callback that logs loss/accuracy to dvclive and prints progress every `every` steps."""
    import tensorflow as tf

    class LiveEverySteps(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            step = batch + 1
            if step % every and step != total:
                return
            live.step = step  # the x axis of the curves is the optimizer step
            for name in ("loss", "accuracy"):
                live.log_metric(f"train/{name}", round(float(logs[name]), 6))
            live.sync()
            rate = step / (time.perf_counter() - self.started)
            print(f"step {step}/{total}  loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.4f}  "
                  f"{rate:.2f} steps/s", flush=True)

    return LiveEverySteps()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tokens_dir", type=Path)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("live_dir", type=Path)
    args = parser.parse_args()
    params = load_section(TrainParams)
    model_name, model_params = selected_model()
    train = read_arrays(args.tokens_dir / "train.npz", rebuild="tokenize")
    num_train_steps = resolve_train_steps(model_params, len(train["label"]))

    from dvclive import Live

    classifier = starting_classifier(model_params.checkpoint, model_params, num_train_steps, params.seed,
                                     params.mixed_precision)
    tokenizer = load_tokenizer(model_params.checkpoint)

    with atomic_path(args.live_dir) as live_staging, atomic_path(args.model_dir) as model_staging:
        with Live(str(live_staging), dvcyaml=None, save_dvc_exp=False, report=None) as live:
            live.log_params({"model": model_name, "num_train_steps": num_train_steps, "n_train": len(train["label"])})
            print(f"fine-tuning {model_name} for {num_train_steps} steps of {model_params.batch_size}")
            classifier.fit(batches(train, model_params.batch_size, shuffle_seed=params.seed),
                           steps_per_epoch=num_train_steps, epochs=1, verbose=0,
                           callbacks=[live_logger(live, params.log_every_steps, num_train_steps)])
        classifier.save_pretrained(str(model_staging))
        tokenizer.save_pretrained(str(model_staging))


if __name__ == "__main__":
    run(main)
