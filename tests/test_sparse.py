"""Sparse input: the results of the dense rows, densified a batch at a time.

A fitted model gives the same codes and scores on a sparse matrix as on
``X.toarray()``. A fit on sparse rows computes its statistics on the sparse
structure (the same numbers up to rounding) and then runs the very batches a
fit on the dense rows runs, so the two models agree to rounding. No step
densifies more than a bounded number of rows, and wide rows get their PCA
initialisation without a covariance matrix.
"""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy.sparse._compressed import _cs_matrix
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

import sklearn_ae._base
import sklearn_ae._pca
from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer
from sklearn_ae._data import _SparseRows, column_percentiles, mean_and_variance
from sklearn_ae._pca import PrincipalAxes

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(hidden_layer_sizes=(8,), max_iter=4, batch_size=32, random_state=0)
ESTIMATORS = [AutoencoderTransformer, AutoencoderOutlierDetector]
CONTAINERS = [
    sp.csr_matrix,
    sp.csc_matrix,
    sp.coo_matrix,
    sp.csr_array,
    sp.csc_array,
    sp.dok_array,
]


def _sparse_data(n_samples=300, n_features=12, density=0.3, seed=0):
    """Non-negative counts on a few factors, most entries zero, plus a negative column."""
    rng = np.random.RandomState(seed)
    rates = rng.gamma(1.0, size=(n_samples, 3)) @ rng.gamma(1.0, size=(3, n_features))
    X = rng.poisson(rates).astype(np.float64)
    X[rng.uniform(size=X.shape) > density] = 0
    X[:, 0] -= 2 * X[:, 1]  # negative values too
    return X


def _fit(Estimator, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Estimator(**{"n_components": 3, **FAST, **params}).fit(X)


@pytest.fixture(scope="module")
def X():
    return _sparse_data()


@pytest.fixture(scope="module")
def fitted(X):
    return {Estimator: _fit(Estimator, X) for Estimator in ESTIMATORS}


def _outputs(estimator, X):
    outputs = {
        "transform": estimator.transform(X),
        "score_samples": estimator.score_samples(X),
        "reconstruction_error": estimator.reconstruction_error(X, per_feature=True),
    }
    if isinstance(estimator, AutoencoderOutlierDetector):
        outputs["decision_function"] = estimator.decision_function(X)
        outputs["predict"] = estimator.predict(X)
    else:
        outputs["score"] = estimator.score(X)
    return outputs


# -- a fitted model: sparse rows give the results of their dense copy -------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("container", CONTAINERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_rows_give_the_results_of_dense_rows(Estimator, container, dtype, X, fitted):
    estimator = fitted[Estimator]
    X = X.astype(dtype)
    sparse, dense = _outputs(estimator, container(X)), _outputs(estimator, X)
    for method, expected in dense.items():
        assert np.asarray(sparse[method]).dtype == np.asarray(expected).dtype, method
        assert_array_equal(sparse[method], expected, err_msg=method)
    assert sparse["transform"].dtype == dtype


def test_large_sparse_indices_are_accepted(X, fitted):
    X_sparse = sp.csr_array(X)
    X_sparse.indices = X_sparse.indices.astype(np.int64)
    X_sparse.indptr = X_sparse.indptr.astype(np.int64)
    estimator = fitted[AutoencoderTransformer]
    assert_array_equal(estimator.transform(X_sparse), estimator.transform(X))


# -- fitting on sparse rows ---------------------------------------------------------


@pytest.mark.parametrize(
    "Estimator, params",
    [
        (AutoencoderTransformer, {}),
        (AutoencoderTransformer, {"early_stopping": True, "validation_fraction": 0.2}),
        (AutoencoderTransformer, {"standardize": False, "n_components": None}),
        (AutoencoderOutlierDetector, {}),  # robust scaling: quantiles with implicit zeros
        (AutoencoderOutlierDetector, {"standardize": True, "contamination": 0.1}),
    ],
)
def test_fit_on_sparse_rows_matches_fit_on_dense_rows(Estimator, params, X):
    sparse, dense = _fit(Estimator, sp.csr_matrix(X), **params), _fit(Estimator, X, **params)
    assert sparse.n_components_ == dense.n_components_
    assert sparse.n_iter_ == dense.n_iter_
    assert_allclose(sparse.mean_, dense.mean_, rtol=1e-12, atol=1e-12)
    assert_allclose(sparse.scale_, dense.scale_, rtol=1e-12)
    # the same batches in the same order: the statistics' rounding is all that differs
    assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-5)
    assert_allclose(sparse.transform(X), dense.transform(X), rtol=1e-4, atol=1e-5)
    assert_allclose(sparse.score_samples(X), dense.score_samples(X), rtol=1e-4, atol=1e-5)
    if Estimator is AutoencoderOutlierDetector:
        assert sparse.offset_ == pytest.approx(dense.offset_, rel=1e-4)


def test_fit_on_sparse_float32_rows_stays_float32(X):
    estimator = _fit(AutoencoderTransformer, sp.csr_matrix(X.astype(np.float32)))
    dense = _fit(AutoencoderTransformer, X.astype(np.float32))
    codes = estimator.transform(sp.csr_matrix(X.astype(np.float32)))
    assert codes.dtype == np.float32
    assert_allclose(codes, dense.transform(X.astype(np.float32)), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fit_predict_and_fit_transform_accept_sparse_rows(Estimator, X):
    estimator = Estimator(3, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        codes = estimator.fit_transform(sp.csr_matrix(X))
    assert_array_equal(codes, estimator.transform(X))
    if Estimator is AutoencoderOutlierDetector:
        labels = Estimator(3, **FAST).fit_predict(sp.csr_matrix(X))
        assert_array_equal(labels, estimator.predict(X))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_on_sparse_chunks_matches_dense_chunks(Estimator, X):
    sparse, dense = Estimator(3, **FAST), Estimator(3, **FAST)
    for chunk in np.array_split(X, 3):
        sparse.partial_fit(sp.csr_matrix(chunk))
        dense.partial_fit(chunk)
    assert sparse.n_samples_seen_ == dense.n_samples_seen_ == len(X)
    assert_allclose(sparse.mean_, dense.mean_, rtol=1e-12, atol=1e-12)
    assert_allclose(sparse.scale_, dense.scale_, rtol=1e-12)
    assert_allclose(sparse.transform(X), dense.transform(X), rtol=1e-4, atol=1e-5)


def test_fraction_n_components_on_sparse_rows_matches_dense(X):
    params = dict(n_components=0.8, hidden_layer_sizes=(), max_iter=3)
    sparse = _fit(AutoencoderTransformer, sp.csr_matrix(X), **params)
    dense = _fit(AutoencoderTransformer, X, **params)
    assert sparse.n_components_ == dense.n_components_
    assert list(sparse.n_components_scores_) == list(dense.n_components_scores_)
    assert_allclose(
        list(sparse.n_components_scores_.values()),
        list(dense.n_components_scores_.values()),
        rtol=1e-5,
    )


def test_sparse_rows_beyond_float32_raise_the_dense_error(X):
    X = X.copy()
    X[:, 2] *= 1e39
    for rows in (X, sp.csr_matrix(X)):
        with pytest.raises(ValueError, match="too large for float32"):
            AutoencoderTransformer(2, standardize=False, **FAST).fit(rows)


# -- statistics on the sparse structure ---------------------------------------------


def test_column_percentiles_count_implicit_zeros_as_numpy_does():
    rng = np.random.RandomState(0)
    X = np.round(rng.normal(size=(37, 9)), 1)
    X[rng.uniform(size=X.shape) < 0.6] = 0
    X[:, 3] = 0  # an empty column
    X[:, 4] = np.abs(X[:, 4])  # no negative values
    X[:5, 5] = -1.0  # few stored values, all negative
    sparse = sp.csr_matrix(X)
    sparse.data[0] = 0.0  # an explicitly stored zero
    X[0, sparse.indices[0]] = 0.0
    q = [0, 10, 25, 50, 75, 99, 100]
    assert_allclose(column_percentiles(sparse, q), np.percentile(X, q, axis=0), rtol=1e-13)
    assert_allclose(column_percentiles(sp.csr_matrix(X[:1]), q), np.percentile(X[:1], q, axis=0))


@pytest.mark.parametrize("n_samples", [1, 2, 3, 4, 37, 1001])
def test_column_percentiles_of_dense_rows_are_numpy_s_to_the_bit(n_samples):
    # the robust scaling of every dense fit reads its quartiles from here
    rng = np.random.RandomState(n_samples)
    X = rng.standard_cauchy(size=(n_samples, 7))
    X[:, 0] = np.round(X[:, 0])  # ties
    X[:, 1] = 3.0  # constant
    q = [0, 10, 25, 50, 75, 99, 100]
    np.testing.assert_array_equal(column_percentiles(X, q), np.percentile(X, q, axis=0))


def test_sparse_statistics_are_float64_for_float32_rows():
    X = _sparse_data().astype(np.float32)
    mean, var, n = mean_and_variance(sp.csr_matrix(X), 0.0, 0.0, 0)
    assert mean.dtype == var.dtype == np.float64 and n == len(X)
    assert_allclose(mean, X.astype(np.float64).mean(axis=0), rtol=1e-13)
    assert_allclose(var, X.astype(np.float64).var(axis=0), rtol=1e-12)


# -- memory: never the whole matrix densified ---------------------------------------


@pytest.fixture
def densified_rows(monkeypatch):
    """The most rows any sparse matrix densified in ``toarray``, recorded."""
    record = [0]
    toarray = _cs_matrix.toarray

    def recording(self, *args, **kwargs):
        record[0] = max(record[0], self.shape[0])
        return toarray(self, *args, **kwargs)

    monkeypatch.setattr(_cs_matrix, "toarray", recording)
    return record


@pytest.mark.parametrize(
    "Estimator, params",
    [
        (AutoencoderTransformer, {"early_stopping": True}),
        (AutoencoderTransformer, {"n_components": 0.7, "hidden_layer_sizes": ()}),
        (AutoencoderOutlierDetector, {"n_components": None}),
    ],
)
def test_no_step_densifies_more_than_a_chunk(Estimator, params, densified_rows, monkeypatch):
    monkeypatch.setattr(sklearn_ae._base, "_CHUNK_BYTES", 8 * 40 * 64)  # chunks of 64 rows
    X = sp.csr_matrix(_sparse_data(n_samples=1000, n_features=40))
    estimator = _fit(Estimator, X, **params)
    estimator.score_samples(X)
    assert 0 < densified_rows[0] <= 64


_BOUNDED_FIT = """
import resource, sys, warnings
import numpy as np
import scipy.sparse as sp
import sklearn_ae._base
from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer

warnings.simplefilter("ignore")
sklearn_ae._base._CHUNK_BYTES = 2**20  # chunks of 1 MiB: a small, fast test
n_samples, n_features, headroom = map(int, sys.argv[1:])
params = dict(n_components=2, hidden_layer_sizes=(8,), batch_size=1000, max_iter=1)
X = sp.random(n_samples, n_features, density=0.01, format="csr", dtype=np.float32, random_state=0)
for Estimator in (AutoencoderTransformer, AutoencoderOutlierDetector):  # warm up
    Estimator(**params).fit(X[:5000])


def data_segment():
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(status["VmData"].split()[0]) * 1024


limit = data_segment() + headroom
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
try:
    X.toarray()
    print("a dense copy fits: the limit does not bind")
except MemoryError:
    pass
for Estimator in (AutoencoderTransformer, AutoencoderOutlierDetector):
    est = Estimator(**params, early_stopping=True).fit(X)
    print("ok", est.n_iter_, est.score_samples(X).shape[0])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA, /proc")
def test_fit_on_sparse_rows_whose_dense_copy_exceeds_the_allowed_memory():
    """Both estimators fit and score sparse rows whose dense copy the process cannot hold."""
    n_samples, n_features, headroom = 2**17, 64, 24 * 2**20  # dense: 64 MiB of float64
    result = subprocess.run(
        [sys.executable, "-c", _BOUNDED_FIT, str(n_samples), str(n_features), str(headroom)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["ok", "1", str(n_samples)] * 2, result.stdout


# -- PCA of wide rows: leading axes only ---------------------------------------------


def _low_rank(n_samples, n_features, seed=0):
    """Sparse non-negative rows near a 5-dimensional subspace, with a decaying spectrum."""
    rng = np.random.RandomState(seed)
    basis = np.linalg.qr(rng.normal(size=(n_features, 5)))[0].T
    X = (rng.normal(size=(n_samples, 5)) * [10, 7, 5, 3, 2]) @ basis
    X += 0.1 * rng.normal(size=X.shape)
    X[X < 0.2] = 0
    return X


@pytest.fixture
def narrow_covariance(monkeypatch):
    """Rows wider than 100 features count as wide; a fraction computes 4 axes first."""
    monkeypatch.setattr(sklearn_ae._pca, "_MAX_COVARIANCE_BYTES", 8 * 100**2)
    monkeypatch.setattr(sklearn_ae._pca, "_FIRST_AXES", 4)


@pytest.mark.parametrize("kind", ["dense chunks", "sparse rows"])
def test_wide_rows_get_pca_s_leading_axes(kind, narrow_covariance):
    X = _low_rank(400, 300)
    mean, var, _ = mean_and_variance(sp.csr_matrix(X), 0.0, 0.0, 0)
    scale = np.sqrt(var)
    X_std = (X - mean) / scale
    if kind == "dense chunks":
        chunks = torch.split(torch.from_numpy(X_std.astype(np.float32)), 64)
        axes = PrincipalAxes(lambda: chunks)
    else:

        def standardize(rows):
            return ((rows.toarray() - mean) / scale).astype(np.float32)

        rows = _SparseRows(sp.csr_matrix(X), mean, scale, standardize, torch.device("cpu"))
        axes = rows.principal_axes(64)
    assert axes.truncated
    reference = PCA(5).fit(X_std)
    components, centre, variances = axes.components(5)
    assert len(axes.axes) == 5  # no more than asked for
    assert_allclose(components, reference.components_, atol=1e-5)
    assert_allclose(variances, reference.explained_variance_, rtol=1e-5)
    assert_allclose(centre, X_std.mean(axis=0), atol=1e-6)
    # fractions of the exact total variance, growing the axes from 4 (up to 33)
    assert axes.total_variance == pytest.approx(X_std.var(axis=0, ddof=1).sum(), rel=1e-6)
    sizes = [axes.n_components_for(fraction) for fraction in (0.5, 0.8, 0.9)]
    assert sizes == [PCA(fraction).fit(X_std).n_components_ for fraction in (0.5, 0.8, 0.9)]
    assert len(axes.axes) == 20  # grew from 5 to 10, then 20
    assert not axes.capped


def test_a_fraction_on_wide_rows_stops_at_the_cap_with_a_warning(monkeypatch):
    # 300 features: covariance and axes both limited to 40 000 numbers (133 axes)
    monkeypatch.setattr(sklearn_ae._pca, "_MAX_COVARIANCE_BYTES", 8 * 200**2)
    X = sp.random(400, 300, density=0.05, format="csr", random_state=0)  # no low rank
    with pytest.warns(UserWarning, match="needs more than 133 principal axes"):
        estimator = _fit(AutoencoderOutlierDetector, X, n_components=None, max_iter=1)
    assert estimator.n_components_ == 133


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix], ids=["dense", "sparse"])
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fit_on_wide_rows_starts_from_pca(Estimator, container, narrow_covariance):
    X = container(_low_rank(300, 200))
    # the detector trains on every row only with support_fraction=1.0
    params = {"support_fraction": 1.0} if Estimator is AutoencoderOutlierDetector else {}
    estimator = _fit(
        Estimator, X, hidden_layer_sizes=(), max_iter=1, learning_rate_init=1e-9, **params
    )
    X_std = estimator._standardized(X, estimator.mean_, estimator.scale_, np.float64)
    pca = PCA(3).fit(X_std)
    # a linear model that has barely trained is PCA: it keeps PCA's share of the variance
    assert estimator.retained_variance_ratio_ == pytest.approx(
        pca.explained_variance_ratio_.sum(), rel=1e-4
    )
