"""A fit beside one busy process: how much slower than on an idle machine?

torch's thread pool spins and waits for cores that another process holds; the
estimators choose torch's thread count from the size of their work to avoid it
(see ``docs/performance.rst``). This script times default fits of digits
(k=2 and k=8) and of 20 000 x 100 float32 rows (k=8), alternately idle,
beside one Python process running ``while True: x += 1`` and idle on one thread,
and prints the medians, the busy/idle ratio and the one-thread/idle ratio:
with one core of two free, the least busy/idle ratio any thread count reaches.
Run it with ``OMP_NUM_THREADS=2`` in the environment to compare with a fixed
thread count, which the estimators obey.

It then times the large default network of ``bench_speed.py`` (50 000 x 100
float32 rows, ``batch_size=256``, 5 epochs, early stopping off, k=2) with the
package's rule and with two threads fixed (``OMP_NUM_THREADS=2`` during the fit:
the count before the rule), alternately in one process, idle and beside the
busy process, with the thread counts the training steps ran on. Every table
row gives the 1-minute load average when it was printed: on a shared machine
"idle" means no busy process of this script's.

Run ``python benchmarks/bench_contention.py`` (``--quick`` for a smoke run;
``--skip-small`` or ``--skip-large`` for one part).
"""

import argparse
import collections
import contextlib
import os
import statistics
import subprocess
import sys
import warnings
from pathlib import Path

import torch
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Table, alternate, make_data, timed  # noqa: E402

from sklearn_ae import AutoencoderTransformer  # noqa: E402

BUSY = "x = 0\nwhile True:\n    x += 1"


@contextlib.contextmanager
def fixed_threads(count):
    """torch on ``count`` threads, an explicit choice the estimators obey; restored on exit.

    ``OMP_NUM_THREADS`` is set too: a count equal to torch's at import would
    otherwise read as torch's default, which the package's rule replaces.
    """
    before, variable = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(count)
    torch.set_num_threads(count)
    try:
        yield
    finally:
        if variable is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = variable
        torch.set_num_threads(before)


def fit(X, k, max_iter, threads=None):
    """A default fit (``max_iter`` aside) of ``X`` at code size ``k``.

    ``threads``: torch's thread count during the fit (None: the package's rule).
    """
    with contextlib.ExitStack() as stack, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if threads is not None:
            stack.enter_context(fixed_threads(threads))
        return AutoencoderTransformer(k, max_iter=max_iter, random_state=0).fit(X)


@contextlib.contextmanager
def busy_process():
    """One other Python process running ``while True: x += 1`` during the block."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        yield
    finally:
        busy.kill()
        busy.wait()


def fit_large(X, epochs, fixed):
    """The large default network's fit; ``fixed``: with two threads, as before the rule."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = AutoencoderTransformer(
            2, batch_size=256, max_iter=epochs, early_stopping=False, random_state=0
        )
        if not fixed:
            return est.fit(X)
        with fixed_threads(2):
            return est.fit(X)


class StepThreads:
    """Counts of torch's thread count at the training forward passes (a global hook)."""

    def __init__(self):
        self.counts = collections.Counter()
        torch.nn.modules.module.register_module_forward_pre_hook(self)

    def __call__(self, module, args):
        if module.training and not any(True for _ in module.children()):
            self.counts[torch.get_num_threads()] += 1

    def take(self):
        counts, self.counts = dict(self.counts), collections.Counter()
        return "/".join(f"{n}:{c}" for n, c in sorted(counts.items()))


def large_net(args, repeats):
    """The large default network: the rule against two fixed threads, idle and busy."""
    rows = 2_000 if args.quick else 50_000
    epochs = 1 if args.quick else 5
    X = make_data(rows, 100)
    steps = StepThreads()
    contenders = {}
    for where in ("idle", "busy"):
        for name, fixed in (("rule", False), ("2 threads", True)):

            def run(where=where, fixed=fixed):
                with busy_process() if where == "busy" else contextlib.nullcontext():
                    return fit_large(X, epochs, fixed), steps.take()

            contenders[f"{where}, {name}"] = run
    print(
        f"\nlarge default network: {rows} x 100 float32, batch_size=256, {epochs} epochs, "
        f"k=2; {repeats} alternated repeats"
    )
    table = Table(
        "contender:<18, median s:>9.2f, min s:>7.2f, max s:>7.2f, ratio:>6.2f, load:>6.2f"
    )
    print(table.header(), " training passes of leaf modules by thread count (last repeat)")
    times = {name: [] for name in contenders}
    for repeat in range(repeats):  # ``alternate`` a round at a time, to print as it goes
        round_times, results = alternate(contenders, 1)
        for name, seconds in round_times.items():
            times[name] += seconds
        print(
            f"  repeat {repeat + 1}:",
            ", ".join(
                f"{name} {seconds[0]:.2f} s [{results[name][1]}]"
                for name, seconds in round_times.items()
            ),
            f"(load {os.getloadavg()[0]:.2f})",
            flush=True,
        )
    for where in ("idle", "busy"):
        fixed = statistics.median(times[f"{where}, 2 threads"])
        for name in ("rule", "2 threads"):
            key = f"{where}, {name}"
            median = statistics.median(times[key])
            row = (median, min(times[key]), max(times[key]), median / fixed, os.getloadavg()[0])
            print(table.row(key, *row), "", results[key][1])


def main(argv=None):
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--rows", type=int, default=None, help="rows of the 100-feature file")
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--large-repeats", type=int, default=None)
    parser.add_argument("--skip-small", action="store_true", help="only the large network")
    parser.add_argument("--skip-large", action="store_true", help="only the small fits")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    rows = args.rows or (2_000 if args.quick else 20_000)
    max_iter = 3 if args.quick else args.max_iter
    digits = load_digits().data
    cases = {
        "digits, k=2": (digits, 2),
        "digits, k=8": (digits, 8),
        f"{rows} x 100 float32, k=8": (make_data(rows, 100), 8),
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads outside fit; "
        f"max_iter={max_iter}, {repeats} repeats"
    )
    print(f"load average at start: {os.getloadavg()}")
    table = Table(
        "fit:<28, idle s:>8.2f, busy s:>8.2f, ratio:>7.2f, "
        "idle 1 thread s:>16.2f, limit:>6.2f, load:>6.2f"
    )
    print(table.header())
    for name, (X, k) in ({} if args.skip_small else cases).items():
        times = {"idle": [], "busy": [], "one": []}
        for _ in range(repeats):
            times["idle"].append(timed(fit, X, k, max_iter)[0])
            with busy_process():
                times["busy"].append(timed(fit, X, k, max_iter)[0])
            times["one"].append(timed(fit, X, k, max_iter, 1)[0])
        idle, loaded, one = (statistics.median(times[key]) for key in ("idle", "busy", "one"))
        row = (idle, loaded, loaded / idle, one, one / idle, os.getloadavg()[0])
        print(table.row(name, *row), flush=True)
    if cases and not args.skip_small:
        print(
            "limit: the idle one-thread time over the idle time. Beside one busy process "
            "on two cores one core is free,\nso no thread count makes a fit faster "
            "than on one thread idle: the busy/idle ratio cannot fall below it."
        )
    if not args.skip_large:
        large_net(args, args.large_repeats or repeats)


if __name__ == "__main__":
    main()
