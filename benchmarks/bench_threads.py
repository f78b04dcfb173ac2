"""Threads of a grid search: does ``GridSearchCV(n_jobs=k)`` oversubscribe the cores?

joblib's default (loky) backend starts each worker with ``OMP_NUM_THREADS`` and
friends set to ``cpu_count() // n_jobs``, and torch honours them, so ``n_jobs``
workers together use the machine's cores once. This script grid-searches
``n_components`` with ``n_jobs=1``, with ``n_jobs=2`` (joblib's default thread
limit) and with ``n_jobs=2`` told to let every worker use every core (the
oversubscribed case), and prints the wall times and the torch threads each fit
saw. The configurations alternate within each repetition; medians are printed.
Torch's first optimizer loads torch's compiler modules (seconds): the script
makes one before the timing, so that ``n_jobs=1`` does not pay for it.

Run ``python benchmarks/bench_threads.py`` (``--quick`` for a smoke run).
"""

import argparse
import os
import statistics
import sys
import warnings
from pathlib import Path

from joblib import parallel_config
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Table, alternate, make_data  # noqa: E402

from sklearn_ae import AutoencoderTransformer  # noqa: E402


def reconstruction_score(estimator, X, y=None):
    """The estimator's own score: minus the mean squared reconstruction error."""
    return estimator.score(X)


def torch_threads(estimator, X, y=None):
    """Torch's intra-op thread count in the process that fitted ``estimator``."""
    import torch

    return torch.get_num_threads()


def warm_up():
    """Make a first torch optimizer in this process: it loads modules for seconds."""
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def grid_search(X, n_jobs, epochs, inner_threads=None):
    """A grid search over ``n_components`` (loky workers of ``inner_threads``), fitted."""
    search = GridSearchCV(
        AutoencoderTransformer(max_iter=epochs, batch_size=256, random_state=0),
        {"n_components": [1, 2, 4, 8]},
        cv=2,
        scoring={"score": reconstruction_score, "threads": torch_threads},
        refit=False,
        n_jobs=n_jobs,
    )
    with (
        warnings.catch_warnings(),
        parallel_config(backend="loky", inner_max_num_threads=inner_threads),
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X)


def main(argv=None):
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    rows = args.rows or (2_000 if args.quick else 20_000)
    epochs = args.epochs or (1 if args.quick else 3)
    repeats = args.repeats or (1 if args.quick else 3)
    cores = os.cpu_count()
    warm_up()
    X = make_data(rows, 100)
    configs = {
        "n_jobs=1": (1, None),
        "n_jobs=2 (joblib default)": (2, None),
        f"n_jobs=2, {cores} threads each": (2, cores),
    }
    print(
        f"{cores} cores; GridSearchCV over 4 n_components x 2 folds on {rows} x 100 rows, "
        f"{epochs} epochs per fit, {repeats} repeats"
    )
    contenders = {
        name: lambda n_jobs=n_jobs, inner=inner: grid_search(X, n_jobs, epochs, inner)
        for name, (n_jobs, inner) in configs.items()
    }
    times, searches = alternate(contenders, repeats)
    reference = statistics.median(times["n_jobs=1"])
    table = Table("configuration:<28, torch threads per fit:>22, median s:>10.2f, ratio:>8.2f")
    print(table.header())
    for name, values in times.items():
        threads = sorted({int(t) for t in searches[name].cv_results_["mean_test_threads"]})
        med = statistics.median(values)
        print(table.row(name, str(threads), med, med / reference))


if __name__ == "__main__":
    main()
