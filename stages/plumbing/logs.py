"""How loud a stage is. TensorFlow and transformers print a dozen start-up notices (CUDA factories,
TensorRT, CPU instructions, the TF deprecation notice, "All the layers ... were initialized") that a
user can do nothing about; a stage hides them, so that progress bars, figures and real warnings
stand out. `IG_VERBOSE=1 dvc repro` brings them back."""
from __future__ import annotations

import os

VERBOSE_VARIABLE = "IG_VERBOSE"

# Set before TensorFlow or transformers is imported: both read them once, at import.
QUIET_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ log: the CUDA factory "errors" are level 2 on a CPU machine
    "TRANSFORMERS_VERBOSITY": "error",  # transformers' logger: notices are warnings there
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def verbose() -> bool:
    return os.environ.get(VERBOSE_VARIABLE, "").lower() not in ("", "0", "false", "no")


def quiet_unless_verbose() -> None:
    """Hide the libraries' start-up notices unless `IG_VERBOSE` is set; a user's own settings win."""
    if not verbose():
        for name, value in QUIET_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
