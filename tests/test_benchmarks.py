"""The benchmark scripts run: smoke runs on small data, nothing timed or compared.

The scripts reach into the package's private helpers to build exactly what
``fit`` builds; these runs catch a helper that moved before a benchmark session
does. (``bench_quality.py`` runs for minutes, but for its ``small`` protocol on
small samples; ``tests/test_quality.py`` guards the defaults it measures.)
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")  # the scripts' plots; keeps the runs comparable

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    """Run a benchmark script from the project root; its standard output."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_bench_speed_prints_every_table():
    out = _run(
        "benchmarks/bench_speed.py",
        "--quick",
        "--no-plots",
        "--baselines",
        "",
        "--networks",
        "16",
    )
    assert "sklearn_ae / torch loop with the same (fused) Adam" in out
    assert "max rel. difference 0.0e+00" in out  # the fused loop's curve, to every digit
    assert "matrix products alone of the same training" in out
    assert "fit by network size" in out
    assert "peak numpy memory of score_samples" in out


def test_bench_partial_fit_compares_with_fit_and_reads_a_memmap():
    out = _run(
        "benchmarks/bench_partial_fit.py",
        "--n-samples",
        "4000",
        "--chunk-rows",
        "1000",
        "--epochs",
        "2",
        "--test-rows",
        "1000",
        "--memmap-mib",
        "8",  # smaller than one block: read whole, so leave room for a copy
        "--headroom-mib",
        "256",
        "--random-state",
        "0",
    )
    assert "mean held-out error ratio partial_fit / fit" in out
    assert "score_samples on" in out and "rows ok" in out


def test_bench_threads_runs_the_grid_searches():
    out = _run("benchmarks/bench_threads.py", "--quick")
    assert "n_jobs=2 (joblib default)" in out


def test_bench_contention_times_fits_idle_and_busy():
    out = _run("benchmarks/bench_contention.py", "--quick")
    assert "digits, k=8" in out and "ratio" in out


def test_bench_persistence_round_trips():
    out = _run("-m", "benchmarks.bench_persistence")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    for saver in ("pickle", "joblib"):
        assert rows[saver][-1] == "True"  # the loaded model transforms identically


def test_bench_sparse_prints_its_table():
    out = _run(
        "benchmarks/bench_sparse.py",
        "--n-samples",
        "400",
        "--n-features",
        "300",
        "--density",
        "0.02",
        "--n-components",
        "4",
    )
    assert "CSR matrix:" in out and "dense float32:" in out
    for contender in ("AutoencoderTransformer", "AutoencoderOutlierDetector", "PCA-arpack"):
        assert contender in out


def test_bench_quality_small_compares_on_samples():
    """``bench_quality.py small``: per file and per half, ours against IsolationForest."""
    from sklearn_ae._testing import adbench_dir

    if adbench_dir() is None:
        pytest.skip("ADBench files not available")
    out = _run("benchmarks/bench_quality.py", "small", "--groups", "classical", "--rows", "60")
    assert "6_cardio" in out
    assert "45_wine" in out  # 129 rows: at least twice 60
    assert "classical, confirming" in out and "ours - IsolationForest" in out


def test_bench_quality_modes_prints_both_tables():
    """``bench_quality.py modes``: two clusters of unequal size, and one-hot categories."""
    out = _run("benchmarks/bench_quality.py", "modes")
    clusters, categories = out.split("one-hot categories beside them")
    for share in ("50%", "30%", "20%", "10%"):
        assert f"{share} of 2 dims" in clusters and f"{share} of 10 dims" in clusters
    assert "ours, support_fraction=1.0" in clusters
    assert "0.6/0.3/0.1, 0.8/0.2" in categories
    rows = [line for line in categories.splitlines() if line.count(" | ") == 3]  # 3 detectors
    assert [row.split("  ")[0] for row in rows] == ["none", "0.6/0.3/0.1, 0.8/0.2"]


def test_bench_quality_detection_prints_each_file_s_times():
    """``bench_quality.py detection --file-times``: a last table of each file's times."""
    from sklearn_ae._testing import load_adbench

    if load_adbench("MVTec-AD_cable") is None:
        pytest.skip("MVTec-AD embedding files not available")
    out = _run(
        "benchmarks/bench_quality.py", "detection", "--groups", "embeddings", "--file-times"
    )
    assert "embeddings, confirming" in out  # the summary, as without the flag
    table = out.split("fit+score (s) per file")[1].splitlines()
    rows = {line.split()[0]: line.split() for line in table[2:] if line.strip()}
    assert set(rows) == {
        f"MVTec-AD_{name}"
        for name in ("bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather")
    }
    assert rows["MVTec-AD_cable"][1] == "confirming"
    assert all(float(cell) > 0 for row in rows.values() for cell in row[2:])
