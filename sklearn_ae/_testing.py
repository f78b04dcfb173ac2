"""Access to the optional benchmark data sets used by the tests and benchmarks.

The package never needs them: every caller must cope with ``None``.
"""

import os
from pathlib import Path

import numpy as np

#: The twelve ADBench files, smallest first.
ADBENCH_NAMES = (
    "45_wine",
    "14_glass",
    "42_WBC",
    "18_Ionosphere",
    "29_Pima",
    "40_vowels",
    "20_letter",
    "6_cardio",
    "38_thyroid",
    "24_mnist",
    "22_magic.gamma",
    "32_shuttle",
)


def adbench_dir():
    """Folder of the ADBench ``.npz`` files, or None when it is absent.

    ``$SKLEARN_AE_DATASETS`` (a folder holding ``adbench/``) wins; otherwise
    ``../shared/datasets`` from the project root is used.
    """
    candidates = [
        os.environ.get("SKLEARN_AE_DATASETS"),
        Path(__file__).resolve().parents[2] / "shared" / "datasets",
        Path.cwd().parent / "shared" / "datasets",
    ]
    for root in filter(None, candidates):
        folder = Path(root) / "adbench"
        if folder.is_dir():
            return folder
    return None


def load_adbench(name):
    """``(X, y)`` of one ADBench file (y: 1 anomaly, 0 normal), or None if absent."""
    folder = adbench_dir()
    if folder is None or not (folder / f"{name}.npz").exists():
        return None
    with np.load(folder / f"{name}.npz") as data:
        return data["X"].astype(np.float64), data["y"].astype(int)
