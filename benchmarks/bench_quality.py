"""Quality of the default estimators against PCA, IsolationForest and PyOD.

Two protocols, default parameters only (no per-data-set tuning):

reduction
    Split each data set 50/50 (fixed seed), standardize on the training half, fit
    PCA and ``AutoencoderTransformer`` at the same ``n_components`` on it, and
    compare the mean squared reconstruction error of the held-out half. Data sets:
    digits, swiss roll, S-curve and the ADBench files with at least 16 features.

detection
    Transductive, as in ADBench: fit on all rows of each ADBench file (labels
    unused), score the same rows, ROC-AUC against the labels. IsolationForest,
    PCA reconstruction error, PyOD's ``AutoEncoder`` (when installed) and
    ``AutoencoderOutlierDetector``, side by side in one process.

novelty
    Inductive: train on 75 % of the inliers of each ADBench file, score the
    other inliers with all the outliers (two splits each). Prints the ROC-AUC
    and, with ``contamination=0.05``, the share of the new inliers that
    ``predict`` flags (5 % if the threshold held on unseen rows), for
    IsolationForest, ``AutoencoderOutlierDetector``, the detector with its
    threshold set on held-out rows (the user guide's recipe) and, with
    ``--alpha``, the detector with that weight decay.

Usage::

    python benchmarks/bench_quality.py              # both protocols
    python benchmarks/bench_quality.py reduction    # one of them
    python benchmarks/bench_quality.py detection --quick   # smaller data sets only
    python benchmarks/bench_quality.py novelty --alpha 1e-3

ADBench files are read from ``../shared/datasets/adbench`` (or
``$SKLEARN_AE_DATASETS/adbench``); without them only the bundled data sets run.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_s_curve, make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer
from sklearn_ae._testing import ADBENCH_NAMES, load_adbench

SEED = 0


def reduction_datasets():
    yield "digits", load_digits().data
    yield "swiss_roll", make_swiss_roll(n_samples=2000, noise=0.05, random_state=SEED)[0]
    yield "s_curve", make_s_curve(n_samples=2000, noise=0.05, random_state=SEED)[0]
    for name in ADBENCH_NAMES:
        data = load_adbench(name)
        if data is not None and data[0].shape[1] >= 16:
            yield name, data[0]


def held_out_errors(X, k):
    """Held-out MSE (standardized units) of PCA and of the autoencoder at ``k``."""
    X_train, X_test = train_test_split(X, test_size=0.5, random_state=SEED)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    errors = {}
    for name, model in [
        ("pca", PCA(n_components=k, random_state=SEED)),
        ("ours", AutoencoderTransformer(n_components=k, random_state=SEED)),
    ]:
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        X_rec = model.inverse_transform(model.transform(X_test))
        errors[name] = (float(np.mean((X_rec - X_test) ** 2)), seconds)
    return errors


def run_reduction():
    print("Reduction: held-out mean squared error, standardized units (ours / PCA)")
    print(f"{'data set':<16} {'k':>3} {'PCA':>8} {'ours':>8} {'ratio':>7} {'fit (s)':>8}")
    ratios, manifold_ratios = [], []
    for name, X in reduction_datasets():
        for k in (2, 4, 8):
            if k >= X.shape[1] or (k > 2 and X.shape[1] <= 3):
                continue
            errors = held_out_errors(X, k)
            ratio = errors["ours"][0] / errors["pca"][0]
            (manifold_ratios if X.shape[1] == 3 else ratios).append(ratio)
            print(
                f"{name:<16} {k:>3} {errors['pca'][0]:>8.4f} {errors['ours'][0]:>8.4f} "
                f"{ratio:>7.4f} {errors['ours'][1]:>8.2f}",
                flush=True,
            )
    everything = ratios + manifold_ratios
    print(f"worst ratio: {max(everything):.4f} (target <= 1.00)")
    print(f"geometric mean of ratios: {np.exp(np.mean(np.log(everything))):.3f} (target <= 0.85)")
    print(f"worst ratio on swiss roll / S-curve, k=2: {max(manifold_ratios):.3f} (target <= 0.40)")


def detectors():
    yield "IsolationForest", lambda: IsolationForest(random_state=SEED)
    yield "PCA", lambda: _PCAReconstruction()
    try:
        from pyod.models.auto_encoder import AutoEncoder
    except ImportError:
        print("(PyOD not installed: its AutoEncoder is skipped)")
    else:
        yield "PyOD AutoEncoder", lambda: _PyOD(AutoEncoder(random_state=SEED, verbose=0))
    yield "ours", lambda: AutoencoderOutlierDetector(random_state=SEED)


class _PCAReconstruction:
    """PCA reconstruction error at 95 % variance on standardized data."""

    def fit(self, X):
        self.scaler_ = StandardScaler().fit(X)
        self.pca_ = PCA(n_components=0.95, random_state=SEED).fit(self.scaler_.transform(X))
        return self

    def score_samples(self, X):
        Z = self.scaler_.transform(X)
        return -np.mean((self.pca_.inverse_transform(self.pca_.transform(Z)) - Z) ** 2, axis=1)


class _PyOD:
    """PyOD detectors score 'higher is more abnormal'; flip to scikit-learn's sign."""

    def __init__(self, model):
        self.model = model

    def fit(self, X):
        self.model.fit(X)
        return self

    def score_samples(self, X):
        return -self.model.decision_function(X)


def _available_adbench(names):
    """``(name, X, y)`` of each ADBench file present; a line for each one missing."""
    for name in names:
        data = load_adbench(name)
        if data is None:
            print(f"{name:<16} (not available)")
        else:
            yield name, *data


def run_detection(quick):
    names = ADBENCH_NAMES[:10] if quick else ADBENCH_NAMES
    contenders = list(detectors())
    aucs = {name: [] for name, _ in contenders}
    seconds = {name: 0.0 for name, _ in contenders}
    header = " ".join(f"{name:>17}" for name, _ in contenders)
    print(f"Detection: ROC-AUC, fit on all rows and score them\n{'data set':<16} {header}")
    for data_name, X, y in _available_adbench(names):
        row = []
        for name, make in contenders:
            start = time.perf_counter()
            scores = make().fit(X).score_samples(X)
            seconds[name] += time.perf_counter() - start
            aucs[name].append(roc_auc_score(y, -scores))
            row.append(f"{aucs[name][-1]:>17.3f}")
        print(f"{data_name:<16} {' '.join(row)}", flush=True)
    if not aucs["ours"]:
        return
    print(f"{'mean ROC-AUC':<16} " + " ".join(f"{np.mean(v):>17.3f}" for v in aucs.values()))
    print(f"{'fit+score (s)':<16} " + " ".join(f"{v:>17.1f}" for v in seconds.values()))
    for name in aucs:
        if name != "ours":
            print(
                f"ours - {name}: mean ROC-AUC {np.mean(aucs['ours']) - np.mean(aucs[name]):+.3f}, "
                f"time ratio {seconds['ours'] / seconds[name]:.2f}"
            )


class _HeldOutCut:
    """The user guide's recipe: the cut is the 5 % quantile of held-out scores.

    Trains the detector on 80 % of the rows and sets the threshold from the
    scores of the other 20 %, which the network never saw.
    """

    def __init__(self, model):
        self.model = model

    def fit(self, X):
        X_fit, X_calibration = train_test_split(X, test_size=0.2, random_state=SEED)
        self.model.fit(X_fit)
        self.threshold_ = np.quantile(self.model.score_samples(X_calibration), 0.05)
        return self

    def score_samples(self, X):
        return self.model.score_samples(X)

    def predict(self, X):
        return np.where(self.score_samples(X) < self.threshold_, -1, 1)


def run_novelty(alpha=None):
    contenders = {
        "IsolationForest": lambda: IsolationForest(contamination=0.05, random_state=SEED),
        "ours": lambda: AutoencoderOutlierDetector(contamination=0.05, random_state=SEED),
        "ours, held-out cut": lambda: _HeldOutCut(AutoencoderOutlierDetector(random_state=SEED)),
    }
    if alpha is not None:
        contenders[f"ours, alpha={alpha:g}"] = lambda: AutoencoderOutlierDetector(
            contamination=0.05, alpha=alpha, random_state=SEED
        )
    print(
        "Novelty: train on 75 % of the inliers, score the other inliers and the outliers;\n"
        "ROC-AUC / share of the new inliers flagged with contamination=0.05 (two splits)"
    )
    print(f"{'data set':<16} " + " ".join(f"{name:>22}" for name in contenders))
    results = {name: [] for name in contenders}
    for data_name, X, y in _available_adbench(ADBENCH_NAMES):
        inliers, outliers = X[y == 0], X[y == 1]
        row = []
        for name, make in contenders.items():
            aucs, flagged = [], []
            for split in (0, 1):
                fit_rows, new_inliers = train_test_split(
                    inliers, test_size=0.25, random_state=split
                )
                model = make().fit(fit_rows)
                scores = model.score_samples(np.vstack([new_inliers, outliers]))
                labels = np.r_[np.zeros(len(new_inliers)), np.ones(len(outliers))]
                aucs.append(roc_auc_score(labels, -scores))
                flagged.append(np.mean(model.predict(new_inliers) == -1))
            results[name].append((np.mean(aucs), np.mean(flagged)))
            row.append(f"{np.mean(aucs):>14.3f} / {np.mean(flagged):5.3f}")
        print(f"{data_name:<16} " + " ".join(row), flush=True)
    if results["ours"]:
        print(
            f"{'mean':<16} "
            + " ".join(
                f"{np.mean([a for a, _ in r]):>14.3f} / {np.mean([f for _, f in r]):5.3f}"
                for r in results.values()
            )
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "protocol", nargs="?", choices=["reduction", "detection", "novelty", "both"]
    )
    parser.add_argument("--quick", action="store_true", help="detection on the 10 smaller files")
    parser.add_argument("--alpha", type=float, help="novelty: also the detector with this alpha")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", message=".*hasn't converged.*")
    if args.protocol in (None, "both", "reduction"):
        run_reduction()
        print()
    if args.protocol in (None, "both", "detection"):
        run_detection(args.quick)
    if args.protocol == "novelty":
        run_novelty(args.alpha)


if __name__ == "__main__":
    main()
