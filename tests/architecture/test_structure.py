"""The code stays readable in one pass: short functions, and comments that cite the repository's own
``docs/`` rather than documents a reader of the repository cannot open."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 60
# Documents that live outside the repository; the repository's ``docs/`` replaces them.
OUTSIDE_DOCUMENTS = re.compile(r"DESIGN\.md|STYLE\.md|platform-apis\.md|shared/reference")


def _python_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from (path for path in sorted(root.rglob("*.py")) if "__pycache__" not in path.parts)


def _source_files() -> Iterator[Path]:
    """Every module of every service's ``src`` and of ``shared/src``, migrations left out."""
    roots = [*sorted((ROOT / "services").glob("*/src")), ROOT / "shared" / "src"]
    yield from (path for path in _python_files(*roots) if "migrations" not in path.parts)


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _long_functions(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                yield f"{_relative(path)}:{node.lineno} {node.name} ({length} lines)"


def _docstring_lines(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                for offset, line in enumerate(first.value.value.splitlines()):
                    yield first.lineno + offset, line


def _comment_lines(source: str) -> Iterator[tuple[int, str]]:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


TEXT_SUFFIXES = {".md", ".toml", ".yaml", ".yml", ".json", ".cfg", ".ini", ".txt", ".sh"}


def _outside_citations(path: Path) -> Iterator[str]:
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        lines = sorted({*_comment_lines(source), *_docstring_lines(ast.parse(source, filename=str(path)))})
    else:
        lines = list(enumerate(source.splitlines(), start=1))
    for line_number, text in lines:
        if OUTSIDE_DOCUMENTS.search(text):
            yield f"{_relative(path)}:{line_number} {text.strip()}"


def _cited_files() -> Iterator[Path]:
    """Modules and text files of services, shared, bench and tests (sample payloads are data, not prose)."""
    for root in (ROOT / "services", ROOT / "shared", ROOT / "bench", ROOT / "tests"):
        for path in sorted(root.rglob("*")):
            skipped = {"__pycache__", ".mypy_cache", "samples"} & set(path.parts)
            if path.is_file() and not skipped and path.suffix in {".py", *TEXT_SUFFIXES}:
                yield path


def test_no_function_outside_migrations_is_longer_than_60_lines() -> None:
    offenders = [found for path in _source_files() for found in _long_functions(path)]
    assert not offenders, f"functions longer than {MAX_FUNCTION_LINES} lines:\n" + "\n".join(offenders)


def test_no_comment_or_docstring_cites_a_document_outside_the_repository() -> None:
    offenders = [found for path in _cited_files() for found in _outside_citations(path)]
    assert not offenders, "cite docs/ instead of documents outside the repository:\n" + "\n".join(offenders)
