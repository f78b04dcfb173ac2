"""A fit beside one busy process: how much slower than on an idle machine?

torch's thread pool spins and waits for cores that another process holds; the
estimators choose torch's thread count from the size of their work to avoid it
(see ``docs/performance.rst``). This script times default fits of digits
(k=2 and k=8) and of 20 000 x 100 float32 rows (k=8), alternately idle and
beside one Python process running ``while True: x += 1``, and prints the medians
and their ratio. Run it with ``OMP_NUM_THREADS=2`` in the environment to
compare with a fixed thread count, which the estimators obey.

Run ``python benchmarks/bench_contention.py`` (``--quick`` for a smoke run).
"""

import argparse
import statistics
import subprocess
import sys
import warnings
from pathlib import Path

import torch
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Table, make_data, timed  # noqa: E402

from sklearn_ae import AutoencoderTransformer  # noqa: E402

BUSY = "x = 0\nwhile True:\n    x += 1"


def fit(X, k, max_iter):
    """A default fit (``max_iter`` aside) of ``X`` at code size ``k``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AutoencoderTransformer(k, max_iter=max_iter, random_state=0).fit(X)


def main(argv=None):
    """Parse the command line and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--rows", type=int, default=None, help="rows of the 100-feature file")
    parser.add_argument("--max-iter", type=int, default=200)
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
    table = Table("fit:<28, idle s:>8.2f, busy s:>8.2f, ratio:>7.2f")
    print(table.header())
    for name, (X, k) in cases.items():
        times = {"idle": [], "busy": []}
        for _ in range(repeats):
            times["idle"].append(timed(fit, X, k, max_iter)[0])
            busy = subprocess.Popen([sys.executable, "-c", BUSY])
            try:
                times["busy"].append(timed(fit, X, k, max_iter)[0])
            finally:
                busy.kill()
                busy.wait()
        idle, loaded = (statistics.median(times[key]) for key in ("idle", "busy"))
        print(table.row(name, idle, loaded, loaded / idle), flush=True)


if __name__ == "__main__":
    main()
