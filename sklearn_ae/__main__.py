"""``python -m sklearn_ae``: the package's main job on scikit-learn's bundled data.

1. Reduces the digits with PCA and with ``AutoencoderTransformer`` at the same
   ``n_components`` and prints held-out reconstruction error, the accuracy of a
   classifier trained on the codes, and fit times.
2. Detects malignant tumours hidden among benign ones (breast-cancer data) with
   ``AutoencoderOutlierDetector`` and ``IsolationForest`` and prints both ROC-AUCs.
3. Saves a figure of both when matplotlib is installed.

Nothing is downloaded.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer


def _timed_fit(estimator, X):
    start = time.perf_counter()
    estimator.fit(X)
    return time.perf_counter() - start


def compare_reduction(n_components_list, random_state=0):
    """Rows of (name, k, held-out MSE, classifier accuracy, fit seconds) on digits."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, random_state=random_state, stratify=y
    )
    rows, fitted = [], {}
    for k in n_components_list:
        for name, reducer in [
            ("PCA", PCA(n_components=k)),  # the same raw pixels, defaults on both sides
            ("Autoencoder", AutoencoderTransformer(n_components=k, random_state=random_state)),
        ]:
            seconds = _timed_fit(reducer, X_train)
            X_rec = reducer.inverse_transform(reducer.transform(X_test))
            mse = float(np.mean((X_rec - X_test) ** 2))
            clf = LogisticRegression(max_iter=2000).fit(reducer.transform(X_train), y_train)
            accuracy = clf.score(reducer.transform(X_test), y_test)
            rows.append((name, k, mse, accuracy, seconds))
            fitted[name, k] = reducer
    return rows, fitted, X_test


def benign_with_malignant(contamination=0.05, random_state=0):
    """Breast-cancer rows: every benign tumour plus a few malignant ones (y=1)."""
    X, y = load_breast_cancer(return_X_y=True)
    y = 1 - y  # 1 = malignant, the anomaly
    rng = np.random.RandomState(random_state)
    benign, malignant = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    n_anomalies = int(round(contamination * len(benign) / (1 - contamination)))
    keep = np.concatenate([benign, rng.choice(malignant, n_anomalies, replace=False)])
    return X[keep], y[keep]


def compare_detection(random_state=0):
    """Rows of (name, ROC-AUC, fit seconds) and the detector's scores."""
    X, y = benign_with_malignant(random_state=random_state)
    rows = []
    for name, detector in [
        ("IsolationForest", IsolationForest(random_state=random_state)),
        ("Autoencoder", AutoencoderOutlierDetector(random_state=random_state)),
    ]:
        seconds = _timed_fit(detector, X)
        scores = detector.score_samples(X)
        rows.append((name, roc_auc_score(y, -scores), seconds))
    return rows, scores, y


def _save_figure(path, fitted, X_test, k, scores, y):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 4.2), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.3, 1])
    axes = left.subplots(3, 6)
    rows = [
        ("original", X_test[:6]),
        ("PCA", fitted["PCA", k].inverse_transform(fitted["PCA", k].transform(X_test[:6]))),
        (
            "autoencoder",
            fitted["Autoencoder", k].inverse_transform(
                fitted["Autoencoder", k].transform(X_test[:6])
            ),
        ),
    ]
    for ax_row, (label, images) in zip(axes, rows, strict=True):
        for ax, image in zip(ax_row, images, strict=True):
            ax.imshow(image.reshape(8, 8), cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
        ax_row[0].set_ylabel(label)
    left.suptitle(f"Held-out digits reconstructed from {k} components")
    ax = right.subplots()
    anomaly = -scores
    bins = np.linspace(anomaly.min(), np.quantile(anomaly, 0.995), 40)
    ax.hist(anomaly[y == 0], bins=bins, alpha=0.7, label="benign")
    ax.hist(anomaly[y == 1], bins=bins, alpha=0.7, label="malignant (anomaly)")
    ax.set_xlabel("anomaly score (minus score_samples)")
    ax.set_ylabel("tumours")
    ax.legend()
    right.suptitle("Outlier detector on breast-cancer data")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    """Run the comparison and print its tables; return the exit status."""
    description = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m sklearn_ae", description=description)
    parser.add_argument("--n-components", type=int, nargs="+", default=[2, 8, 16])
    parser.add_argument("--figure", default="sklearn_ae_demo.png", help="where to save the figure")
    parser.add_argument("--no-figure", action="store_true")
    args = parser.parse_args(argv)

    rows, fitted, X_test = compare_reduction(args.n_components)
    print("Digits, 50/50 split: reduce, reconstruct the held-out half, classify the codes")
    print(f"{'model':<12} {'k':>3} {'held-out MSE':>13} {'accuracy':>9} {'fit (s)':>8}")
    for name, k, mse, accuracy, seconds in rows:
        print(f"{name:<12} {k:>3} {mse:>13.3f} {accuracy:>9.3f} {seconds:>8.2f}")

    detection, scores, y = compare_detection()
    print(f"\nBreast cancer: {len(y)} tumours, {int(y.sum())} malignant treated as anomalies")
    print(f"{'model':<16} {'ROC-AUC':>8} {'fit (s)':>8}")
    for name, auc, seconds in detection:
        print(f"{name:<16} {auc:>8.3f} {seconds:>8.2f}")

    if not args.no_figure:
        try:
            _save_figure(args.figure, fitted, X_test, args.n_components[-1], scores, y)
        except ImportError:
            print("\nmatplotlib is not installed: no figure (pip install 'sklearn_ae[plot]').")
        else:
            print(f"\nFigure saved to {args.figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
