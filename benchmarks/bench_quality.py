"""Quality of the default estimators against PCA, IsolationForest and PyOD.

Seven protocols, default parameters only (no per-data-set tuning):

reduction
    Split each data set 50/50 (fixed seed), standardize on the training half, fit
    PCA and ``AutoencoderTransformer`` at the same ``n_components`` on it, and
    compare the mean squared reconstruction error of the held-out half. Data sets:
    digits, swiss roll, S-curve and the ADBench files with at least 16 features.

detection
    Transductive, as in ADBench: fit on all rows of each benchmark file (labels
    unused), score the same rows, ROC-AUC against the labels. IsolationForest,
    PyOD's ``AutoEncoder``, ``KNN`` (on standardized X) and ``ECOD`` (when PyOD
    is installed) and ``AutoencoderOutlierDetector``, all with their defaults,
    on the same raw X, side by side in one process. Files come in three groups
    (the twelve classical ADBench files, eight larger ones subsampled to 20 000
    rows with seed 0, seven image-embedding files); within each group the files
    at even positions of ``ADBENCH_GROUPS`` (``sklearn_ae._testing``) are the
    tuning half, on which the defaults were chosen, and the others the
    confirming half. ADBench's four synthetic anomaly types follow, made
    from the small classical files' inliers (``_synthetic``: five draws of
    each, ROC-AUC averaged over the draws). Summary lines give each half and
    each group, and for each difference of means its standard error over the
    group's files; with
    ``--seeds N`` a second summary averages the seeded detectors over
    ``random_state`` 0 to N - 1, with the range of the per-seed means.
    ``--variant PARAM=VALUE ...`` adds a column for our detector with those
    parameters (also in ``novelty``), to measure a setting the user guide
    advises against the defaults.

bundled
    scikit-learn's bundled classification data (breast cancer, wine, iris and
    digits), raw, as a user first tries a detector: each class in turn is the
    anomaly class, the others the inliers, with anomalies drawn to make 5 % of
    the rows, seeds 0 to 4 (the malignant tumours of seed 0 are the rows of the
    package's demo, ``python -m sklearn_ae``). IsolationForest,
    ``LocalOutlierFactor`` and ``AutoencoderOutlierDetector`` with their
    defaults, mean ROC-AUC over the seeds, fit on all rows and scored on
    them, and as novelty detection (fit on a random half of the inliers,
    score the other half and the anomalies), where the detector also runs
    with ``support_fraction=1.0``, the user guide's setting for clean
    training rows. These data sets played no part in choosing the defaults.

novelty
    Inductive: fit on a random half of the inliers of each file with at least
    200 inliers (seed 0), ``predict`` the other half with ``contamination``
    0.05 and 0.01, and print the share flagged (the contamination itself if
    the threshold carries over to new rows), for IsolationForest and
    ``AutoencoderOutlierDetector``, with the median and maximum per half.
    Last, the same statistics for a perfectly calibrated detector on files of
    the same sizes (exchangeable training and new scores, simulated): the
    protocol's own limit.

flags
    What ``fit_predict`` flags with the default ``contamination="auto"``,
    as a user first calls it: on every benchmark file and every draw of the
    synthetic types, fit on all rows, the share of rows flagged against the
    share of anomalies, and the F1 score of the flags, for IsolationForest
    and ``AutoencoderOutlierDetector``; per file the mean over its draws,
    then the median share and mean F1 per group half.

small
    Few rows, as a user's first table often has: from each classical and
    larger file with at least twice ``--rows`` rows (default 100), five
    samples of that many rows (seeds 0 to 4, anomalies in the file's own
    share, at least 2), each fit on and scored as in ``detection``; mean
    ROC-AUC over the samples, for IsolationForest and
    ``AutoencoderOutlierDetector`` with their defaults.

modes
    Inliers in groups of unequal size, generated (no file). Two groups: 1000
    training rows in two tight clusters (standard deviation 0.3 about +2 and
    -2 in every coordinate; 2 and 10 coordinates), the smaller holding 50,
    30, 20 or 10 % of the rows; new rows are 200 of each cluster and 200
    drawn uniformly in [-1, 1] in every coordinate, between the clusters.
    Printed: ROC-AUC of the rows between against the new inliers, and the
    share of the smaller cluster's new rows that ``predict`` flags
    (``contamination="auto"``). Categories: 1000 rows of 8 correlated
    Gaussian columns, with two categorical columns one-hot encoded beside
    them (categories in shares 0.6 / 0.3 / 0.1 and 0.8 / 0.2) or none; 50
    of the rows are anomalies whose Gaussian columns are scaled by 2.5.
    Printed: ROC-AUC fit on all rows, and the share of rows flagged. Each
    case is drawn with seeds 0 to 2, and the figures averaged;
    IsolationForest and ``AutoencoderOutlierDetector`` with their defaults
    and with ``support_fraction=1.0``.

Usage::

    python benchmarks/bench_quality.py              # reduction and detection
    python benchmarks/bench_quality.py reduction    # one of them
    python benchmarks/bench_quality.py detection --groups classical embeddings
    python benchmarks/bench_quality.py detection --groups embeddings --repeats 3
    python benchmarks/bench_quality.py detection --repeats 3 --file-times \\
        --groups embeddings semantic
    python benchmarks/bench_quality.py detection --seeds 5
    python benchmarks/bench_quality.py detection --groups embeddings --variant standardize=global
    python benchmarks/bench_quality.py novelty
    python benchmarks/bench_quality.py bundled
    python benchmarks/bench_quality.py flags
    python benchmarks/bench_quality.py small --rows 100
    python benchmarks/bench_quality.py modes

ADBench files are read from ``../shared/datasets/adbench`` (or
``$SKLEARN_AE_DATASETS/adbench``); without them only the bundled data sets run.
"""

import argparse
import ast
import warnings

import numpy as np
from _common import (
    SEED,
    Table,
    have_pyod,
    held_out_mse,
    pyod_autoencoder,
    standardized_halves,
    timed,
)
from _synthetic import TYPES, synthetic_files
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_s_curve,
    make_swiss_roll,
)
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer
from sklearn_ae._testing import (
    ADBENCH_GROUPS,
    ADBENCH_NAMES,
    MAX_ROWS,
    adbench_half,
    group_files,
    load_adbench,
)


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
    X_train, X_test = standardized_halves(X, SEED)
    errors = {}
    for name, model in [
        ("pca", PCA(n_components=k, random_state=SEED)),
        ("ours", AutoencoderTransformer(n_components=k, random_state=SEED)),
    ]:
        seconds, _ = timed(model.fit, X_train)
        errors[name] = (held_out_mse(model, X_test), seconds)
    return errors


def run_reduction():
    print("Reduction: held-out mean squared error, standardized units (ours / PCA)")
    table = Table("data set:<16, k:>3, PCA:>8.4f, ours:>8.4f, ratio:>7.4f, fit (s):>8.2f", sep=" ")
    print(table.header())
    ratios, manifold_ratios = [], []
    for name, X in reduction_datasets():
        for k in (2, 4, 8):
            if k >= X.shape[1] or (k > 2 and X.shape[1] <= 3):
                continue
            errors = held_out_errors(X, k)
            ratio = errors["ours"][0] / errors["pca"][0]
            (manifold_ratios if X.shape[1] == 3 else ratios).append(ratio)
            row = table.row(name, k, errors["pca"][0], errors["ours"][0], ratio, errors["ours"][1])
            print(row, flush=True)
    everything = ratios + manifold_ratios
    print(f"worst ratio: {max(everything):.4f} (target <= 1.00)")
    print(f"geometric mean of ratios: {np.exp(np.mean(np.log(everything))):.3f} (target <= 0.85)")
    print(f"worst ratio on swiss roll / S-curve, k=2: {max(manifold_ratios):.3f} (target <= 0.40)")


def detectors(seed=SEED, variant=None):
    """``(name, factory, seeded)`` of every detector compared, ours last; defaults throughout.

    ``seed`` is the ``random_state`` of the detectors that have one (``seeded``).
    ``variant``, a dict of parameters (``--variant``), adds our detector with
    them after the default one.
    """
    yield "IsolationForest", lambda: IsolationForest(random_state=seed), True
    if not have_pyod():
        if seed == SEED:
            print("(PyOD not installed: its AutoEncoder, KNN and ECOD are skipped)")
    else:
        from pyod.models.ecod import ECOD
        from pyod.models.knn import KNN

        yield "PyOD AutoEncoder", lambda: _PyOD(pyod_autoencoder(random_state=seed)), True
        yield "PyOD KNN (std.)", lambda: _PyOD(KNN(), standardize=True), False
        yield "ECOD", lambda: _PyOD(ECOD()), False
    yield "ours", lambda: AutoencoderOutlierDetector(random_state=seed), True
    if variant:
        yield (
            _variant_name(variant),
            lambda: AutoencoderOutlierDetector(random_state=seed, **variant),
            True,
        )


def _variant_name(variant):
    """The column of our detector with the parameters ``variant``: "ours, key=value"."""
    return "ours, " + ", ".join(f"{key}={value!r}" for key, value in variant.items())


def _parse_variant(assignments):
    """``--variant``'s ``key=value`` strings as a dict; values are Python literals or strings."""
    variant = {}
    for assignment in assignments or ():
        key, _, text = assignment.partition("=")
        try:
            variant[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            variant[key] = text
    return variant


class _PyOD:
    """PyOD detectors score 'higher is more abnormal'; flip to scikit-learn's sign."""

    def __init__(self, model, standardize=False):
        self.model = model
        self.scaler = StandardScaler() if standardize else None

    def fit(self, X, y=None):
        if self.scaler is not None:
            X = self.scaler.fit_transform(X)
        self.model.fit(X)
        return self

    def score_samples(self, X):
        if self.scaler is not None:
            X = self.scaler.transform(X)
        return -self.model.decision_function(X)


#: The groups of ``--groups``: the file groups, then the synthetic types.
GROUPS = (*ADBENCH_GROUPS, *(f"synthetic-{kind}" for kind in TYPES))

# The half of each file and synthetic data set met so far, by name.
_HALVES = {}


def _group_files(groups, synthetic=True):
    """``(group, name, sets)`` of each benchmark file present, larger ones subsampled.

    ``sets`` holds the file's ``(X, y)``: one for a file, one per draw for a
    synthetic data set. With ``synthetic``, the synthetic data sets of
    ``_synthetic`` follow the files, one group per type. Each name's half is
    recorded in ``_HALVES``.
    """
    for group in ADBENCH_GROUPS:
        if groups and group not in groups:
            continue
        for name in group_files(group):
            data = load_adbench(name, max_rows=MAX_ROWS)
            if data is None:
                print(f"{name:<18} (not available)")
            else:
                _HALVES[name] = adbench_half(name)
                yield group, name, [data]
    if not synthetic:
        return
    kinds = [k for k in TYPES if not groups or f"synthetic-{k}" in groups]
    for kind, name, half, sets in synthetic_files(kinds):
        _HALVES[name] = half
        yield f"synthetic-{kind}", name, sets


def _summary_rows(results, group):
    """``(label, names)`` of a group's summary lines: each half, then the whole group."""
    names = [name for g, name in results if g == group]
    for half in ("tuning", "confirming"):
        yield f"{group}, {half}", [n for n in names if _HALVES[n] == half]
    yield f"{group}, all", names


def _fit_and_score(make, X):
    """The scores of ``X`` by a new detector from ``make`` fitted on ``X``."""
    return make().fit(X).score_samples(X)


def _mean_auc(make, sets, repeats=1):
    """Mean ROC-AUC over ``sets`` of new detectors from ``make``, and their summed time.

    Each detector is fit on its set's X and scores it; each set's time is the
    fastest of ``repeats`` fits (the least disturbed; seeded, so the scores of
    the repeats are the same).
    """
    aucs, total = [], 0.0
    for X, y in sets:
        seconds = []
        for _ in range(repeats):
            elapsed, scores = timed(_fit_and_score, make, X)
            seconds.append(elapsed)
        aucs.append(roc_auc_score(y, -scores))
        total += min(seconds)
    return np.mean(aucs), total


def _paired_error(differences):
    """Standard error of the mean of per-file ``differences`` (nan for one file)."""
    if len(differences) < 2:
        return np.nan
    return np.std(differences, ddof=1) / np.sqrt(len(differences))


def run_detection(groups=None, repeats=1, seeds=1, variant=None, file_times=False):
    """ROC-AUC and fit+score time of every detector, per file and per group half.

    A synthetic data set's ROC-AUC is the mean over its draws, and its time
    the sum. Each time is the fastest of ``repeats`` fits; every detector is
    seeded, so the scores of the repeats are the same. The table is for
    ``random_state=0``. Each verdict gives, after the difference of the
    group's means, its standard error over the group's files (the spread of
    the per-file differences over the square root of their number): a
    difference within about two of them is within what the choice of files
    alone would move.
    With ``seeds`` above 1 the seeded detectors also run with ``random_state``
    1 to ``seeds - 1``, and a second summary gives each half's mean ROC-AUC
    averaged over the seeds, with the lowest and highest of the per-seed means.
    ``variant`` adds a column, as ``detectors`` does. With ``file_times``, a
    last table gives each file's fit+score seconds and our ratio to PyOD
    ``AutoEncoder``'s.
    """
    contenders = list(detectors(variant=variant))
    width = max(len(name) for name, *_ in contenders) + 1
    header = " ".join(f"{name:>{width}}" for name, *_ in contenders)
    print(
        "Detection: ROC-AUC, fit on all rows and score them (larger files: "
        f"{MAX_ROWS} rows drawn with seed 0)\n{'data set':<26} {'half':<10} {header}"
    )
    reseeded = [  # per further seed, the factories of the seeded detectors
        {n: make for n, make, seeded in detectors(seed, variant) if seeded}
        for seed in range(1, seeds)
    ]
    results, by_seed = {}, {}
    for group, data_name, sets in _group_files(groups):
        if not results:  # one untimed fit each first: imports and one-off set-up
            X = sets[0][0]
            for _, make, _ in contenders:
                make().fit(X[:64]).score_samples(X[:64])
        row = {name: _mean_auc(make, sets, repeats) for name, make, _ in contenders}
        results[group, data_name] = row
        aucs = by_seed[group, data_name] = {name: [auc] for name, (auc, _) in row.items()}
        for made in reseeded:
            for name, make in made.items():
                aucs[name].append(_mean_auc(make, sets)[0])
        cells = " ".join(f"{row[name][0]:>{width}.3f}" for name, *_ in contenders)
        print(f"{data_name:<26} {_HALVES[data_name]:<10} {cells}", flush=True)
    if not results:
        return
    names = [name for name, *_ in contenders]
    print(f"\n{'summary':<34} " + " ".join(f"{name:>{width}}" for name in names))
    for group in dict.fromkeys(g for g, _ in results):
        for label, files in _summary_rows(results, group):
            if not files:
                continue
            rows = [results[group, f] for f in files]
            auc = {n: np.mean([r[n][0] for r in rows]) for n in names}
            seconds = {n: sum(r[n][1] for r in rows) for n in names}
            print(f"{label:<34} " + " ".join(f"{auc[n]:>{width}.3f}" for n in names))
            times = " ".join(f"{seconds[n]:>{width}.1f}" for n in names)
            print(f"{'  fit+score (s)':<34} {times}")
            verdicts = [
                f"ours - {n}: {auc['ours'] - auc[n]:+.3f}"
                f" (s.e. {_paired_error([r['ours'][0] - r[n][0] for r in rows]):.3f})"
                for n in names
                if n != "ours"
            ]
            if "PyOD AutoEncoder" in seconds:
                ratio = seconds["ours"] / seconds["PyOD AutoEncoder"]
                verdicts.append(f"time ours / PyOD AutoEncoder {ratio:.3f} (target <= 0.333)")
            print("  " + "; ".join(verdicts))
    if seeds > 1:
        _print_seed_summary(by_seed, names, seeds, width)
    if file_times:
        _print_file_times(results, names, width)


def _print_file_times(results, names, width):
    """Each file's fit+score seconds per detector, and ours over PyOD ``AutoEncoder``'s."""
    ratio = "PyOD AutoEncoder" in names
    print(f"\nfit+score (s) per file{' and ours / PyOD AutoEncoder' if ratio else ''}")
    print(f"{'data set':<26} {'half':<10} " + " ".join(f"{n:>{width}}" for n in names))
    for (_, data_name), row in results.items():
        cells = " ".join(f"{row[n][1]:>{width}.3f}" for n in names)
        line = f"{data_name:<26} {_HALVES[data_name]:<10} {cells}"
        if ratio:
            line += f" {row['ours'][1] / row['PyOD AutoEncoder'][1]:>7.2f}"
        print(line)


def _print_seed_summary(by_seed, names, seeds, width):
    """Each half's mean ROC-AUC averaged over ``seeds`` seeds, and its per-seed range."""
    print(
        f"\nover random_state 0-{seeds - 1} (KNN and ECOD have none): mean of the "
        "per-seed means, then [lowest, highest] per-seed mean"
    )
    print(f"{'summary':<34} " + " ".join(f"{name:>{width}}" for name in names))
    for group in dict.fromkeys(g for g, _ in by_seed):
        for label, files in _summary_rows(by_seed, group):
            if not files:
                continue
            # files x seeds; an unseeded detector's single score stands for every seed
            per_seed = {
                n: np.mean([np.resize(by_seed[group, f][n], seeds) for f in files], axis=0)
                for n in names
            }
            means = " ".join(f"{per_seed[n].mean():>{width}.3f}" for n in names)
            ranges = " ".join(
                f"{f'[{per_seed[n].min():.3f}, {per_seed[n].max():.3f}]':>{width}}" for n in names
            )
            print(f"{label:<34} {means}\n{'':<34} {ranges}")
            verdicts = [
                f"ours - {n}: {per_seed['ours'].mean() - per_seed[n].mean():+.3f}"
                f" (ahead on {np.sum(per_seed['ours'] >= per_seed[n])} of {seeds} seeds)"
                for n in names
                if n != "ours"
            ]
            print("  " + "; ".join(verdicts))


def run_novelty(groups=None, variant=None):
    """Share of new inliers flagged: fit on half the inliers, predict the other half.

    ``variant`` adds a column, as ``detectors`` does.
    """
    shares = (0.05, 0.01)
    contenders = {
        "IsolationForest": lambda c: IsolationForest(contamination=c, random_state=SEED),
        "ours": lambda c: AutoencoderOutlierDetector(contamination=c, random_state=SEED),
    }
    if variant:
        contenders[_variant_name(variant)] = lambda c: AutoencoderOutlierDetector(
            contamination=c, random_state=SEED, **variant
        )
    print(
        "Novelty: fit on a random half of the inliers (seed 0), predict the other half;\n"
        "share flagged with contamination=0.05 / 0.01, files with at least 200 inliers"
    )
    width = max(22, *(len(name) + 1 for name in contenders))
    print(f"{'data set':<26} {'half':<10} " + " ".join(f"{n:>{width}}" for n in contenders))
    flagged = {name: {} for name in contenders}
    sizes = []
    for _, data_name, [(X, y)] in _group_files(groups, synthetic=False):
        inliers = X[y == 0]
        if len(inliers) < 200:
            continue
        order = np.random.RandomState(SEED).permutation(len(inliers))
        fit_rows, new_rows = inliers[order[: len(order) // 2]], inliers[order[len(order) // 2 :]]
        sizes.append((len(fit_rows), len(new_rows)))
        cells = []
        for name, make in contenders.items():
            flagged[name][data_name] = [
                float(np.mean(make(c).fit(fit_rows).predict(new_rows) == -1)) for c in shares
            ]
            at_5, at_1 = flagged[name][data_name]
            cells.append(f"{at_5:>{width - 8}.3f} / {at_1:.3f}")
        print(f"{data_name:<26} {_HALVES[data_name]:<10} " + " ".join(cells), flush=True)
    for name, per_file in flagged.items():
        for half in ("tuning", "confirming", None):
            values = np.array([v for f, v in per_file.items() if half in (None, _HALVES[f])])
            if not len(values):
                continue
            median, worst = np.median(values, axis=0), values.max(axis=0)
            print(
                f"{name}, {half or 'all files'}: median {median[0]:.3f} (target 0.035-0.065), "
                f"max {worst[0]:.3f} (<= 0.12); at 0.01: median {median[1]:.4f} "
                f"(0.007-0.013), max {worst[1]:.3f} (<= 0.024)"
            )
    if sizes:
        _print_exchangeable_limit(sizes, shares)


def run_flags(groups=None):
    """Share of rows flagged and F1 of ``fit_predict`` with ``contamination="auto"``."""
    contenders = {
        "IsolationForest": lambda: IsolationForest(random_state=SEED),
        "ours": lambda: AutoencoderOutlierDetector(random_state=SEED),
    }
    print(
        'fit_predict with contamination="auto", fit on all rows: share of the rows '
        "flagged (anomalies: their share) and F1 of the flags; synthetic types: mean "
        "over the draws"
    )
    cells = " ".join(f"{name + ' share':>22} {name + ' F1':>19}" for name in contenders)
    print(f"{'data set':<26} {'half':<10} {'anomalies':>9} {cells}")
    results = {}  # (group, data set): {name: (share, F1)}, and "anomalies": share
    for group, data_name, sets in _group_files(groups):
        row = {"anomalies": np.mean([y.mean() for _, y in sets])}
        for name, make in contenders.items():
            flags = [(make().fit_predict(X) == -1, y) for X, y in sets]
            row[name] = (
                np.mean([f.mean() for f, _ in flags]),
                np.mean([f1_score(y, f) for f, y in flags]),
            )
        results[group, data_name] = row
        cells = " ".join(f"{row[n][0]:>22.3f} {row[n][1]:>19.3f}" for n in contenders)
        print(
            f"{data_name:<26} {_HALVES[data_name]:<10} {row['anomalies']:>9.3f} {cells}",
            flush=True,
        )
    if not results:
        return
    print("\nsummary: median share flagged (anomalies), mean F1")
    summaries = [
        (g, label, files)
        for g in dict.fromkeys(g for g, _ in results)
        for label, files in _summary_rows(results, g)
    ]
    summaries.append((None, "every data set", [name for _, name in results]))
    for group, label, files in summaries:
        rows = [r for (g, f), r in results.items() if f in files and group in (None, g)]
        if not rows:
            continue
        anomalies = np.median([r["anomalies"] for r in rows])
        verdicts = ", ".join(
            f"{n} {np.median([r[n][0] for r in rows]):.3f}"
            f" / F1 {np.mean([r[n][1] for r in rows]):.3f}"
            for n in contenders
        )
        print(f"{label:<34} anomalies {anomalies:.3f}; {verdicts}")


SMALL_SEEDS = range(5)


def _small_sample(X, y, rows, seed):
    """``rows`` rows of ``(X, y)`` drawn with ``seed``, anomalies in X's own share (at least 2)."""
    rng = np.random.RandomState(seed)
    anomalies, inliers = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_anomalies = min(len(anomalies), max(2, int(round(rows * y.mean()))))
    drawn = np.concatenate(
        [
            rng.choice(anomalies, n_anomalies, replace=False),
            rng.choice(inliers, rows - n_anomalies, replace=False),
        ]
    )
    return X[drawn], y[drawn]


def run_small(groups=None, rows=100):
    """Mean ROC-AUC on samples of ``rows`` rows of each tabular file, against IsolationForest."""
    contenders = {
        "IsolationForest": lambda seed: IsolationForest(random_state=seed),
        "ours": lambda seed: AutoencoderOutlierDetector(random_state=seed),
    }
    print(
        f"Small samples: {rows} rows of each classical and larger file (seeds "
        f"{SMALL_SEEDS[0]}-{SMALL_SEEDS[-1]}), fit on all rows and score them; mean ROC-AUC"
    )
    print(
        f"{'data set':<26} {'half':<10} {'features':>8} "
        + " ".join(f"{n:>16}" for n in contenders)
    )
    tabular = [g for g in ("classical", "larger") if not groups or g in groups]
    results = {}
    for group, data_name, [(X, y)] in _group_files(tabular, synthetic=False):
        if len(y) < 2 * rows:
            continue
        samples = [_small_sample(X, y, rows, seed) for seed in SMALL_SEEDS]
        results[group, data_name] = row = {
            name: np.mean(
                [
                    roc_auc_score(sy, -make(seed).fit(sX).score_samples(sX))
                    for seed, (sX, sy) in zip(SMALL_SEEDS, samples, strict=True)
                ]
            )
            for name, make in contenders.items()
        }
        cells = " ".join(f"{row[n]:>16.3f}" for n in contenders)
        print(f"{data_name:<26} {_HALVES[data_name]:<10} {X.shape[1]:>8} {cells}", flush=True)
    if not results:
        return
    print()
    for group in dict.fromkeys(g for g, _ in results):
        for label, files in _summary_rows(results, group):
            found = [results[group, f] for f in files]
            if not found:
                continue
            forest, ours = (np.mean([r[n] for r in found]) for n in contenders)
            differences = [r["ours"] - r["IsolationForest"] for r in found]
            print(
                f"{label:<24} IsolationForest {forest:.3f}, ours {ours:.3f}; "
                "ours - IsolationForest "
                f"{np.mean(differences):+.3f} (s.e. {_paired_error(differences):.3f}), "
                f"ahead on {sum(d >= 0 for d in differences)} of {len(found)}"
            )


BUNDLED_SEEDS = range(5)


def bundled_cases():
    """``(name, draw)`` of each bundled case; ``draw(seed)`` gives its ``(X, y)``, y=1 anomalies.

    Each class of each bundled classification data set in turn is the
    anomaly class, with anomalies drawn (``seed``) to make 5 % of the rows,
    every other row an inlier: the draw of the demo's ``benign_with_malignant``,
    which the breast-cancer case with malignant anomalies reproduces.
    """
    for data_name, load in [
        ("breast cancer", load_breast_cancer),
        ("wine", load_wine),
        ("iris", load_iris),
        ("digits", load_digits),
    ]:
        data = load()
        for label in np.unique(data.target):
            anomalous = data.target == label

            def draw(seed, X=data.data, anomalous=anomalous):
                inliers, anomalies = np.flatnonzero(~anomalous), np.flatnonzero(anomalous)
                n_drawn = max(1, int(round(0.05 * len(inliers) / 0.95)))
                drawn = np.random.RandomState(seed).choice(anomalies, n_drawn, replace=False)
                rows = np.concatenate([inliers, drawn])
                return X[rows], anomalous[rows].astype(int)

            yield f"{data_name}: {data.target_names[label]}", draw


def _bundled_aucs(draw, seed):
    """ROC-AUC of each detector on one draw: ``(fit on all rows, novelty)``.

    The novelty detectors are fit on a random half of the inliers and score
    the other half and the anomalies. ``ours, clean`` is the setting the user
    guide gives for training rows known to be clean (``support_fraction=1.0``):
    novelty only.
    """
    X, y = draw(seed)

    def forest():
        return IsolationForest(random_state=seed)

    def ours(**params):
        return AutoencoderOutlierDetector(random_state=seed, **params)

    contenders = {  # name: (the scores of X fit on X, or None; a new novelty detector)
        "IsolationForest": (lambda: forest().fit(X).score_samples(X), forest),
        "LOF": (
            lambda: LocalOutlierFactor().fit(X).negative_outlier_factor_,
            lambda: LocalOutlierFactor(novelty=True),
        ),
        "ours": (lambda: ours().fit(X).score_samples(X), ours),
        "ours, clean": (None, lambda: ours(support_fraction=1.0)),
    }
    inliers = np.flatnonzero(y == 0)
    order = np.random.RandomState(seed).permutation(inliers)
    fit_rows = order[: len(order) // 2]
    scored = np.setdiff1d(np.arange(len(y)), fit_rows)
    aucs = {}
    for name, (all_rows, novelty) in contenders.items():
        new_rows = novelty().fit(X[fit_rows]).score_samples(X[scored])
        aucs[name] = (
            np.nan if all_rows is None else roc_auc_score(y, -all_rows()),
            roc_auc_score(y[scored], -new_rows),
        )
    return aucs


def run_bundled():
    """Mean ROC-AUC over seeds on each bundled case, fit on all rows and as novelty."""
    columns = [(0, "IsolationForest"), (0, "LOF"), (0, "ours")]
    columns += [(1, "IsolationForest"), (1, "LOF"), (1, "ours"), (1, "ours, clean")]
    print(
        "Bundled data, raw X, anomalies 5 % of the rows, mean ROC-AUC over seeds "
        f"{BUNDLED_SEEDS[0]}-{BUNDLED_SEEDS[-1]}: fit on all rows | novelty (fit on half "
        "the inliers; 'ours, clean': support_fraction=1.0)"
    )
    header = [f"{name:>16}" for _, name in columns]
    print(f"{'case (anomaly class)':<28} " + " ".join(header[:3]) + "  |" + " ".join(header[3:]))
    means = []
    for case, draw in bundled_cases():
        runs = [_bundled_aucs(draw, seed) for seed in BUNDLED_SEEDS]
        mean = {(c, n): np.mean([run[n][c] for run in runs]) for c, n in columns}
        means.append(mean)
        cells = [f"{mean[key]:>16.3f}" for key in columns]
        print(f"{case:<28} " + " ".join(cells[:3]) + "  |" + " ".join(cells[3:]), flush=True)
    for column, protocol in enumerate(("fit on all rows", "novelty")):
        names = [n for c, n in columns if c == column]
        average = {n: np.mean([m[column, n] for m in means]) for n in names}
        wins = {n: sum(m[column, n] >= m[column, "IsolationForest"] for m in means) for n in names}
        ahead = [
            f"{n} at least IsolationForest's on {wins[n]} of {len(means)}"
            for n in names
            if n.startswith("ours")
        ]
        print(
            f"{protocol}: mean "
            + ", ".join(f"{n} {average[n]:.3f}" for n in names)
            + "; "
            + ", ".join(ahead)
        )


MODES_SEEDS = range(3)


def _modes_detectors(seed):
    """``(name, factory)`` of the detectors of the ``modes`` protocol."""
    yield "IsolationForest", lambda: IsolationForest(random_state=seed)
    yield "ours", lambda: AutoencoderOutlierDetector(random_state=seed)
    yield (
        "ours, support_fraction=1.0",
        lambda: AutoencoderOutlierDetector(random_state=seed, support_fraction=1.0),
    )


def _two_groups(share, n_features, seed, n_rows=1000, n_new=200):
    """Training rows in two clusters, the smaller holding ``share``; new inliers and rows between.

    Returns ``(X, inliers, smaller, between)``: ``smaller`` is the new
    inliers' mask of the smaller cluster.
    """
    rng = np.random.RandomState(seed)
    centre = np.full(n_features, 2.0)
    n_smaller = int(share * n_rows)
    X = np.vstack(
        [
            0.3 * rng.randn(n_rows - n_smaller, n_features) + centre,
            0.3 * rng.randn(n_smaller, n_features) - centre,
        ]
    )
    inliers = np.vstack(
        [0.3 * rng.randn(n_new, n_features) + centre, 0.3 * rng.randn(n_new, n_features) - centre]
    )
    smaller = np.r_[np.zeros(n_new, dtype=bool), np.ones(n_new, dtype=bool)]
    between = rng.uniform(-1.0, 1.0, size=(n_new, n_features))
    return X, inliers, smaller, between


def _with_categories(shares, seed, n_rows=1000, n_features=8, n_anomalies=50):
    """``(X, y)``: correlated Gaussian columns, one-hot categories of ``shares`` beside them.

    The anomalies' Gaussian columns are scaled by 2.5.
    """
    rng = np.random.RandomState(seed)
    mixing = rng.randn(n_features, n_features) / np.sqrt(n_features)
    continuous = rng.randn(n_rows, n_features) @ mixing
    y = np.zeros(n_rows, dtype=int)
    y[rng.choice(n_rows, n_anomalies, replace=False)] = 1
    continuous[y == 1] *= 2.5
    one_hot = [np.eye(len(p))[rng.choice(len(p), n_rows, p=p)] for p in shares]
    return np.hstack([continuous, *one_hot]), y


def _print_modes_row(label, cells):
    """One row of a ``modes`` table: each detector's mean ROC-AUC and share flagged."""
    means = [np.mean(pairs, axis=0) for pairs in cells.values()]
    print(f"{label:<24}" + "".join(f"{f'{auc:.3f} | {share:.2f}':>30}" for auc, share in means))


def run_modes():
    """Inliers in groups of unequal size: two clusters, and one-hot categories (see the module)."""
    names = [name for name, _ in _modes_detectors(SEED)]
    seeds = f"mean over seeds {MODES_SEEDS[0]}-{MODES_SEEDS[-1]}"
    print(
        "Inliers in two clusters of unequal size, new rows between them: ROC-AUC | share of "
        f"the smaller cluster's new rows flagged (contamination='auto'), {seeds}"
    )
    print(f"{'smaller cluster':<24}" + "".join(f"{name:>30}" for name in names))
    for n_features in (2, 10):
        for share in (0.5, 0.3, 0.2, 0.1):
            cells = {name: [] for name in names}
            for seed in MODES_SEEDS:
                X, inliers, smaller, between = _two_groups(share, n_features, seed)
                labels = np.r_[np.zeros(len(inliers)), np.ones(len(between))]
                for name, make in _modes_detectors(seed):
                    detector = make().fit(X)
                    scores = detector.score_samples(np.vstack([inliers, between]))
                    flagged = np.mean(detector.predict(inliers[smaller]) == -1)
                    cells[name].append((roc_auc_score(labels, -scores), flagged))
            _print_modes_row(f"{share:.0%} of {n_features} dims", cells)
    print(
        "\nGaussian columns with one-hot categories beside them, 5 % of the rows anomalies: "
        f"ROC-AUC | share of the rows flagged (contamination='auto'), {seeds}"
    )
    print(f"{'categorical columns':<24}" + "".join(f"{name:>30}" for name in names))
    for label, shares in (
        ("none", ()),
        ("0.6/0.3/0.1, 0.8/0.2", ((0.6, 0.3, 0.1), (0.8, 0.2))),
    ):
        cells = {name: [] for name in names}
        for seed in MODES_SEEDS:
            X, y = _with_categories(shares, seed)
            for name, make in _modes_detectors(seed):
                detector = make().fit(X)
                flagged = np.mean(detector.predict(X) == -1)
                cells[name].append((roc_auc_score(y, -detector.score_samples(X)), flagged))
        _print_modes_row(label, cells)


def _print_exchangeable_limit(sizes, shares, draws=20_000):
    """The shares a perfectly calibrated detector would flag on files of these ``sizes``.

    If new inliers score like the training rows (their scores exchangeable), a
    cut just above the ``j = round(c * n)``-th lowest of ``n`` training scores,
    as ``offset_`` is set, lies at the ``j``-th order statistic of ``n``
    uniforms, ``Beta(j, n - j + 1)`` on the scores' quantile scale, and the
    number of ``m`` new rows below it is binomial given the cut. Simulating
    both for every file gives the targets' chance of failing with no fault in
    the detector: the statistical limit of the protocol on files this small.
    """
    rng = np.random.default_rng(SEED)
    print(
        f"\nexchangeable scores (a perfectly calibrated detector), {draws} draws of the "
        f"same {len(sizes)} files"
    )
    for share, (low, high, worst) in zip(
        shares, ((0.035, 0.065, 0.12), (0.007, 0.013, 0.024)), strict=True
    ):
        flagged = np.empty((draws, len(sizes)))
        for column, (n_fit, n_new) in enumerate(sizes):
            j = int(round(share * n_fit))
            cut = rng.beta(j, n_fit - j + 1, size=draws) if j else np.zeros(draws)
            flagged[:, column] = rng.binomial(n_new, cut) / n_new
        median, top = np.median(flagged, axis=1), flagged.max(axis=1)
        print(
            f"contamination={share}: median in {low}-{high} in "
            f"{np.mean((median >= low) & (median <= high)):.1%} of draws; max over the files "
            f"median {np.median(top):.3f}, 95th percentile {np.quantile(top, 0.95):.3f}; "
            f"some file above {worst} in {np.mean(top > worst):.1%} of draws"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "protocol",
        nargs="?",
        choices=[
            "reduction",
            "detection",
            "novelty",
            "bundled",
            "flags",
            "small",
            "modes",
            "both",
        ],
    )
    parser.add_argument(
        "--groups",
        nargs="+",
        choices=GROUPS,
        help="detection, novelty and flags: only these groups of files",
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="detection: time the fastest of this many fits"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="detection: also average the seeded detectors over random_state 0 to SEEDS - 1",
    )
    parser.add_argument(
        "--variant",
        nargs="+",
        metavar="PARAM=VALUE",
        help="detection and novelty: also run our detector with these parameters, "
        "e.g. --variant standardize=global",
    )
    parser.add_argument(
        "--file-times",
        action="store_true",
        help="detection: also print each file's fit+score times and our ratio to PyOD's",
    )
    parser.add_argument(
        "--rows", type=int, default=100, help="small: the rows of each sample (default 100)"
    )
    args = parser.parse_args()
    variant = _parse_variant(args.variant)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", message=".*hasn't converged.*")
    warnings.filterwarnings("ignore", message="Precision loss occurred")  # ECOD's skewness
    if args.protocol in (None, "both", "reduction"):
        run_reduction()
        print()
    if args.protocol in (None, "both", "detection"):
        run_detection(args.groups, args.repeats, args.seeds, variant, args.file_times)
    if args.protocol == "novelty":
        run_novelty(args.groups, variant)
    if args.protocol == "bundled":
        run_bundled()
    if args.protocol == "flags":
        run_flags(args.groups)
    if args.protocol == "small":
        run_small(args.groups, args.rows)
    if args.protocol == "modes":
        run_modes()


if __name__ == "__main__":
    main()
