"""Human-annotated sentiment data read where a user keeps it, never copied into the project: ERASER Movie Reviews'
rationales (DeYoung et al. 2020, on Zaidan et al. 2007's annotations) and the Stanford Sentiment Treebank's
labelled trees (Socher et al. 2013). Each is read from its archive (.tar.gz or .zip) or unpacked folder, under
any one top folder or none, checked against its layout, and identified by its sha256."""
from __future__ import annotations

import hashlib
import json
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stages.plumbing.errors import UserError

# Archives whose sha256 is known (../shared/data/README.md and the public loaders it names).
KNOWN_ARCHIVES = {
    "cd0b53e00ed86c6ff608e0fcccd6dbfa34a7ad504318a887af6d4fbd4ab5bfb1": "eraser_movies.tar.gz",
    "66e18d4e6c9df9e9f5544572b0bfe92a39673f74ecbfc3859b46cedb2f5b2dee": "ERASER's movies.tar.gz",
    "d8ffe454f563d15d37fc49d203e293ee7cd00c3ab7607e639069de2c4bce5cbf": "sst_trees.tar.gz",
}
ERASER_EXPECTED = "an ERASER Movie Reviews archive or folder (test.jsonl and docs/)"
SST_EXPECTED = "a Stanford Sentiment Treebank archive or folder of PTB trees (test.txt)"
SENTIMENT_LABELS = range(5)  # SST: 0 very negative .. 2 neutral .. 4 very positive


@dataclass(frozen=True)
class Identity:
    """Which copy was read: its sha256 (of the archive, or of the files read from a folder) and, where the
    sha256 is a known archive's, that archive's name."""

    path: str
    sha256: str
    known_as: str | None


@dataclass(frozen=True)
class RationaleDocument:
    """An ERASER document: its whitespace tokens, gold class (1 positive) and human rationale spans
    [start, end) into the tokens."""

    id: str
    label: int
    words: list[str]
    spans: list[tuple[int, int]]

    @property
    def marked(self) -> np.ndarray:
        """Whether people marked each word (a word in two spans is marked once)."""
        mask = np.zeros(len(self.words), dtype=bool)
        for start, end in self.spans:
            mask[start:end] = True
        return mask


@dataclass(frozen=True)
class TreeSentence:
    """An SST sentence: its words, each word's sentiment label, its phrases (nodes of two words or more) as
    (start, end, label) over the words, and the whole sentence's label."""

    words: list[str]
    word_labels: list[int]
    phrases: list[tuple[int, int, int]]
    label: int


class Files:
    """The files of an archive or folder by their path under its top folder (`members`), read as text."""

    def __init__(self, path: Path, key: str, expected: str) -> None:
        self.path, self.key, self.expected = path, key, expected
        self.digest = hashlib.sha256()
        if not path.exists():
            raise UserError(f"params.yaml: {key} = {path}: no such file or folder (expected {expected})")
        self.read_raw, names = self.opened(path)
        tops = {name.split("/", 1)[0] for name in names if "/" in name}
        self.prefix = ""
        if len(tops) == 1 and not any("/" not in name and name.endswith((".jsonl", ".txt")) for name in names):
            self.prefix = f"{tops.pop()}/"
        self.members = {name[len(self.prefix):] for name in names if name.startswith(self.prefix)}

    def opened(self, path: Path) -> tuple[Callable[[str], bytes], list[str]]:
        if path.is_dir():
            names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
            return lambda name: (path / name).read_bytes(), names
        self.digest.update(path.read_bytes())
        try:
            if zipfile.is_zipfile(path):
                archive = zipfile.ZipFile(path)
                return archive.read, [n for n in archive.namelist() if not n.endswith("/")]
            tar = tarfile.open(path)
            members = {m.name.removeprefix("./"): m for m in tar.getmembers() if m.isfile()}
            return lambda name: tar.extractfile(members[name]).read(), list(members)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError):
            raise UserError(f"params.yaml: {self.key} = {path}: not a readable archive (.tar.gz or .zip) or folder "
                            f"(expected {self.expected})") from None

    def text(self, name: str) -> str:
        if name not in self.members:
            raise self.wrong(f"no {name}")
        raw = self.read_raw(self.prefix + name)
        if self.path.is_dir():
            self.digest.update(name.encode() + b"\0" + raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.wrong(f"{name} is not UTF-8 text") from None

    def wrong(self, problem: str) -> UserError:
        return UserError(f"params.yaml: {self.key} = {self.path}: {problem} (expected {self.expected})")

    def identity(self) -> Identity:
        sha256 = self.digest.hexdigest()
        return Identity(str(self.path), sha256, KNOWN_ARCHIVES.get(sha256))


def eraser_documents(path: Path, key: str = "plausibility.eraser") -> tuple[list[RationaleDocument], Identity]:
    """ERASER Movie Reviews' test documents with their rationales, in the file's order."""
    files = Files(path, key, ERASER_EXPECTED)
    documents = [eraser_document(files, number, line)
                 for number, line in enumerate(files.text("test.jsonl").splitlines(), start=1) if line.strip()]
    if not documents:
        raise files.wrong("test.jsonl holds no document")
    return documents, files.identity()


def eraser_document(files: Files, number: int, line: str) -> RationaleDocument:
    try:
        annotation = json.loads(line)
        doc_id, classification = str(annotation["annotation_id"]), annotation["classification"]
        evidences = [evidence for group in annotation["evidences"] for evidence in group]
        if classification not in ("POS", "NEG"):
            raise ValueError(f"classification {classification!r} is not POS or NEG")
        spans = [(int(evidence["start_token"]), int(evidence["end_token"])) for evidence in evidences]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise files.wrong(f"test.jsonl line {number} is not an ERASER annotation ({error})") from None
    words = files.text(f"docs/{doc_id}").split()
    if any(not 0 <= start <= end <= len(words) for start, end in spans):
        raise files.wrong(f"test.jsonl line {number}: a rationale span lies outside docs/{doc_id}'s "
                          f"{len(words)} tokens")
    return RationaleDocument(doc_id, int(classification == "POS"), words, spans)


def sst_sentences(path: Path, key: str = "plausibility.sst") -> tuple[list[TreeSentence], Identity]:
    """The Stanford Sentiment Treebank's test sentences, in the file's order (`pytreebank` parses each tree)."""
    import pytreebank  # only where a treebank is read

    files = Files(path, key, SST_EXPECTED)
    sentences = []
    for number, line in enumerate(files.text("test.txt").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            sentences.append(tree_sentence(pytreebank.create_tree_from_string(line)))
        except (ValueError, AttributeError, TypeError) as error:
            raise files.wrong(f"test.txt line {number} is not a labelled PTB tree ({error})") from None
    if not sentences:
        raise files.wrong("test.txt holds no tree")
    return sentences, files.identity()


def tree_sentence(root: object) -> TreeSentence:
    """The words, word labels and phrases of one parsed tree (every node labelled 0-4)."""
    words: list[str] = []
    labels: list[int] = []
    phrases: list[tuple[int, int, int]] = []

    def visit(node: object) -> None:
        if node.label not in SENTIMENT_LABELS:
            raise ValueError(f"a node's label {node.label!r} is not 0-4")
        start = len(words)
        if not node.children:
            if not node.text:
                raise ValueError("a leaf has no word")
            words.append(node.text)
            labels.append(node.label)
            return
        for child in node.children:
            visit(child)
        if len(words) - start >= 2:
            phrases.append((start, len(words), node.label))

    visit(root)
    return TreeSentence(words, labels, sorted(phrases), root.label)

