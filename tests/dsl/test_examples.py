"""Every example of the language reference (DSL.md) parses and checks without errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gress_cep.dsl import ast, load, load_file
from gress_cep.dsl.errors import Diagnostic

from .checking import not_yet_runnable

EXAMPLES = Path(__file__).parent / "examples"
PLAIN = sorted(EXAMPLES.glob("*.gress"))
WITH_MODELS = sorted((EXAMPLES / "with_models").glob("*.gress"))


def runnable(warnings: list[Diagnostic]) -> list[Diagnostic]:
    """The warnings but those saying that a join or lookup view cannot run yet (§4 examples
    show joins and lookups, which check but have no operator yet)."""
    return [w for w in warnings if not not_yet_runnable(w.message)]


def test_the_examples_are_there() -> None:
    assert len(PLAIN) >= 20
    assert len(WITH_MODELS) == 4


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: p.stem)
def test_example_checks_without_errors_or_warnings(path: Path) -> None:
    program, warnings = load_file(path)
    assert program.declarations
    assert [w.render(str(path), program.source) for w in runnable(warnings)] == []


@pytest.mark.parametrize("path", WITH_MODELS, ids=lambda p: p.stem)
def test_model_example_checks_without_errors_by_names(path: Path) -> None:
    """Without a folder to open model files from, only the declarations are checked."""
    program, warnings = load(path.read_text(), str(path))
    assert program.of_type(ast.Model)
    assert [w.render(str(path), program.source) for w in runnable(warnings)] == []


@pytest.mark.parametrize("path", WITH_MODELS, ids=lambda p: p.stem)
def test_model_example_checks_without_errors_with_its_files(path: Path, tmp_path: Path) -> None:
    """With the model files it names in place (small classifiers of three features with a
    `probabilities` output, as the examples declare), the files are checked too."""
    from tests.models.model_files import sklearn_classifier

    copy = tmp_path / path.name
    copy.write_text(path.read_text())
    program, _ = load(copy.read_text(), str(copy))
    for model in program.of_type(ast.Model):
        for variant in (*model.variants, *model.shadows):
            target = tmp_path / variant.path
            target.parent.mkdir(parents=True, exist_ok=True)
            sklearn_classifier(target, n_features=3)
    program, warnings = load_file(copy)
    assert [w.render(str(copy), program.source) for w in runnable(warnings)] == []
