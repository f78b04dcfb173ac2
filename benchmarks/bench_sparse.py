"""Memory of a fit on a wide sparse matrix: bounded by a batch, not by the dense size.

The data: a random CSR matrix of ``--n-samples`` rows by ``--n-features``
columns (100,000 by 20,000 by default), each row holding
``density * n_features`` float32 values in (0, 1) at random columns (20 by
default; the few that coincide are summed), from a fixed seed. Dense, it
would take ``n_samples * n_features * 4`` bytes (7.45 GiB by default).

Each contender fits the matrix once, ``n_components=16``, in a fresh Python
process that builds the matrix itself:

``AutoencoderTransformer``
    ``AutoencoderTransformer(n_components=16, max_iter=1)``: one epoch, early
    stopping on (its default), so a tenth of the rows are validation rows.
``AutoencoderOutlierDetector``
    ``AutoencoderOutlierDetector(n_components=16, max_iter=1)``: robust
    scaling, one epoch, then the scores of the training rows and the threshold.
``TruncatedSVD``
    scikit-learn's ``TruncatedSVD(16)`` (randomized, no centring).
``PCA-arpack``
    scikit-learn's ``PCA(16, svd_solver="arpack")`` (centred implicitly).

For each the script prints the fit's time, the process's peak resident set
size (``ru_maxrss``: imports, a first fit on a 200 x 50 matrix that loads the
code the fit runs, the matrix and the fit), its resident size just before
the fit, and the fit's own peak above it (Linux's ``VmHWM``, reset before the
fit). Run from the project root, on as many threads as the
comparison should use::

    OMP_NUM_THREADS=1 python benchmarks/bench_sparse.py
    python benchmarks/bench_sparse.py --n-samples 20000  # a quicker run

The autoencoders' time is that of one epoch through a first layer of
20,000 x 256 weights: minutes on one core at the default size.
"""

import argparse
import os
import resource
import warnings

import numpy as np
import scipy.sparse as sp
from _common import MIB, Table, reply, resident_peak, run_child

CONTENDERS = ["AutoencoderTransformer", "AutoencoderOutlierDetector", "TruncatedSVD", "PCA-arpack"]


def make_csr(n_samples, n_features, density, seed):
    """The benchmark's random CSR matrix, float32, built without a dense step."""
    rng = np.random.default_rng(seed)
    per_row = max(1, round(density * n_features))
    columns = np.sort(rng.integers(0, n_features, size=(n_samples, per_row)), axis=1)
    values = rng.uniform(np.finfo(np.float32).tiny, 1, size=n_samples * per_row)
    indptr = np.arange(0, n_samples * per_row + 1, per_row)
    X = sp.csr_matrix(
        (values.astype(np.float32), columns.ravel(), indptr), shape=(n_samples, n_features)
    )
    X.sum_duplicates()
    return X


def _csr_bytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def _estimator(name, n_components, seed):
    if name == "AutoencoderTransformer":
        from sklearn_ae import AutoencoderTransformer

        return AutoencoderTransformer(n_components=n_components, max_iter=1, random_state=seed)
    if name == "AutoencoderOutlierDetector":
        from sklearn_ae import AutoencoderOutlierDetector

        return AutoencoderOutlierDetector(n_components=n_components, max_iter=1, random_state=seed)
    if name == "TruncatedSVD":
        from sklearn.decomposition import TruncatedSVD

        return TruncatedSVD(n_components, random_state=seed)
    from sklearn.decomposition import PCA

    return PCA(n_components, svd_solver="arpack", random_state=seed)


def child(args):
    """Fit one contender; print its time and memory as JSON."""
    warnings.simplefilter("ignore")
    # a first fit on a small matrix loads the code the fit runs: not counted
    _estimator(args.child, args.n_components, args.seed).fit(make_csr(200, 50, 0.2, args.seed))
    X = make_csr(args.n_samples, args.n_features, args.density, args.seed)
    estimator = _estimator(args.child, args.n_components, args.seed)
    seconds, fit_peak, before, _ = resident_peak(lambda: estimator.fit(X))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    reply(seconds=seconds, peak=peak, before=before, fit_peak=fit_peak)


def main(args):
    X = make_csr(args.n_samples, args.n_features, args.density, args.seed)
    dense = args.n_samples * args.n_features * 4
    print(
        f"{args.n_samples} rows x {args.n_features} features, {X.nnz} stored float32 "
        f"values ({100 * X.nnz / (args.n_samples * args.n_features):.3g} %), "
        f"n_components={args.n_components}, threads: "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print(f"CSR matrix: {_csr_bytes(X) / MIB:.1f} MiB; dense float32: {dense / MIB:.0f} MiB")
    del X
    table = Table(
        "contender:<28, fit s:>8.1f, peak RSS MiB:>13.0f, before fit MiB:>15.0f, "
        "fit peak above MiB:>19.0f",
        sep=" ",
    )
    print(table.header())
    for name in args.contenders:
        r = run_child(__file__, name)
        mebibytes = [r[key] / MIB for key in ("peak", "before", "fit_peak")]
        print(table.row(name, r["seconds"], *mebibytes))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=20_000)
    parser.add_argument("--density", type=float, default=0.001)
    parser.add_argument("--n-components", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--contenders", nargs="+", choices=CONTENDERS, default=CONTENDERS, metavar="NAME"
    )
    parser.add_argument("--child", choices=CONTENDERS, help="internal: the contender to run")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.child:
        child(arguments)
    else:
        main(arguments)
