"""The README's Python examples run as written, quietly, and do what their comments say."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_readme_examples_run_in_order(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    namespace = {}
    with warnings.catch_warnings():
        # default fits converge (a grid search of digits pipelines included): no
        # ConvergenceWarning, and no UserWarning (the package's) either
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", UserWarning)
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)

    printed = capsys.readouterr().out
    assert "PCA" in printed and "AutoencoderTransformer" in printed
    assert namespace["codes"].shape == (1797, 8)
    assert namespace["X_back"].shape == namespace["X"].shape
    assert namespace["errors"].shape == (1797,)
    X_new = namespace["X_new"]
    assert set(np.unique(namespace["labels"])) <= {-1, 1}
    assert namespace["scores"].shape == (len(X_new),)
    assert namespace["per_feature"].shape == X_new.shape
