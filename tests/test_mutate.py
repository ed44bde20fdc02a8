"""`make mutate`'s lists kept current with the code: every module and test file it names exists, every
planted misreading still finds its line, every equivalent mutant names a function that exists; a run saves
the tiny models once."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import MODEL_CACHE_VARIABLE, saved_model
from tools.misreadings import MISREADINGS
from tools.mutate import MODULES, equivalent_mutants, listed_for

ROOT = Path(__file__).resolve().parents[1]


def test_every_module_and_test_file_exists():
    assert [path for path in [*MODULES, *(t for tests in MODULES.values() for t in tests)]
            if not (ROOT / path).is_file()] == []


@pytest.mark.parametrize("misreading", MISREADINGS, ids=lambda misreading: misreading.figure)
def test_each_misreading_finds_its_line_once_in_a_mutated_module(misreading):
    assert misreading.module in MODULES
    assert (ROOT / misreading.module).read_text().count(misreading.right) == 1
    assert misreading.wrong != misreading.right


def functions(path: Path) -> set[str]:
    """`name` of each function and `Class.name` of each method, as mutmut names their mutants."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{item.name}" for item in node.body if isinstance(item, ast.FunctionDef)}
    return names


MUTANT_NAME = re.compile(r"(?P<module>[\w.]+)\.x(?:ǁ(?P<cls>\w+)ǁ(?P<method>\w+)|_(?P<function>\w+))__mutmut_\d+")


def test_the_equivalent_mutants_read_from_the_docs_name_functions_of_the_mutated_modules():
    listed = equivalent_mutants()
    assert "stages.attribution.faithfulness.x_erasure_variants__mutmut_11" in listed
    for name in listed:
        parts = MUTANT_NAME.fullmatch(name)
        path = parts["module"].replace(".", "/") + ".py"
        function = f"{parts['cls']}.{parts['method']}" if parts["cls"] else parts["function"]
        assert path in MODULES and function in functions(ROOT / path), name


def test_a_model_cache_saves_each_model_once_for_every_later_session(tmp_path_factory, tmp_path, monkeypatch):
    saves: list[Path] = []

    def save(folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        (folder / "weights").write_text(str(len(saves)))
        saves.append(folder)

    monkeypatch.delenv(MODEL_CACHE_VARIABLE, raising=False)
    fresh = [saved_model(tmp_path_factory, "tiny", save) for _ in range(2)]
    assert fresh[0] != fresh[1] and saves == fresh  # no cache: a model per session

    monkeypatch.setenv(MODEL_CACHE_VARIABLE, str(tmp_path / "cache"))
    (tmp_path / "cache" / "tiny").mkdir(parents=True)  # a save cut short: not taken for a saved model, removed
    (tmp_path / "cache" / "tiny" / "half-written").touch()
    cached = [saved_model(tmp_path_factory, "tiny", save) for _ in range(2)]
    assert cached == [tmp_path / "cache" / "tiny"] * 2 and saves[2:] == cached[:1]
    assert sorted(path.name for path in cached[0].iterdir()) == ["weights"]
    assert (cached[0] / "weights").read_text() == "2"


def test_the_equivalents_of_a_module_are_its_functions_and_methods_mutants_only():
    listed = {"stages.report.views.x_quality_rows__mutmut_13", "stages.report.views.xǁCard__initǁ__mutmut_2",
              "stages.report.views_extra.x_rows__mutmut_1", "stages.report.readers.x_read_curve__mutmut_2"}
    assert listed_for("stages/report/views.py", listed) == {"stages.report.views.x_quality_rows__mutmut_13",
                                                            "stages.report.views.xǁCard__initǁ__mutmut_2"}
