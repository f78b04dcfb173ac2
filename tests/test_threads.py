"""Torch's thread count during fit and inference: chosen, restored, shared, or left alone."""

import threading

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from sklearn_ae import AutoencoderTransformer, _threads
from sklearn_ae._modules import MLPAutoencoder

FAST = dict(hidden_layer_sizes=(8,), max_iter=2, early_stopping=False, random_state=0)


@pytest.fixture
def torch_default(monkeypatch):
    """Torch's count as at import, with no thread variable set (conftest sets 1 thread)."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(_threads, "_DEFAULT", 3)
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
    assert _threads.threads_for(40, module) == 2
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
