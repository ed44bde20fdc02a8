"""A pytest plugin for `make mutate`'s test runs (`-p tools.mutmut_plugin`, see tools/mutate.py).

mutmut reads its settings from the working directory the first time a mutated function is called; a test that
moves into another directory first (tools/compare runs in a repository) would leave it none. They are read
here, when pytest starts in the module's scratch copy.

mutmut's fork server collects the tests once (`--collect-only`) and forks each mutant's run from there. The test
files import TensorFlow, transformers' TF models and alibi only inside the tests, so each fork would import them
again: about 20 s of a TF module's 25 s a mutant on 2 cores. Importing them runs no TensorFlow op, which is what
makes a fork unsafe, so the server imports them once, while it collects.
"""
from __future__ import annotations

import importlib
import os

import pytest

HEAVY_IMPORTS = ("tensorflow", "transformers.models.bert.modeling_tf_bert",
                 "transformers.models.distilbert.modeling_tf_distilbert", "alibi.explainers")


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("MUTANT_UNDER_TEST"):  # set by mutmut for its own runs only
        from mutmut.configuration import config as mutmut_settings

        mutmut_settings()
    if config.getoption("collectonly"):
        for module in HEAVY_IMPORTS:
            importlib.import_module(module)
