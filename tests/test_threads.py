"""Torch's and numpy's BLAS thread counts in fit and inference: chosen, restored, or left alone.

The other processes' load is monkeypatched: the tests check the rule's
decisions, never timings.
"""

import os
import threading

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer, _threads
from sklearn_ae._modules import MLPAutoencoder

FAST = dict(hidden_layer_sizes=(8,), max_iter=2, early_stopping=False, random_state=0)


@pytest.fixture
def torch_default(monkeypatch):
    """Torch's count as at import (3 of 3 CPUs), no thread variable set, no other load.

    (conftest sets 1 thread.)
    """
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(_threads, "_DEFAULT", 3)
    monkeypatch.setattr(_threads, "_cpus", lambda: [0, 1, 2])
    monkeypatch.setattr(_threads, "_others_busy", lambda cpus, wait: 0.0)  # idle
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


class Spy(MLPAutoencoder):
    """The MLP, recording torch's thread count at every training forward pass."""

    seen = []

    def forward(self, x):
        if self.training:
            Spy.seen.append(torch.get_num_threads())
        return super().forward(x)


def _X():
    return np.random.default_rng(0).normal(size=(40, 6))


def test_a_small_fit_runs_on_one_thread_and_restores_the_count(torch_default):
    Spy.seen.clear()
    AutoencoderTransformer(module=Spy, **FAST).fit(_X())
    assert set(Spy.seen) == {1}
    assert torch.get_num_threads() == torch_default


def test_a_failing_fit_restores_the_count(torch_default):
    with pytest.raises(ValueError):
        AutoencoderTransformer(n_components=99, **FAST).fit(_X())
    with pytest.raises(ZeroDivisionError):
        AutoencoderTransformer(module=Failing, **FAST).fit(_X())
    assert torch.get_num_threads() == torch_default


class Failing(MLPAutoencoder):
    def forward(self, x):
        if self.training:
            raise ZeroDivisionError
        return super().forward(x)


def test_the_count_follows_the_work(torch_default):
    module = torch.nn.Linear(1000, 1000)  # a million multiply-adds per row
    assert _threads.threads_for(1, module) == 1
    assert _threads.threads_for(10, module) == 1  # 10 million: digits' default net
    assert _threads.threads_for(20, module) == 2
    assert _threads.threads_for(10**6, module) == torch_default


def test_an_explicit_choice_is_obeyed(torch_default, monkeypatch):
    Spy.seen.clear()
    with threadpool_limits(limits=2):
        AutoencoderTransformer(module=Spy, **FAST).fit(_X())
    torch.set_num_threads(2)  # after import: the user's
    AutoencoderTransformer(module=Spy, **FAST).fit(_X())
    assert torch.get_num_threads() == 2
    torch.set_num_threads(torch_default)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # joblib's workers
    AutoencoderTransformer(module=Spy, **FAST).fit(_X())
    assert Spy.seen[: 2 * 2] == [2] * 4 and set(Spy.seen[4:]) == {3}
    assert torch.get_num_threads() == torch_default


def test_overlapping_calls_share_the_count_and_the_last_restores_it(torch_default):
    entered, release = threading.Barrier(2), threading.Event()
    seen = []

    def work(count):
        with _threads.work_threads(count):
            entered.wait()
            seen.append(torch.get_num_threads())
            release.wait()

    threads = [threading.Thread(target=work, args=(count,)) for count in (1, 2)]
    for thread in threads:
        thread.start()
    while len(seen) < 2:
        pass
    release.set()
    for thread in threads:
        thread.join()
    # OpenMP keeps a count per OS thread: each block runs on its own count or
    # the shared one, never on more than the largest asked for
    assert set(seen) <= {1, 2}
    assert torch.get_num_threads() == torch_default


def test_two_estimators_fitting_in_two_threads_leave_the_count_right(torch_default):
    results = []

    def fit(seed):
        est = AutoencoderTransformer(**{**FAST, "max_iter": 5, "random_state": seed})
        results.append(est.fit(_X()).transform(_X()))

    for _ in range(3):
        threads = [threading.Thread(target=fit, args=(seed,)) for seed in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 6 and all(np.all(np.isfinite(r)) for r in results)
    assert torch.get_num_threads() == torch_default


# The free cores ---------------------------------------------------------------


def busy(*values):
    """A load source returning ``values`` in turn (then the last), recording ``wait``."""
    values, waits = list(values), []

    def others(cpus, wait):
        waits.append(wait)
        return values.pop(0) if len(values) > 1 else values[0]

    others.waits = waits
    return others


@pytest.mark.parametrize(
    "others, free", [(0.0, 3), (0.4, 3), (0.6, 2), (1.0, 2), (1.7, 1), (2.4, 1), (9.0, 1)]
)
def test_the_free_cores_are_the_cpus_less_the_other_load_rounded(monkeypatch, others, free):
    monkeypatch.setattr(_threads, "_cpus", lambda: [0, 1, 2])
    monkeypatch.setattr(_threads, "_others_busy", busy(others))
    assert _threads.free_cores() == free


def test_a_large_fit_takes_the_free_cores_and_follows_them_between_epochs(
    torch_default, monkeypatch
):
    monkeypatch.setattr(_threads, "_WORK_PER_THREAD", 1)  # the work asks for every thread
    load = busy(0.0, 0.0, 1.0, 1.0, 2.0, 0.0)
    monkeypatch.setattr(_threads, "_others_busy", load)
    Spy.seen.clear()
    est = AutoencoderTransformer(module=Spy, **{**FAST, "max_iter": 5})
    est.fit(_X())  # one batch an epoch; the load is measured at the start and after each
    assert Spy.seen == [3, 3, 2, 2, 1]
    assert load.waits[0] is True and not any(load.waits[1:])  # only the start may wait
    assert torch.get_num_threads() == torch_default


def test_a_small_fit_does_not_measure_the_load(torch_default, monkeypatch):
    def fail(cpus, wait):
        raise AssertionError("measured")

    monkeypatch.setattr(_threads, "_others_busy", fail)
    AutoencoderTransformer(**FAST).fit(_X()).transform(_X())


def test_inference_uses_the_free_cores_without_waiting(torch_default, monkeypatch):
    est = AutoencoderTransformer(**FAST).fit(_X())
    monkeypatch.setattr(_threads, "_WORK_PER_THREAD", 1)
    load = busy(1.0)
    monkeypatch.setattr(_threads, "_others_busy", load)
    seen = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), real(n)))
    est.transform(_X())
    assert seen == [2, torch_default] and load.waits == [False]


def test_an_explicit_choice_is_obeyed_whatever_the_load(torch_default, monkeypatch):
    monkeypatch.setattr(_threads, "_WORK_PER_THREAD", 1)
    monkeypatch.setattr(_threads, "_others_busy", busy(2.0))
    Spy.seen.clear()
    with threadpool_limits(limits=2):
        AutoencoderTransformer(module=Spy, **FAST).fit(_X())
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    AutoencoderTransformer(module=Spy, **FAST).fit(_X())
    assert Spy.seen == [2, 2, 3, 3]


def snapshots(monkeypatch, *values):
    """``_snapshot`` returning ``values`` in turn; a fresh ``_Load``; no sleeping."""
    values = list(values)
    monkeypatch.setattr(_threads, "_snapshot", lambda cpus: values.pop(0))
    monkeypatch.setattr(_threads.time, "sleep", lambda seconds: None)
    return _threads._Load()


def test_the_load_is_the_cpus_busy_time_less_this_process_s(monkeypatch):
    # (wall s, this process's CPU s, the CPUs' busy s)
    load = snapshots(
        monkeypatch, (0.0, 0.0, 0.0), (0.5, 0.5, 1.0), (0.52, 0.6, 1.2), (1.0, 1.0, 1.4)
    )
    assert load.others([0, 1], wait=False) == 0.0  # no earlier snapshot: nothing known
    assert load.others([0, 1], wait=False) == pytest.approx(1.0)  # 0.5 s, 1.0 busy, 0.5 ours
    assert load.others([0, 1], wait=False) == pytest.approx(1.0)  # 20 ms later: the same
    assert load.others([0, 1], wait=False) == pytest.approx(0.0)  # since 0.5 s: all ours


def test_a_stale_measure_waits_for_a_fresh_one_only_when_asked(monkeypatch):
    load = snapshots(monkeypatch, (0.0, 0.0, 0.0), (10.0, 1.0, 11.0), (10.05, 1.0, 11.1))
    load.others([0], wait=False)
    assert load.others([0], wait=True) == pytest.approx(2.0)  # the last 50 ms only
    load = snapshots(monkeypatch, (0.0, 0.0, 0.0), (10.0, 1.0, 11.0))
    load.others([0], wait=False)
    assert load.others([0], wait=False) == pytest.approx(1.0)  # the 10 s average


def test_without_proc_stat_the_load_average_less_this_process_s(monkeypatch):
    load = snapshots(monkeypatch, (0.0, 0.0, None), (1.0, 1.0, None))
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (2.5, 0.0, 0.0))
    load.others([0, 1], wait=False)
    assert load.others([0, 1], wait=False) == pytest.approx(1.5)


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="Linux's /proc/stat")
def test_the_snapshot_reads_the_cpus_busy_time():
    cpus = _threads._cpus()
    wall, own, busy_s = _threads._snapshot(cpus)
    assert busy_s > 0 and own > 0
    assert _threads._snapshot(cpus)[2] >= busy_s
    assert 0.0 <= _threads.free_cores(wait=True) <= len(cpus)


# numpy's and scipy's BLAS -----------------------------------------------------


def _blas_counts():
    return [lib.num_threads for lib in _threads._blas_controller().lib_controllers]


@pytest.fixture
def blas_default(monkeypatch):
    """BLAS on 3 threads as at the first use, no thread variable set; yields the counts."""
    for name in _threads._BLAS_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    if not _threads._blas_controller().lib_controllers:
        pytest.skip("threadpoolctl finds no BLAS library")
    with threadpool_limits(limits=3, user_api="blas"):
        counts = _blas_counts()
        if set(counts) == {1}:
            pytest.skip("the BLAS libraries run on one thread only")
        monkeypatch.setitem(_threads._BLAS, "counts", counts)
        yield counts


def _spy_blas(monkeypatch):
    """Record the BLAS counts in the detector's robust PCA, score statistics and scoring."""
    from sklearn_ae import _robust_rows, _score_model, _scoring

    seen = []

    def spying(function):
        def spy(*args, **kwargs):
            seen.append(_blas_counts())
            return function(*args, **kwargs)

        return spy

    monkeypatch.setattr(_robust_rows, "ppca_support", spying(_robust_rows.ppca_support))
    monkeypatch.setattr(_score_model, "fit_latent_model", spying(_score_model.fit_latent_model))
    monkeypatch.setattr(_scoring.LatentModel, "terms", spying(_scoring.LatentModel.terms))
    return seen


def test_the_detector_s_numpy_work_runs_on_one_blas_thread(blas_default, monkeypatch):
    seen = _spy_blas(monkeypatch)
    X = _X()
    AutoencoderOutlierDetector(**FAST).fit(X).score_samples(X)
    assert len(seen) >= 3 and all(set(counts) == {1} for counts in seen)
    assert _blas_counts() == blas_default


def test_an_explicit_blas_choice_is_left_alone(blas_default, monkeypatch):
    seen = _spy_blas(monkeypatch)
    X = _X()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    AutoencoderOutlierDetector(**FAST).fit(X)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    # counts other than those at the first use: a threadpoolctl choice
    monkeypatch.setitem(_threads._BLAS, "counts", [99] * len(blas_default))
    AutoencoderOutlierDetector(**FAST).fit(X).score_samples(X)
    assert seen and all(counts == blas_default for counts in seen)


def test_failing_and_overlapping_fits_restore_the_blas_counts(blas_default):
    with pytest.raises(ValueError):
        AutoencoderOutlierDetector(n_components=99, **FAST).fit(_X())
    assert _blas_counts() == blas_default
    results = []

    def fit(seed):
        detector = AutoencoderOutlierDetector(**{**FAST, "random_state": seed})
        results.append(detector.fit(_X()).score_samples(_X()))

    for _ in range(3):
        threads = [threading.Thread(target=fit, args=(seed,)) for seed in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 6 and all(np.all(np.isfinite(r)) for r in results)
    assert _blas_counts() == blas_default
