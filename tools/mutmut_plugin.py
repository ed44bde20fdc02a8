"""A pytest plugin for `make mutate`'s test runs (`-p tools.mutmut_plugin`, see tools/mutate.py).

mutmut reads its settings from the working directory the first time a mutated function is called; a test that
moves into another directory first (tools/compare runs in a repository) would leave it none. They are read
here, when pytest starts in the module's scratch copy.
"""
from __future__ import annotations

import os


def pytest_configure(config: object) -> None:
    if os.environ.get("MUTANT_UNDER_TEST"):  # set by mutmut for its own runs only
        from mutmut.configuration import config as mutmut_settings

        mutmut_settings()
