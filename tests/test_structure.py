"""The rules of the design page that code can check, and fit's steps tested alone."""

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_ae._data import _Blocks, _SparseRows, chunks_of, standardized, training_chunks
from sklearn_ae._losses import retained_variance

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_ae"


def _imports():
    """``{module: (package modules it imports, top-level packages it imports)}``.

    Module-level imports only: those run when the module is imported. (Two
    functions read the package's ``__version__`` when called, on purpose.)
    """
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        inner, outer = set(), set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                inner.add(f"{base}.{node.module}" if node.module else base)
            elif isinstance(node, ast.ImportFrom):
                outer.add(node.module.partition(".")[0])
            elif isinstance(node, ast.Import):
                outer.update(alias.name.partition(".")[0] for alias in node.names)
        graph[name] = (inner, outer)
    return graph


def test_the_package_has_no_import_circle():
    graph = {name: inner for name, (inner, _) in _imports().items()}
    done, path = set(), []

    def visit(name):
        assert name not in path, f"import circle: {' -> '.join([*path, name])}"
        if name in done or name not in graph:
            return
        path.append(name)
        for dependency in graph[name]:
            visit(dependency)
        path.pop()
        done.add(name)

    for name in graph:
        visit(name)


def test_skorch_stays_in_the_glue_and_the_data_layer_stays_below_it():
    graph = _imports()
    with_skorch = {name for name, (_, outer) in graph.items() if "skorch" in outer}
    assert with_skorch == {"sklearn_ae._net", "sklearn_ae._persistence"}
    for leaf in ("_data", "_graph", "_losses", "_modules", "_pca", "_scoring"):
        inner, outer = graph[f"sklearn_ae.{leaf}"]
        assert "sklearn_ae._net" not in inner and "skorch" not in outer, leaf


def _design_arrows():
    """``{module: modules it may import}`` and the leaves, from the design page's rooms.

    Modules are named as on the page (``_base``, ``plotting/*``); an arrow's
    targets may run on over the lines that follow it.
    """
    page = (PACKAGE.parent / "docs" / "design.rst").read_text()
    block = page.split("Rooms\n=====")[1].split(".. code-block:: text")[1]
    block = block.split("\n\n", 2)[1]  # the indented block, up to its blank line
    arrows, leaves, sources = {}, set(), None
    for line in block.splitlines():
        head, arrow, tail = line.partition("─>")
        if arrow:
            sources = [name.strip() for name in head.rstrip("─ ").split(",")]
        elif line.strip().startswith("leaves:"):
            sources, tail = None, line.partition(":")[2]
        else:
            tail = line
        targets = {name.strip() for name in tail.split(",") if name.strip()}
        for source in sources or ():
            arrows.setdefault(source, set()).update(targets)
        if sources is None:
            leaves |= targets
    return arrows, leaves


def test_every_import_in_the_package_is_an_arrow_of_the_design_page():
    arrows, leaves = _design_arrows()
    assert arrows and leaves
    for name, (inner, _) in _imports().items():
        page_name = name.removeprefix("sklearn_ae").lstrip(".") or "__init__"
        imported = {module.removeprefix("sklearn_ae.") for module in inner}
        if page_name == "plotting":  # the package's face: its own Displays
            imported = {module for module in imported if not module.startswith("plotting.")}
        elif page_name.startswith("plotting."):
            page_name = "plotting/*"
            imported = {module.replace(".", "/") for module in imported}
        if page_name in leaves:
            assert not imported, f"{page_name} is a leaf on the design page"
            continue
        undrawn = imported - arrows.get(page_name, set())
        assert not undrawn, f"{page_name} imports {sorted(undrawn)}: not drawn on the design page"


def _rows(n_rows=103, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_rows, n_features)) * [1, 2, 3, 4, 5] + 7


@pytest.mark.parametrize("chunk_rows", [1, 10, 1000])
def test_retained_variance_combines_chunks_exactly(chunk_rows):
    X = torch.from_numpy(_rows().astype(np.float32))
    identity = torch.nn.Identity()
    assert retained_variance(identity, "squared_error", torch.split(X, chunk_rows), 5) == 1.0

    class Mean(torch.nn.Module):  # reconstructs every row as the rows' mean
        def forward(self, x):
            return X.mean(dim=0).expand_as(x)

    kept = retained_variance(Mean(), "squared_error", torch.split(X, chunk_rows), 5)
    assert kept == pytest.approx(0.0, abs=1e-5)


def test_every_kind_of_training_rows_gives_the_same_chunks():
    """A tensor, sparse rows and blocks of a memmap feed PCA and the summaries alike."""
    import scipy.sparse as sp

    X = _rows()
    mean, scale = X.mean(axis=0), X.std(axis=0)
    expected = standardized(X, mean, scale, np.float32, rows=7)
    tensor = torch.from_numpy(expected)
    sparse = _SparseRows(
        sp.csr_matrix(X),
        mean,
        scale,
        lambda part: standardized(part, mean, scale, np.float32, rows=7),
        torch.device("cpu"),
    )
    blocks = _Blocks(
        X,
        lambda part: standardized(part, mean, scale, np.float32, rows=7),
        20,
        torch.device("cpu"),
    )
    for rows in (tensor, sparse, blocks):
        np.testing.assert_array_equal(torch.cat(list(chunks_of(rows, 7))).numpy(), expected)
        # the training side of the split: the same rows for a tensor and sparse rows
        if not isinstance(rows, _Blocks):
            train = torch.cat(list(training_chunks(rows, 0.25, 3, 7)))
            reference = torch.cat(list(training_chunks(tensor, 0.25, 3, 7)))
            np.testing.assert_array_equal(train.numpy(), reference.numpy())
            assert len(train) == 103 - 26
