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


#: The benchmark files in four groups, each listed in a fixed order: the
#: classical and larger files by their ADBench number, the image embeddings
#: and the semantic embeddings by name. Within each group, the entries at even
#: positions (first, third, ...) form the tuning half, on which defaults are
#: chosen; the others form the confirming half, on which they are checked. An
#: entry that is a tuple holds files of the same rows seen by different
#: encoders (the 20-newsgroups posts through BERT and RoBERTa): they share a
#: position, so they always fall in the same half.
ADBENCH_GROUPS = {
    "classical": (
        "6_cardio",
        "14_glass",
        "18_Ionosphere",
        "20_letter",
        "22_magic.gamma",
        "24_mnist",
        "29_Pima",
        "32_shuttle",
        "38_thyroid",
        "40_vowels",
        "42_WBC",
        "45_wine",
    ),
    "larger": (
        "1_ALOI",
        "5_campaign",
        "8_celeba",
        "10_cover",
        "11_donors",
        "16_http",
        "33_skin",
        "34_smtp",
    ),
    "embeddings": tuple(
        f"MVTec-AD_{name}"
        for name in ("bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather")
    ),
    "semantic": (
        ("semantic/20news_3_BERT", "semantic/20news_3_RoBERTa"),
        "semantic/CIFAR10_4",
        "semantic/CIFAR10_6",
        "semantic/SVHN_8",
        "semantic/SVHN_9",
    ),
}


def group_files(group):
    """The file names of ``group`` in ``ADBENCH_GROUPS``, in order, tuples unpacked."""
    names = []
    for entry in ADBENCH_GROUPS[group]:
        names.extend(entry if isinstance(entry, tuple) else (entry,))
    return tuple(names)


#: Rows kept of a larger file: a sample drawn with ``np.random.RandomState(0)``.
MAX_ROWS = 20_000


def adbench_half(name):
    """``"tuning"`` or ``"confirming"``: the half of its group that file ``name`` is in."""
    for entries in ADBENCH_GROUPS.values():
        for position, entry in enumerate(entries):
            if name == entry or (isinstance(entry, tuple) and name in entry):
                return "tuning" if position % 2 == 0 else "confirming"
    raise KeyError(name)


def adbench_dir():
    """Folder of the ADBench ``.npz`` files, or None when it is absent.

    ``$SKLEARN_AE_DATASETS`` (a folder holding ``adbench/``, and optionally
    ``semantic/`` beside it) wins; otherwise
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


def load_adbench(name, max_rows=None):
    """``(X, y)`` of one ADBench file (y: 1 anomaly, 0 normal), or None if absent.

    With ``max_rows``, a file with more rows is subsampled to that many, in
    their original order, by ``np.random.RandomState(0)``: the same rows for
    every estimator compared.
    """
    folder = adbench_dir()
    if folder is None:
        return None
    # "semantic/NAME" lies in the folder beside adbench/
    path = (folder.parent if "/" in name else folder) / f"{name}.npz"
    if not path.exists():
        return None
    with np.load(path) as data:
        X, y = data["X"].astype(np.float64), data["y"].astype(int)
    if max_rows is not None and len(X) > max_rows:
        keep = np.sort(np.random.RandomState(0).choice(len(X), max_rows, replace=False))
        X, y = X[keep], y[keep]
    return X, y
