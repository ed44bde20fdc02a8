"""The plausibility stage end to end on tiny copies of both datasets in both layouts, the loaders on the archives
this workplace keeps, bad input as one line each, the report's section, `compare`'s line, and the rule that no
file of either dataset is tracked by git."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from stages.plumbing.errors import UserError
from stages.plumbing.rationales import KNOWN_ARCHIVES, RationaleDocument, eraser_documents, sst_sentences
from stages.report.plausibility import plausibility_line, plausibility_section
from tests.conftest import NEUTRAL, ROOT, copy_project_files, set_params
from tests.test_render import HOSTILE, assert_shown_as_text, run_main, write_inputs

SHARED_DATA = next((path for path in (ROOT.parent / "shared" / "data", Path("/work/shared/data"))
                    if (path / "eraser_movies.tar.gz").is_file()), None)
needs_shared_data = pytest.mark.skipif(SHARED_DATA is None, reason="no ../shared/data on this machine")


def eraser_folder(root: Path, hostile: bool = False) -> Path:
    """Four negative documents with `awful` marked, four positive ones with two neutral words marked."""
    (root / "docs").mkdir(parents=True)
    lines = []
    for index in range(8):
        words = [NEUTRAL[(index + offset) % len(NEUTRAL)] for offset in range(9)]
        negative = index % 2 == 0
        if negative:
            words[4] = "awful"
        if hostile and index == 0:
            words[1] = HOSTILE
        doc_id = f"{'neg' if negative else 'pos'}R_{index:03d}.txt"
        (root / "docs" / doc_id).write_text(" ".join(words[:5]) + "\n" + " ".join(words[5:]) + "\n")
        span = (4, 5) if negative else (1, 3)
        evidence = {"docid": doc_id, "start_token": span[0], "end_token": span[1],
                    "text": " ".join(words[slice(*span)])}
        lines.append(json.dumps({"annotation_id": doc_id, "classification": "NEG" if negative else "POS",
                                 "evidences": [[evidence]], "docids": None}))
    (root / "test.jsonl").write_text("\n".join(lines) + "\n")
    return root


def sst_folder(root: Path) -> Path:
    """Four trees: `awful` negative, `film` positive, the rest neutral."""
    (root / "sst").mkdir()
    (root / "sst" / "test.txt").write_text("\n".join(["(1 (2 the) (0 awful))", "(3 (2 the) (3 (3 film) (2 story)))",
                                                      "(0 (0 awful) (2 (2 the) (2 car)))", "(3 (3 film) (2 night))"]))
    return root / "sst"


def archive(folder: Path, target: Path, top: str) -> Path:
    """`folder`'s files in a .tar.gz (or .zip) under the top folder `top`."""
    files = [path for path in sorted(folder.rglob("*")) if path.is_file()]
    if target.suffix == ".zip":
        with zipfile.ZipFile(target, "w") as written:
            for path in files:
                written.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    else:
        with tarfile.open(target, "w:gz") as written:
            for path in files:
                written.add(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return target


def test_both_layouts_read_the_same_documents_and_the_identity_is_the_archives_sha256(tmp_path):
    folder = eraser_folder(tmp_path / "plain")
    packed = archive(folder, tmp_path / "movies.tar.gz", "movies")
    from_folder, folder_identity = eraser_documents(folder)
    from_archive, archive_identity = eraser_documents(packed)
    assert from_folder == from_archive and len(from_folder) == 8
    assert from_folder[0].words[4] == "awful" and from_folder[0].spans == [(4, 5)] and from_folder[0].label == 0
    assert from_folder[1].label == 1 and len(from_folder[1].words) == 9
    assert archive_identity.sha256 == hashlib.sha256(packed.read_bytes()).hexdigest()
    assert archive_identity.known_as is None and folder_identity.sha256 != archive_identity.sha256
    zipped = archive(sst_folder(tmp_path), tmp_path / "trainDevTestTrees_PTB.zip", "trees")
    assert sst_sentences(zipped)[0] == sst_sentences(tmp_path / "sst")[0]
    first = sst_sentences(zipped)[0][1]
    assert first.words == ["the", "film", "story"] and first.word_labels == [2, 3, 2] and first.label == 3
    assert first.phrases == [(0, 3, 3), (1, 3, 3)]


def test_a_documents_marked_words_count_an_overlap_once_and_keep_adjacent_spans_apart():
    # spans [1, 3) and [2, 4) overlap at word 2, [5, 6) and [6, 7) touch, [7, 7) is empty: 6 marked words, not 7
    document = RationaleDocument("d", 1, list("abcdefgh"), [(1, 3), (2, 4), (5, 6), (6, 7), (7, 7)])
    assert document.marked.tolist() == [False, True, True, True, False, True, True, False]


@needs_shared_data
def test_the_loaders_read_the_archives_this_workplace_keeps():
    documents, identity = eraser_documents(SHARED_DATA / "eraser_movies.tar.gz")
    assert len(documents) == 199 and sum(len(d.spans) for d in documents) == 2067
    assert sum(d.label for d in documents) == 99 and identity.known_as == "eraser_movies.tar.gz"
    marked = sum(len({p for s, e in d.spans for p in range(s, e)}) for d in documents)
    assert marked / sum(len(d.words) for d in documents) == pytest.approx(0.303, abs=0.001)
    sentences, identity = sst_sentences(SHARED_DATA / "sst_trees.tar.gz")
    assert len(sentences) == 2210 and identity.sha256 in KNOWN_ARCHIVES
    assert sum(len(s.words) for s in sentences) + sum(len(s.phrases) for s in sentences) == 82600


def broken_copy(tmp_path: Path, case: str) -> Path:
    folder = eraser_folder(tmp_path / "copy")
    lines = (folder / "test.jsonl").read_text().splitlines()
    if case == "classification":
        lines[2] = lines[2].replace('"NEG"', '"NEUTRAL"')
    elif case == "span":
        lines[2] = lines[2].replace('"end_token": 5', '"end_token": 99')
    elif case == "document":
        (folder / "docs" / "negR_002.txt").unlink()
    elif case == "json":
        lines[2] = lines[2][:20]
    (folder / "test.jsonl").write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize(("case", "message"), [
    ("classification", "test.jsonl line 3 is not an ERASER annotation (classification 'NEUTRAL' is not POS or NEG)"),
    ("span", "test.jsonl line 3: a rationale span lies outside docs/negR_002.txt's 9 tokens"),
    ("document", "no docs/negR_002.txt"),
    ("json", "test.jsonl line 3 is not an ERASER annotation (Unterminated string starting at: line 1 column 19 "
             "(char 18))")])
def test_a_broken_eraser_copy_is_one_line_naming_the_key_and_the_problem(tmp_path, case, message):
    folder = broken_copy(tmp_path, case)
    with pytest.raises(UserError) as caught:
        eraser_documents(folder)
    assert str(caught.value) == (f"params.yaml: plausibility.eraser = {folder}: {message} (expected an ERASER Movie "
                                 "Reviews archive or folder (test.jsonl and docs/))")


def test_a_missing_path_another_archive_or_a_bad_tree_is_one_line(tmp_path):
    with pytest.raises(UserError, match=r"^params.yaml: plausibility.eraser = .*nowhere.tar.gz: no such file or "
                                        r"folder \(expected an ERASER"):
        eraser_documents(tmp_path / "nowhere.tar.gz")
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(UserError, match=r"junk.tar.gz: not a readable archive \(.tar.gz or .zip\) or folder"):
        sst_sentences(tmp_path / "junk.tar.gz", "plausibility.sst")
    (tmp_path / "sst").mkdir()
    with pytest.raises(UserError, match=r"plausibility.sst = .*sst: no test.txt \(expected a Stanford"):
        sst_sentences(tmp_path / "sst")
    (tmp_path / "sst" / "test.txt").write_text("(7 (2 the) (0 awful))\n")
    with pytest.raises(UserError, match=r"test.txt line 1 is not a labelled PTB tree \(a node's label 7 is not 0-4\)"):
        sst_sentences(tmp_path / "sst")
    eraser = archive(eraser_folder(tmp_path / "eraser"), tmp_path / "eraser.tar.gz", "movies")
    with pytest.raises(UserError, match=r"plausibility.sst = .*eraser.tar.gz: no test.txt"):
        sst_sentences(eraser)  # the other dataset's archive


def plausibility_project(project: Path, eraser: Path | None, sst: Path | None) -> Path:
    copy_project_files(project)
    set_params(project, **{"plausibility.eraser": None if eraser is None else str(eraser),
                           "plausibility.sst": None if sst is None else str(sst), "plausibility.report_examples": 2,
                           "tokenize.max_len": 10, "explain.n_steps": 32, "explain.internal_batch_size": 32})
    return project


def run_stage(project: Path, model_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stages.plausibility", str(model_dir), "out.json", "metrics.json"],
                          cwd=project, capture_output=True, text=True)


@pytest.mark.stage_process
def test_the_keyword_models_explanations_find_the_marked_word(tmp_path, keyword_model_dir):
    """The keyword model predicts negative exactly when `awful` is there, which people marked in the negative
    documents: IG ranks it above random; the 10-token budget cuts each 9-word document's end; the SST words'
    scores toward positive follow their labels. The folder and the top-folder archive both read."""
    sst = archive(sst_folder(tmp_path), tmp_path / "sst_trees.tar.gz", "sst_trees")
    project = plausibility_project(tmp_path / "project", eraser_folder(tmp_path / "eraser", hostile=True), sst)
    result = run_stage(project, keyword_model_dir)
    assert result.returncode == 0, result.stderr
    measured, metrics = (json.loads((project / name).read_text()) for name in ("out.json", "metrics.json"))
    eraser = measured["eraser"]
    assert eraser["documents"] == 8 and eraser["source"]["sha256"] and eraser["source"]["known_as"] is None
    assert 0 < eraser["rationale_kept"] < 1 and eraser["accuracy"] == 1.0
    assert set(eraser["methods"]) == {"ig", "gradient_x_input", "saliency", "random"}
    assert eraser["methods"]["ig"]["auprc"] > eraser["methods"]["random"]["auprc"]
    assert len(eraser["shown"]) == 2 and eraser["shown"][0]["cut_at"] is not None
    assert metrics["eraser"]["ig"] == eraser["methods"]["ig"] and metrics["sst"]["sentences"] == 4
    assert metrics["sst"]["ig"]["spearman"] > 0.5 and metrics["sst"]["saliency"]["spearman"] is None
    assert measured["sst"]["source"]["sha256"] == hashlib.sha256(sst.read_bytes()).hexdigest()


@pytest.mark.stage_process
def test_with_neither_dataset_the_stage_records_that_it_was_not_run(tmp_path, keyword_model_dir):
    project = plausibility_project(tmp_path / "project", None, None)
    result = run_stage(project, keyword_model_dir)
    assert result.returncode == 0, result.stderr
    assert "plausibility.eraser and plausibility.sst are null: not measured" in result.stdout
    assert json.loads((project / "out.json").read_text()) == {"format": 1, "enabled": False}
    assert json.loads((project / "metrics.json").read_text()) == {}


@pytest.mark.stage_process
def test_a_wrong_path_stops_the_stage_before_any_output(tmp_path, keyword_model_dir):
    project = plausibility_project(tmp_path / "project", tmp_path / "movies.tar.gz", None)
    result = run_stage(project, keyword_model_dir)
    assert result.returncode == 2 and not (project / "out.json").exists()
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"error: params.yaml: plausibility.eraser = {tmp_path / 'movies.tar.gz'}: no such file or folder")


def measured_fixture() -> dict:
    """A plausibility file as the stage writes it: two methods and random on ERASER, one shown document whose
    second word was cut, with a hostile word; SST's signed and unsigned methods."""
    methods = {"random": {"auprc": 0.31, "token_f1": 0.3, "iou_f1": 0.0, "comprehensiveness": 0.01, "sufficiency": 0.2},
               "ig": {"auprc": 0.52, "token_f1": 0.41, "iou_f1": 0.05, "comprehensiveness": 0.3, "sufficiency": 0.02},
               "saliency": {"auprc": 0.4, "token_f1": 0.35, "iou_f1": 0.02, "comprehensiveness": 0.1,
                            "sufficiency": 0.1}}
    shown = {"id": "negR_900.txt", "label": 0, "predicted": 1, "words": ["a", HOSTILE, "film"],
             "scores": [0.1, -0.2, 0.3], "rationale": [False, True, True], "cut_at": 1, "total_words": 9}
    source = {"path": "data.tar.gz", "sha256": "ab" * 32, "known_as": None}
    return {"format": 1, "enabled": True, "settings": {"layer": "embeddings", "baseline": "pad", "max_len": 128},
            "eraser": {"source": source, "documents": 4, "scored": 3, "accuracy": 0.75, "rationale_share": 0.3,
                       "rationale_kept": 0.2, "kept_density": 0.25, "methods": methods, "shown": [shown]},
            "sst": {"source": source, "sentences": 5, "accuracy": 0.8,
                    "phrase_signs": {"ig": {"all": 0.7, "phrases": 10, "2-3": 0.75, "4-7": 0.5, "8-15": None,
                                            "16+": None}, "random": None},
                    "methods": {"ig": {"spearman": 0.4, "auprc": 0.6, "phrase_sign": 0.7},
                                "random": {"spearman": None, "auprc": 0.3, "phrase_sign": None}}}}


def test_the_section_orders_the_methods_with_the_floors_and_underlines_the_rationale():
    section = plausibility_section(measured_fixture())
    eraser = section["eraser"]
    assert [(row["name"], row["floor"], row["figures"][0]) for row in eraser["rows"]] == [
        ("Integrated Gradients", False, "0.520"), ("saliency (gradient norm)", False, "0.400"),
        ("random ranking", True, "0.310")]
    assert eraser["density"] == "0.250"
    assert ("3 of 4 ERASER Movie Reviews test documents with a marked word the model sees (accuracy 0.750). People "
            "marked 30.0% of the words; the model's 128 tokens keep 20.0% of the marked words, and 25.0% of the kept "
            "words are marked: random's expected AUPRC.") == eraser["summary"]
    words = eraser["documents"][0]["words"]
    assert [item["label"] for item in words] == ["a", "[…]", HOSTILE, "film"]
    assert [item["label"] for item in words if item.get("rationale")] == [HOSTILE, "film"]
    assert words[1]["title"] == "6 words cut here to fit the model's length"
    assert [row["figures"] for row in section["sst"]["rows"]] == [
        ["0.400", "0.600", "0.700", "0.750", "0.500", "—", "—"], ["—", "0.300", "—", "—", "—", "—", "—"]]


def test_the_report_shows_the_section_escaped_or_says_how_to_measure(monkeypatch, tmp_path):
    paths = write_inputs(tmp_path)
    hint = "Not measured: no human-annotated data given. Measure with <code>dvc exp run -S plausibility.eraser=PATH"
    assert hint in run_main(monkeypatch, paths)
    paths[6].write_text(json.dumps(measured_fixture()))
    page = run_main(monkeypatch, paths)
    section = page[page.index('<section class="plausibility">'):page.index('<section class="examples">')]
    assert len(re.findall(r'<mark class="rationale-word rationale"', section)) == 2
    assert section.count('<section class="rationale-card">') == 1 and "ERASER document negR_900.txt" in section
    assert "sha256 abababababababab…" in section
    assert_shown_as_text(section, HOSTILE)


def test_compares_line_gives_each_methods_auprc_and_spearman_left_to_right():
    left = {"eraser": {"documents": 4, "ig": {"auprc": 0.5}, "random": {"auprc": 0.3}},
            "sst": {"sentences": 5, "ig": {"spearman": 0.4}}}
    right = {"eraser": {"documents": 4, "ig": {"auprc": 0.6}, "random": {"auprc": 0.31}},
             "sst": {"sentences": 5, "ig": {"spearman": None}}}
    assert plausibility_line("a", "b", left, right) == (
        "a vs b, plausibility: eraser auprc ig 0.500 → 0.600, random 0.300 → 0.310; sst spearman ig 0.400 → —")
    assert plausibility_line("a", "b", None, right) == "a vs b, plausibility: measured only at b"
    assert plausibility_line("a", "b", None, None) is None


def test_no_file_of_either_dataset_is_tracked_by_git():
    """No tracked path has a dataset file's name; with the archives at hand, no tracked file holds a document's
    first line or a test sentence of 40 characters or more."""
    tracked = [path for path in subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                                               check=True).stdout.decode().split("\0") if path]
    named = [path for path in tracked if re.search(r"(^|/)((neg|pos)R_\d+\.txt|(train|val|test)\.jsonl|"
                                                   r"(train|dev|test)\.txt|.*human_perf\.jsonl|eraser_movies.*|"
                                                   r"sst_trees.*|movies\.tar\.gz|trainDevTestTrees.*)$", path)]
    assert named == []
    if SHARED_DATA is None:
        return
    documents, _ = eraser_documents(SHARED_DATA / "eraser_movies.tar.gz")
    sentences, _ = sst_sentences(SHARED_DATA / "sst_trees.tar.gz")
    texts = {" ".join(d.words[:12]) for d in documents} | {" ".join(s.words) for s in sentences}
    texts = {text for text in texts if len(text) >= 40}
    for path in tracked:
        file = ROOT / path
        if file.is_file() and file.stat().st_size < 5_000_000:
            content = file.read_bytes().decode("utf-8", errors="ignore")
            assert not [text for text in texts if text in content], path
