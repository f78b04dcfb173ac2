"""Every gallery example runs to the end, as the documentation build runs it, quietly."""

import re
import runpy
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("**/plot_*.py"))


def test_there_are_examples():
    assert EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_examples_do_not_hide_warnings(path):
    """The fits of an example converge: none silences the warning that says they do not."""
    source = path.read_text(encoding="utf-8")
    assert not re.search(r"filterwarnings|simplefilter|catch_warnings", source)


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_runs(path, tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # in this process (no new interpreter to start), from a scratch folder
    monkeypatch.chdir(tmp_path)
    try:
        with warnings.catch_warnings():
            # an example's fits converge and its data are fine: a
            # ConvergenceWarning or a UserWarning (the package's) fails it
            warnings.simplefilter("error", ConvergenceWarning)
            warnings.simplefilter("error", UserWarning)
            warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
            runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
