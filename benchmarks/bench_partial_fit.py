"""Out-of-core training: ``partial_fit`` over chunks and ``fit`` on a memmap versus ``fit``.

Three runs, each in a fresh Python process so that its peak memory is its own:

``fit``
    The whole training set in memory, ``fit(X)`` for ``--epochs`` epochs.
``partial_fit``
    The same rows, produced chunk by chunk (``--chunk-rows``) and never held
    together: every epoch calls ``partial_fit`` once per chunk, chunks in a
    shuffled order.
``memmap``
    ``fit`` for one epoch, then ``score_samples``, on a float32 ``numpy.memmap``
    file of ``--memmap-mib`` MiB, in a process whose data segment may grow by
    only ``--headroom-mib`` MiB beyond what it uses after importing the package,
    plus 16 bytes per row for the output of ``score_samples`` (``RLIMIT_DATA``).
    The file is larger than the whole limit; a plain copy of it is shown to fail
    under the same limit.

The first two runs are repeated for every ``--random-state``. For them the
script prints the held-out reconstruction error (mean squared error in original
units on rows never trained on), the ratio of the mean errors, and the peak
resident memory above the process's baseline (Linux's ``VmHWM`` after a
reset). Run from the project root::

    python benchmarks/bench_partial_fit.py
"""

import argparse
import os
import resource
import tempfile
import warnings

import numpy as np
from _common import MIB, Table, held_out_mse, reply, resident_peak, run_child, status_bytes, timed


def make_rows(seed, n_samples, n_features):
    """Rows on a curved 3-D manifold in ``n_features`` dimensions, with noise, float32."""
    mixing = np.random.RandomState(0).normal(size=(3, n_features))
    rng = np.random.RandomState(seed)
    latent = rng.uniform(-1, 1, size=(n_samples, 3))
    X = np.sin(1.5 * latent @ mixing) + 0.05 * rng.normal(size=(n_samples, n_features))
    return X.astype(np.float32)


def _estimator(args):
    from sklearn_ae import AutoencoderTransformer

    return AutoencoderTransformer(
        n_components=3,
        hidden_layer_sizes=(64,),
        batch_size=args.batch_size,
        max_iter=args.epochs,
        tol=0.0,
        random_state=args.seed,
    )


def _warm_up(args):
    _estimator(args).set_params(max_iter=1).fit(make_rows(1, 1000, args.n_features))


def child_train(args):
    """Train one way; print held-out error, peak memory above baseline and time."""
    warnings.simplefilter("ignore")
    _warm_up(args)
    X_test = make_rows(10**6, args.test_rows, args.n_features)
    n_chunks = -(-args.n_samples // args.chunk_rows)
    sizes = [min(args.chunk_rows, args.n_samples - i * args.chunk_rows) for i in range(n_chunks)]
    chunks = [(i + 2, size, args.n_features) for i, size in enumerate(sizes)]
    est = _estimator(args)

    def train():
        if args.child == "fit":
            est.fit(np.concatenate([make_rows(*chunk) for chunk in chunks]))
            return
        order = np.random.RandomState(args.seed)
        for _ in range(args.epochs):
            for i in order.permutation(n_chunks):
                est.partial_fit(make_rows(*chunks[i]))

    seconds, peak, _, _ = resident_peak(train)
    reply(error=held_out_mse(est, X_test), peak=peak, seconds=seconds, n_iter=est.n_iter_)


def child_memmap(args):
    """fit and score_samples on a memmap under RLIMIT_DATA; print what happened."""
    warnings.simplefilter("ignore")
    _warm_up(args)
    n_samples = args.memmap_mib * MIB // (4 * args.n_features)
    limit = status_bytes("VmData") + args.headroom_mib * MIB + 16 * n_samples
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    X = np.memmap(args.path, dtype=np.float32, mode="r", shape=(n_samples, args.n_features))
    try:
        np.array(X)
        copy = "fits"
    except MemoryError:
        copy = "MemoryError"
    est = _estimator(args).set_params(max_iter=1, batch_size=1000)
    fit_seconds, _ = timed(est.fit, X)
    scores = est.score_samples(X)
    reply(limit=limit, copy=copy, fit_seconds=fit_seconds, scored=len(scores), n_samples=n_samples)


def _write_memmap(path, mebibytes, n_features):
    n_samples = mebibytes * MIB // (4 * n_features)
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_samples, n_features))
    step = 2**16
    for i, start in enumerate(range(0, n_samples, step)):
        X[start : start + step] = make_rows(i + 2, min(step, n_samples - start), n_features)
    X.flush()


def main(args):
    data_mib = args.n_samples * args.n_features * 4 / MIB
    chunk_mib = args.chunk_rows * args.n_features * 4 / MIB
    print(
        f"{args.n_samples} rows x {args.n_features} features (float32, {data_mib:.1f} MiB), "
        f"chunks of {args.chunk_rows} rows ({chunk_mib:.2f} MiB), {args.epochs} epochs, "
        f"held-out {args.test_rows} rows"
    )
    columns = "run:<12, seed:>4d, held-out MSE:>13.5f, peak MiB:>9.1f, seconds:>8.1f, n_iter_:>8d"
    table = Table(columns, sep=" ")
    print(table.header())
    errors = {"fit": [], "partial_fit": []}
    for seed in args.random_state:
        for mode in errors:
            r = run_child(__file__, mode, "--seed", str(seed))
            errors[mode].append(r["error"])
            print(table.row(mode, seed, r["error"], r["peak"] / MIB, r["seconds"], r["n_iter"]))
    ratio = np.mean(errors["partial_fit"]) / np.mean(errors["fit"])
    print(f"mean held-out error ratio partial_fit / fit: {ratio:.3f}")

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "X.f32")
        _write_memmap(path, args.memmap_mib, args.n_features)
        r = run_child(__file__, "memmap", "--path", path)
    print(
        f"memmap: {args.memmap_mib} MiB file ({r['n_samples']} rows), RLIMIT_DATA "
        f"{r['limit'] / MIB:.0f} MiB (baseline + {args.headroom_mib} MiB + 16 bytes per row): "
        f"plain copy -> "
        f"{r['copy']}; fit (1 epoch) {r['fit_seconds']:.1f} s; score_samples on "
        f"{r['scored']} rows ok"
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=32)
    parser.add_argument("--chunk-rows", type=int, default=5_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--test-rows", type=int, default=20_000)
    parser.add_argument("--memmap-mib", type=int, default=1024)
    parser.add_argument("--headroom-mib", type=int, default=64)
    parser.add_argument("--random-state", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seed", type=int, default=0, help="internal: this run's seed")
    parser.add_argument("--child", choices=["fit", "partial_fit", "memmap"], help="internal")
    parser.add_argument("--path", help="internal: the memmap file")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.child == "memmap":
        child_memmap(arguments)
    elif arguments.child:
        child_train(arguments)
    else:
        main(arguments)
