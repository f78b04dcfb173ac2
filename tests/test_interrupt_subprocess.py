"""Ctrl-C at any moment of a first fit: a usable model or none, and a process that fits on."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The child fits until interrupted (the fit would run for minutes), then fits
# again in the same process, and prints what it saw as one JSON line.
CHILD = """
import json, signal, sys, warnings
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
from sklearn_ae import AutoencoderTransformer
X = np.random.default_rng(0).normal(size=(2000, 20))
params = dict(max_iter=100000, n_iter_no_change=100000, random_state=0)
est = AutoencoderTransformer(2, **params)
print("ready", flush=True)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        est.fit(X)
        outcome = "warned" if any("interrupted" in str(w.message) for w in caught) else "silent"
        usable = bool(np.isfinite(est.transform(X)).all()) and est.n_iter_ >= 0
    except KeyboardInterrupt:
        outcome = "raised"
        usable = not any(name.endswith("_") for name in vars(est))
again = AutoencoderTransformer(2, max_iter=2, early_stopping=False, random_state=0).fit(X)
print(json.dumps({"outcome": outcome, "usable": usable, "again": again.n_iter_}))
"""

DELAYS = [0.05, 0.2, 0.5, 1.0, 2.0, 3.5]


@pytest.mark.skipif(os.name != "posix", reason="sends a POSIX signal")
def test_ctrl_c_at_any_moment_leaves_a_usable_model_or_none_and_a_working_process():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in DELAYS
    ]
    for child in children:  # each child, once ready, meets its own delay
        assert child.stdout.readline().strip() == "ready"
    started = time.monotonic()
    for delay, child in sorted(zip(DELAYS, children, strict=True), key=lambda p: p[0]):
        time.sleep(max(0.0, started + delay - time.monotonic()))
        child.send_signal(signal.SIGINT)
    for delay, child in zip(DELAYS, children, strict=True):
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, f"delay {delay}: {err[-2000:]}"
        reply = json.loads(out.strip().splitlines()[-1])
        assert reply["outcome"] in ("warned", "raised"), (delay, reply)
        assert reply["usable"], (delay, reply)
        assert reply["again"] == 2, (delay, reply)
