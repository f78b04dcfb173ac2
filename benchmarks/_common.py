"""What the benchmark scripts share: timing, memory, child processes, tables, baselines.

Timing: ``timed`` collects garbage before it starts the clock, so that one
contender's garbage is not collected on the next one's time; ``alternate`` runs
every contender once per repetition, in a fixed order, so that a burst of load
on a shared machine hits all of them. Memory: the process's resident size from
``/proc`` (Linux). Child processes: a script runs itself again with
``--child MODE`` in a fresh Python, whose peak memory is then its own, and reads
back the one JSON line the child prints.
"""

import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Measure this checkout's package, not a copy installed elsewhere.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
MIB = 2**20
SEED = 0


def make_data(n_samples, n_features, seed=0, dtype=np.float32):
    """Rows near a curved 5-dimensional manifold, plus noise."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_samples, 5))
    mixing = rng.normal(size=(10, n_features))
    features = np.hstack([latent, np.tanh(latent) ** 2])
    X = features @ mixing + 0.1 * rng.normal(size=(n_samples, n_features))
    return X.astype(dtype)


# Timing ---------------------------------------------------------------------


def timed(fn, *args):
    """Wall time of ``fn(*args)`` and its result, after a garbage collection."""
    gc.collect()
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def alternate(contenders, repeats):
    """Times of ``{name: fn}`` over ``repeats`` rounds, each round running all in turn.

    Returns ``{name: [seconds of each round]}`` and ``{name: result of the last round}``.
    """
    times = {name: [] for name in contenders}
    results = {}
    for _ in range(repeats):
        for name, fn in contenders.items():
            elapsed, results[name] = timed(fn)
            times[name].append(elapsed)
    return times, results


def median_time(fn, repeats=5):
    """Median wall time of ``repeats`` calls of ``fn()``."""
    return statistics.median(timed(fn)[0] for _ in range(repeats))


# Memory (Linux) -------------------------------------------------------------


def status_bytes(field):
    """A ``/proc/self/status`` field (``VmRSS``, ``VmHWM``, ...), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak():
    """Reset the peak resident set size (``VmHWM``) to the current one."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def resident_peak(fn):
    """Run ``fn()``: its seconds, peak resident size above the one before, that size, result.

    The peak is Linux's ``VmHWM`` after a reset, less ``VmRSS`` just before ``fn``.
    """
    gc.collect()  # first, so that the collection in ``timed`` frees nothing under the baseline
    reset_peak()
    before = status_bytes("VmRSS")
    seconds, result = timed(fn)
    return seconds, status_bytes("VmHWM") - before, before, result


# Child processes ------------------------------------------------------------


def run_child(script, mode, *extra):
    """Run ``script`` again with this command line and ``--child mode``; its reply."""
    command = [sys.executable, script, *sys.argv[1:], "--child", mode, *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode:
        raise RuntimeError(f"{mode} run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def reply(**values):
    """Print a child's results as the JSON line ``run_child`` reads."""
    print(json.dumps(values))


# Tables ---------------------------------------------------------------------


class Table:
    """A fixed-width text table, printed a row at a time.

    ``columns`` reads ``"contender:<22, median s:>10.3f, ..."``: each column's
    header and the format spec of its values; the header takes the spec's
    alignment and width, and a value of ``None`` prints as ``-`` in that width.
    """

    def __init__(self, columns, sep=""):
        columns = [column.rpartition(":") for column in columns.split(", ")]
        self.headers = [header for header, _, _ in columns]
        self.specs = [spec for _, _, spec in columns]
        self.widths = [re.match(r"[<>^]?\d*", spec).group() for spec in self.specs]
        self.sep = sep

    def header(self):
        return self.sep.join(f"{h:{w}}" for h, w in zip(self.headers, self.widths, strict=True))

    def row(self, *values):
        return self.sep.join(
            f"{'-':{width}}" if value is None else f"{value:{spec}}"
            for value, spec, width in zip(values, self.specs, self.widths, strict=True)
        )


# Baselines and measures -----------------------------------------------------


def held_out_mse(model, X, target=None):
    """Mean squared error of ``model``'s reconstruction of ``X`` (against ``target``)."""
    target = X if target is None else target
    return float(np.mean((model.inverse_transform(model.transform(X)) - target) ** 2))


def standardized_halves(X, seed):
    """A 50/50 split of ``X`` (``seed``), both halves standardized on the first."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, X_test = train_test_split(X, test_size=0.5, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


def have_pyod():
    """Whether PyOD (with its torch ``AutoEncoder``) can be imported."""
    try:
        import pyod.models.auto_encoder  # noqa: F401
    except ImportError:
        return False
    return True


def pyod_autoencoder(**params):
    """PyOD's ``AutoEncoder``, seeded and silent; ``params`` as PyOD names them."""
    from pyod.models.auto_encoder import AutoEncoder

    return AutoEncoder(**{"random_state": SEED, "verbose": 0, **params})
