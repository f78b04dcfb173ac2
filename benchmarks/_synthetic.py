"""ADBench's four synthetic anomaly types, generated from the inliers of real files.

Han et al., *ADBench: Anomaly Detection Benchmark* (NeurIPS 2022), section 3.2.
Each type takes the inliers (``y == 0``) of one small classical ADBench file as
its source of normal data and keeps the source's number of normal rows:

local, global, clustered
    The normal rows are drawn from a ``GaussianMixture`` fitted to the inliers,
    with 1 to 9 components, the count of lowest BIC (full covariances, seed 0).
    Anomalies: *local* draws from the same mixture with every covariance
    scaled by 5; *clustered* draws from it with every mean scaled by 5 (the
    covariances kept); *global* draws each feature uniformly within its range
    over the normal rows widened by 10 % (5 % each side).
dependency
    The normal rows are the real inliers; each anomaly draws every feature
    independently from that feature's values over the inliers (its marginal
    distribution), which breaks the dependence between features.

Each data set has as many anomalies as the source file, and at least 5 % of
its normal rows. Every data set is drawn five times, with
``np.random.RandomState`` seeded with 0 to 4 (``DRAWS``; the mixture is fitted
once, with its own ``random_state=0``), so every detector sees the same rows,
and the benchmark averages a data set's ROC-AUC over its draws: one draw of
a few dozen anomalies is a small sample. For the detector's defaults, the
dependency type made from WBC ranges from 0.371 to 0.681 over the five
draws, and the clustered type made from mnist scores 0.951 on draw 0 and
1.000 on the four others.
The source files are the twelve classical ones less the two largest
(22_magic.gamma and 32_shuttle); a synthetic data set falls in the tuning or
the confirming half of its source file.
"""

import numpy as np
from sklearn.mixture import GaussianMixture

from sklearn_ae._testing import adbench_half, group_files, load_adbench

#: The synthetic anomaly types, in ADBench's order.
TYPES = ("local", "global", "clustered", "dependency")

#: The seeds of the draws of each synthetic data set.
DRAWS = range(5)

# The source files: the small classical files.
_LARGEST = ("22_magic.gamma", "32_shuttle")

# ADBench's scale factors: covariances x5 (local), means x5 (clustered), and
# a range widened by 10 % (global).
_ALPHA = 5.0
_WIDEN = 0.1


def _bic_mixture(X):
    """The ``GaussianMixture`` of 1-9 components with the lowest BIC on ``X``."""
    best, best_bic = None, np.inf
    for n in range(1, 10):
        if n > len(X) // 2:
            break
        mixture = GaussianMixture(n, covariance_type="full", reg_covar=1e-6, random_state=0)
        bic = mixture.fit(X).bic(X)
        if bic < best_bic:
            best, best_bic = mixture, bic
    return best


def _draw(mixture, n, rng, means=None, covariances=None):
    """``n`` rows drawn from ``mixture``, with its means or covariances replaced."""
    means = mixture.means_ if means is None else means
    covariances = mixture.covariances_ if covariances is None else covariances
    counts = rng.multinomial(n, mixture.weights_)
    rows = [
        rng.multivariate_normal(mean, cov, size=count, check_valid="ignore")
        for mean, cov, count in zip(means, covariances, counts, strict=True)
        if count
    ]
    return np.vstack(rows)


def synthetic(inliers, n_anomalies, kind, seed=0, mixture=None):
    """``(X, y)``: normal rows and ``n_anomalies`` anomalies of ``kind`` (see the module).

    ``mixture``, if given, is ``_bic_mixture(inliers)`` already fitted.
    """
    rng = np.random.RandomState(seed)
    n_normal = len(inliers)
    if kind == "dependency":
        normal = inliers
        anomalies = np.column_stack([rng.choice(column, size=n_anomalies) for column in inliers.T])
    else:
        mixture = _bic_mixture(inliers) if mixture is None else mixture
        normal = _draw(mixture, n_normal, rng)
        if kind == "local":
            anomalies = _draw(mixture, n_anomalies, rng, covariances=_ALPHA * mixture.covariances_)
        elif kind == "clustered":
            anomalies = _draw(mixture, n_anomalies, rng, means=_ALPHA * mixture.means_)
        elif kind == "global":
            low, high = normal.min(axis=0), normal.max(axis=0)
            margin = _WIDEN / 2 * (high - low)
            anomalies = rng.uniform(low - margin, high + margin, size=(n_anomalies, len(low)))
        else:
            raise ValueError(kind)
    X = np.vstack([normal, anomalies])
    y = np.r_[np.zeros(len(normal), dtype=int), np.ones(len(anomalies), dtype=int)]
    order = rng.permutation(len(X))
    return X[order], y[order]


def synthetic_files(kinds=TYPES, draws=DRAWS):
    """``(kind, name, half, sets)`` for each synthetic type and each source file present.

    ``sets`` holds an ``(X, y)`` for each seed of ``draws``. The mixture of
    each source file is fitted once, for all the types and draws.
    """
    mixtures = {}
    for kind in kinds:
        for name in group_files("classical"):
            data = None if name in _LARGEST else load_adbench(name)
            if data is None:
                continue
            X, y = data
            inliers = X[y == 0]
            if kind != "dependency" and name not in mixtures:
                mixtures[name] = _bic_mixture(inliers)
            n_anomalies = max(int(y.sum()), int(np.ceil(0.05 * len(inliers))))
            sets = [
                synthetic(inliers, n_anomalies, kind, seed, mixtures.get(name)) for seed in draws
            ]
            yield kind, f"{kind}:{name}", adbench_half(name), sets
