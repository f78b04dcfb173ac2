"""Scaling out: partial_fit over chunks, memmaps, devices, parallel searches, compile."""

import pickle
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import IncrementalPCA
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

import sklearn_ae._base
from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer

FAST = dict(hidden_layer_sizes=(8,), batch_size=50, random_state=0)
ROOT = Path(__file__).resolve().parents[1]


def _data(n_samples=600, n_features=6, seed=0):
    """Rows near a curved 2-D surface, with features of different scales."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(-1, 1, size=(n_samples, 2))
    X = np.tanh(t @ rng.normal(size=(2, n_features)) * 2) + 0.05 * rng.normal(
        size=(n_samples, n_features)
    )
    return X * np.arange(1, n_features + 1) + 10


def _memmap(tmp_path, X):
    path = tmp_path / "X.dat"
    out = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    out[:] = X
    out.flush()
    return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few dozen rows, so that small memmaps span many blocks."""
    monkeypatch.setattr(sklearn_ae._base, "_CHUNK_BYTES", 2048)


# -- partial_fit ---------------------------------------------------------------


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_partial_fit_initialises_then_trains_one_epoch_per_call(Estimator):
    X = _data()
    est = Estimator(**FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # like MLPRegressor: no ConvergenceWarning
        est.partial_fit(X[:200])
        assert (est.n_iter_, len(est.loss_curve_), est.n_samples_seen_) == (1, 1, 200)
        first = est.transform(X)
        est.partial_fit(X[200:400]).partial_fit(X[400:])
    assert (est.n_iter_, len(est.loss_curve_), est.n_samples_seen_) == (3, 3, 600)
    assert est.n_features_in_ == X.shape[1]
    assert not np.allclose(est.transform(X), first)
    if Estimator is AutoencoderOutlierDetector:
        assert set(np.unique(est.predict(X))) <= {-1, 1}


def test_partial_fit_statistics_match_a_full_pass():
    """As IncrementalPCA's, the running statistics equal those of all rows at once."""
    X = _data()
    est = AutoencoderTransformer(**FAST)
    ipca = IncrementalPCA(n_components=2)
    for chunk in np.array_split(X, 7):
        est.partial_fit(chunk)
        ipca.partial_fit(chunk)
    scaler = StandardScaler().fit(X)
    assert_allclose(est.mean_, scaler.mean_)
    assert_allclose(est.scale_, np.sqrt(scaler.var_.mean()))  # one global scale
    assert_allclose(est.mean_, ipca.mean_)
    assert est.n_samples_seen_ == ipca.n_samples_seen_ == len(X)


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_partial_fit_feature_count_change_raises_sklearn_error(Estimator):
    X = _data()
    ipca = IncrementalPCA(n_components=2).partial_fit(X)
    with pytest.raises(ValueError) as exc:
        ipca.partial_fit(X[:, :4])
    expected = str(exc.value).replace("IncrementalPCA", Estimator.__name__)
    est = Estimator(**FAST).partial_fit(X)
    with pytest.raises(ValueError, match=re.escape(expected)):
        est.partial_fit(X[:, :4])
    assert est.n_iter_ == 1  # the failed call changed nothing


def test_partial_fit_continues_fit_and_fit_restarts():
    X = _data()
    fitted = AutoencoderTransformer(max_iter=4, **FAST).fit(X)
    est = pickle.loads(pickle.dumps(fitted)).partial_fit(X)
    assert est.n_iter_ == fitted.n_iter_ + 1
    assert_allclose(est.mean_, fitted.mean_)  # the same rows again: same statistics...
    assert est.n_samples_seen_ == 2 * len(X)  # ...counted twice, as IncrementalPCA does
    est.fit(X)  # fit starts anew, whatever partial_fit did before
    assert_array_equal(est.transform(X), fitted.transform(X))
    assert est.n_iter_ == fitted.n_iter_


def test_partial_fit_ignores_early_stopping_like_mlp():
    est = AutoencoderTransformer(early_stopping=True, **FAST).partial_fit(_data())
    assert est.validation_scores_ is None and est.best_loss_ is not None


def test_partial_fit_is_deterministic():
    X = _data()
    a, b = AutoencoderTransformer(**FAST), AutoencoderTransformer(**FAST)
    for chunk in np.array_split(X, 3):
        a.partial_fit(chunk)
        b.partial_fit(chunk)
    assert_array_equal(a.transform(X), b.transform(X))


def _curve(n_samples, seed):
    """Rows along a 1-D curve in 4-D, which one linear component reconstructs poorly."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(-1, 1, size=(n_samples, 1))
    X = np.hstack([np.cos(2.5 * t), np.sin(2.5 * t), t, t**2])
    return X + 0.02 * rng.normal(size=X.shape)


def test_partial_fit_over_chunks_trains_like_fit():
    """Epochs of partial_fit over shuffled chunks get close to fit on the same rows.

    One seed at this size varies by tens of percent either way; the benchmark
    compares the two within 10 % over several seeds on more data.
    """
    X, X_test = _curve(1000, 0), _curve(500, 1)
    params = dict(
        n_components=1,
        hidden_layer_sizes=(16,),
        learning_rate_init=1e-2,
        batch_size=50,
        random_state=0,
    )
    epochs, chunks = 20, np.array_split(X, 5)
    full = AutoencoderTransformer(max_iter=epochs, **params).fit(X)
    chunked = AutoencoderTransformer(**params).partial_fit(chunks[0])
    start_error = chunked.reconstruction_error(X_test).mean()  # about PCA's
    rng = np.random.RandomState(0)
    for _ in range(epochs):
        for i in rng.permutation(len(chunks)):
            chunked.partial_fit(chunks[i])
    assert chunked.n_iter_ == 1 + len(chunks) * epochs
    full_error = full.reconstruction_error(X_test).mean()
    chunked_error = chunked.reconstruction_error(X_test).mean()
    assert chunked_error < 0.5 * start_error
    assert chunked_error < 1.5 * full_error


# -- memmap ---------------------------------------------------------------------


@pytest.mark.parametrize("early_stopping", [False, True])
def test_fit_on_memmap_matches_in_memory_fit(tmp_path, small_blocks, early_stopping):
    X = _data(400).astype(np.float32)
    X_mm = _memmap(tmp_path, X)
    params = dict(max_iter=5, early_stopping=early_stopping, n_iter_no_change=1, **FAST)
    in_memory = AutoencoderTransformer(**params).fit(X)
    streamed = AutoencoderTransformer(**params).fit(X_mm)
    assert_allclose(streamed.mean_, in_memory.mean_, rtol=1e-6)
    assert_allclose(streamed.scale_, in_memory.scale_, rtol=1e-6)
    assert streamed.n_iter_ >= 2
    if early_stopping:
        assert len(streamed.validation_scores_) == streamed.n_iter_
    # Training order differs (blocks), so the models differ, but are as good.
    assert streamed.score(X) == pytest.approx(in_memory.score(X), rel=0.1)
    again = AutoencoderTransformer(**params).fit(X_mm)
    assert_array_equal(again.transform(X_mm), streamed.transform(X_mm))
    assert_allclose(streamed.transform(X_mm), streamed.transform(X))


def test_memmap_chooses_n_components_as_pca_does(tmp_path, small_blocks):
    X = np.hstack([_data(400), _data(400, seed=1)])
    X_mm = _memmap(tmp_path, X)
    expected = AutoencoderTransformer(n_components=None, max_iter=1, **FAST).fit(X)
    streamed = AutoencoderTransformer(n_components=None, max_iter=1, **FAST).fit(X_mm)
    assert 1 < streamed.n_components_ == expected.n_components_ < X.shape[1]


def test_memmap_partial_fit_and_detector(tmp_path, small_blocks):
    X = _data(500)
    X_mm = _memmap(tmp_path, X)
    detector = AutoencoderOutlierDetector(contamination=0.1, max_iter=3, **FAST).fit(X_mm)
    assert (detector.predict(X_mm) == -1).mean() == pytest.approx(0.1, abs=0.01)
    est = AutoencoderTransformer(**FAST).partial_fit(X_mm[:200]).partial_fit(X_mm[200:])
    assert est.n_iter_ == 2 and est.n_samples_seen_ == len(X)


def test_blocks_visit_every_row_once_per_epoch():
    """Training and validation blocks partition the rows; an epoch sees each once.

    Each block of 10 rows gives ceil(0.2 * 10) = 2 rows to validation, the last
    block of 3 rows gives 1.
    """
    from sklearn_ae._data import _BlockIterator, _Blocks

    X = np.arange(103, dtype=np.float32).reshape(-1, 1)
    blocks = _Blocks(X, lambda rows: rows.astype(np.float32), 10, torch.device("cpu"))
    train, valid = blocks.split(0.2, seed=0)
    epochs = [
        _BlockIterator(train, 4, torch.Generator().manual_seed(0)),
        _BlockIterator(valid, 4),
    ]
    seen = [np.concatenate([batch.numpy().ravel() for batch in epoch]) for epoch in epochs]
    assert [len(rows) for rows in seen] == [len(train), len(valid)] == [82, 21]
    assert [len(epoch) for epoch in epochs] == [sum(1 for _ in epoch) for epoch in epochs]
    assert_array_equal(np.sort(np.concatenate(seen)), np.arange(103))
    assert not np.array_equal(seen[0], np.sort(seen[0]))  # shuffled


_BOUNDED_FIT = """
import resource, sys, warnings
import numpy as np
import sklearn_ae._base
from sklearn_ae import AutoencoderTransformer

warnings.simplefilter("ignore")
sklearn_ae._base._CHUNK_BYTES = 2**20  # blocks of 1 MiB: a small, fast test
path, n_samples, n_features, headroom = sys.argv[1], *map(int, sys.argv[2:])
params = dict(hidden_layer_sizes=(), batch_size=1000, max_iter=1, random_state=0)
AutoencoderTransformer(**params).fit(np.random.rand(5000, n_features))  # warm up


def data_segment():
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(status["VmData"].split()[0]) * 1024


limit = data_segment() + headroom
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_samples, n_features))
try:
    np.array(X)
    print("a copy fits: the limit does not bind")
except MemoryError:
    pass
est = AutoencoderTransformer(**params).fit(X)
print("ok", est.n_iter_, est.score_samples(X).shape[0])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA, /proc")
def test_fit_on_memmap_larger_than_allowed_memory(tmp_path):
    """fit and score_samples on a memmap larger than the memory the process may still allocate."""
    n_samples, n_features, headroom = 2**17, 64, 16 * 2**20  # a 32 MiB file
    path = tmp_path / "X.dat"
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_samples, n_features))
    rng = np.random.RandomState(0)
    for start in range(0, n_samples, 2**15):
        X[start : start + 2**15] = rng.normal(size=(2**15, n_features))
    X.flush()
    del X
    result = subprocess.run(
        [sys.executable, "-c", _BOUNDED_FIT, str(path), str(n_samples), str(n_features)]
        + [str(headroom)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["ok", "1", str(n_samples)], result.stdout


# -- devices ----------------------------------------------------------------------


def test_device_auto_resolves_to_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    est = AutoencoderTransformer(device="auto", max_iter=1, **FAST).fit(_data())
    assert est.device_ == torch.device("cpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        AutoencoderTransformer(device="cuda", max_iter=1).fit(_data())


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_cuda_model_unpickles_and_predicts_without_cuda(Estimator, monkeypatch):
    """Simulation on CPU: the pickle claims CUDA, the loading process has none."""
    X = _data()
    est = Estimator(max_iter=3, **FAST).fit(X)
    expected = est.score_samples(X)
    est.device_ = torch.device("cuda")
    est.net_.device = "cuda"
    payload = pickle.dumps(est)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # skorch: "no CUDA devices"
        loaded = pickle.loads(payload)
    assert loaded.device_ == torch.device("cpu")
    assert_allclose(loaded.score_samples(X), expected)
    loaded.partial_fit(X)  # training goes on, on the CPU
    assert loaded.n_iter_ == est.n_iter_ + 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_on_cuda_then_predict_on_cpu(monkeypatch):
    X = _data().astype(np.float32)
    on_gpu = AutoencoderTransformer(device="cuda", max_iter=5, **FAST).fit(X)
    assert on_gpu.device_.type == "cuda"
    on_cpu = AutoencoderTransformer(device="cpu", max_iter=5, **FAST).fit(X)
    assert on_gpu.score(X) == pytest.approx(on_cpu.score(X), rel=0.05)
    payload = pickle.dumps(on_gpu)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loaded = pickle.loads(payload)
    assert loaded.device_ == torch.device("cpu")
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    assert_allclose(loaded.transform(X), on_gpu.transform(X), rtol=1e-4, atol=1e-5)


# -- parallel searches ---------------------------------------------------------------


def _search_results(**parallel):
    search = GridSearchCV(
        AutoencoderTransformer(max_iter=3, **FAST),
        {"n_components": [1, 2], "alpha": [1e-4, 1e-2]},
        cv=2,
        **parallel,
    ).fit(_data(200))
    return {k: v for k, v in search.cv_results_.items() if "time" not in k}


def _assert_same_results(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if key == "params":
            assert a[key] == b[key]
        else:
            assert_array_equal(a[key], b[key], err_msg=key)


def test_grid_search_n_jobs_gives_the_same_results():
    _assert_same_results(_search_results(n_jobs=1), _search_results(n_jobs=2))


@pytest.mark.slow
def test_grid_search_on_dask_cluster_gives_the_same_results():
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    expected = _search_results(n_jobs=1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        parallel_config(backend="dask"),
    ):
        _assert_same_results(expected, _search_results(n_jobs=-1))


# -- torch.compile ---------------------------------------------------------------------


@pytest.mark.slow
def test_compile_passes_through_to_torch():
    X = _data().astype(np.float32)
    eager = AutoencoderTransformer(max_iter=2, **FAST).fit(X)
    compiled = AutoencoderTransformer(max_iter=2, compile={"backend": "eager"}, **FAST).fit(X)
    assert type(compiled.net_.module_).__name__ == "OptimizedModule"
    assert_allclose(compiled.transform(X), eager.transform(X), rtol=1e-5, atol=1e-6)
    compiled.partial_fit(X)
    assert compiled.n_iter_ == 3
    loaded = pickle.loads(pickle.dumps(compiled))
    assert_allclose(loaded.transform(X), compiled.transform(X))
