"""Behaviour of both estimators that a scikit-learn user relies on."""

import io
import pickle
from contextlib import nullcontext

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, make_blobs
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_ae._base
from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer

FAST = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0)
ESTIMATORS = [AutoencoderTransformer, AutoencoderOutlierDetector]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


def _outputs(est, X):
    """Every output an estimator computes for X."""
    out = {
        "transform": est.transform(X),
        "score_samples": est.score_samples(X),
        "errors": est.reconstruction_error(X, per_feature=True),
    }
    if hasattr(est, "inverse_transform"):
        out["inverse_transform"] = est.inverse_transform(out["transform"])
    if hasattr(est, "predict"):
        out["decision_function"] = est.decision_function(X)
        out["predict"] = est.predict(X)
    return out


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_same_random_state_gives_bit_identical_fits(Estimator, digits):
    X, _ = digits
    first = Estimator(**FAST).fit(X)
    second = Estimator(**FAST).fit(X)
    assert first.loss_curve_ == second.loss_curve_
    for key, value in _outputs(first, X).items():
        assert_array_equal(value, _outputs(second, X)[key], err_msg=key)
    # another seed trains differently (early stopping may keep the same PCA start)
    trained = Estimator(**{**FAST, "early_stopping": False}).fit(X)
    other = Estimator(**{**FAST, "early_stopping": False, "random_state": 1}).fit(X)
    assert not np.array_equal(trained.transform(X), other.transform(X))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fit_leaves_global_random_states_untouched(Estimator, digits):
    X, _ = digits
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 (the global state is what is checked)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    Estimator(**{**FAST, "random_state": None}).fit(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert_array_equal(np.random.get_state()[1], numpy_state[1])  # noqa: NPY002


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_round_trip_gives_identical_outputs(Estimator, dump, digits):
    X, _ = digits
    est = Estimator(**FAST).fit(X)
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(est))
    else:
        buffer = io.BytesIO()
        joblib.dump(est, buffer)
        buffer.seek(0)
        loaded = joblib.load(buffer)
    for key, value in _outputs(est, X).items():
        assert_array_equal(value, _outputs(loaded, X)[key], err_msg=key)
    assert loaded.get_params() == est.get_params()
    # clone gives an unfitted copy that refits to the very same model
    refit = clone(est).fit(X)
    assert_array_equal(refit.transform(X), est.transform(X))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_dtypes(Estimator, digits):
    X, _ = digits
    est = Estimator(**FAST).fit(X)
    assert est.transform(X).dtype == np.float64
    assert est.transform(X.astype(np.float32)).dtype == np.float32
    assert est.transform(X.astype(np.int64)).dtype == np.float64
    for X_in in (X, X.astype(np.float32)):
        assert est.score_samples(X_in).dtype == np.float64
        assert est.reconstruction_error(X_in).dtype == np.float64
    codes32 = est.transform(X.astype(np.float32))
    assert_allclose(codes32, est.transform(X), rtol=1e-4, atol=1e-4)
    if hasattr(est, "inverse_transform"):
        assert est.inverse_transform(codes32).dtype == np.float32
        assert est.inverse_transform(codes32.astype(np.float64)).dtype == np.float64
    if hasattr(est, "predict"):
        assert est.predict(X).dtype.kind == "i"
        assert est.decision_function(X).dtype == np.float64
    assert est.fit_transform(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_outputs_do_not_depend_on_rows_batches_or_order(Estimator, digits, monkeypatch):
    X, _ = digits
    est = Estimator(**FAST).fit(X)
    whole = _outputs(est, X)
    order = np.random.RandomState(0).permutation(len(X))
    shuffled = _outputs(est, X[order])
    # inference in chunks of 7 rows instead of thousands
    monkeypatch.setattr(sklearn_ae._base, "_CHUNK_BYTES", 7 * 8 * X.shape[1])
    chunked = _outputs(est, X)
    one_by_one = {key: [] for key in whole}
    for row in X[:25]:
        for key, value in _outputs(est, row[None, :]).items():
            one_by_one[key].append(value[0])
    for key, value in whole.items():
        assert_allclose(shuffled[key], value[order], rtol=1e-7, atol=1e-9, err_msg=key)
        assert_allclose(chunked[key], value, rtol=1e-7, atol=1e-9, err_msg=key)
        assert_allclose(np.array(one_by_one[key]), value[:25], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "X_bad, match",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0]]), "Input X contains NaN"),
        (np.array([[1.0, np.inf], [2.0, 3.0]]), "Input X contains infinity"),
        (np.array([1.0, 2.0, 3.0]), "Expected 2D array, got 1D array instead"),
        (np.empty((0, 2)), "0 sample\\(s\\)"),
        (np.array([[1 + 1j, 2.0], [3.0, 4.0]]), "Complex data not supported"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "could not convert string"),
    ],
)
def test_bad_input_gets_scikit_learns_error(Estimator, X_bad, match):
    X = np.random.RandomState(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match=match):
        Estimator(**FAST).fit(X_bad)
    est = Estimator(**FAST).fit(X)
    with pytest.raises(ValueError, match=match):
        est.transform(X_bad)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 2 features"):
        est.score_samples(np.ones((4, 3)))


def test_inverse_transform_checks_input():
    est = AutoencoderTransformer(**FAST).fit(np.random.RandomState(0).normal(size=(40, 5)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.inverse_transform(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="n_components_=2"):
        est.inverse_transform(np.ones((3, 5)))


def test_n_components_above_n_features_raises():
    with pytest.raises(
        ValueError, match=r"n_components=4 must be between 1 and min\(n_samples, n_features\)=3"
    ):
        AutoencoderTransformer(n_components=4).fit(np.ones((10, 3)))


@pytest.mark.parametrize(
    "reducer",
    [PCA(n_components=8), AutoencoderTransformer(n_components=8, max_iter=30, random_state=0)],
    ids=["PCA", "Autoencoder"],
)
def test_pca_and_autoencoder_are_interchangeable(reducer, digits):
    """The same pipeline code runs with either reducer and gives a useful model."""
    X, y = digits
    pipe = make_pipeline(StandardScaler(), reducer, LogisticRegression(max_iter=1000))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.75

    pipe.set_output(transform="pandas")
    pipe.fit(X, y)
    codes = pipe[:-1].transform(X)
    assert list(codes.columns) == [f"{type(reducer).__name__.lower()}{i}" for i in range(8)]

    columns = ColumnTransformer([("reduce", clone(reducer), slice(0, 64))])
    assert columns.fit_transform(X).shape == (len(X), 8)


def test_grid_search_over_n_components_picks_and_refits(digits):
    X, y = digits
    pipe = Pipeline(
        [
            ("reduce", AutoencoderTransformer(max_iter=20, random_state=0)),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    search = GridSearchCV(pipe, {"reduce__n_components": [2, 12]}, cv=3).fit(X, y)
    assert search.best_params_ == {"reduce__n_components": 12}
    assert search.best_estimator_.named_steps["reduce"].n_components_ == 12
    assert search.best_estimator_.predict(X).shape == (len(X),)

    # without a classifier, GridSearchCV maximises score (minus reconstruction error)
    search = GridSearchCV(
        AutoencoderTransformer(max_iter=20, random_state=0), {"n_components": [2, 12]}, cv=3
    ).fit(X)
    assert search.best_params_ == {"n_components": 12}


@pytest.mark.parametrize("scaled", [False, True], ids=["raw", "standard_scaler"])
def test_transformer_reconstructs_held_out_digits_better_than_pca_and_the_mean(scaled):
    """A drop-in for PCA on the same X: raw pixels, or both behind a StandardScaler."""
    X, _ = load_digits(return_X_y=True)
    X_train, X_test = train_test_split(X, test_size=0.5, random_state=0)
    if scaled:
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    ae = AutoencoderTransformer(n_components=8, random_state=0).fit(X_train)
    pca = PCA(n_components=8).fit(X_train)

    def error(model):  # in the units of the X both were given
        return np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2)

    trivial = np.mean((X_test - X_train.mean(axis=0)) ** 2)  # predict the training mean
    assert error(ae) < 0.8 * error(pca) < 0.8 * trivial
    # the scores are errors in the estimator's scaled units: one global scale
    assert_allclose(-ae.score(X_test), ae.reconstruction_error(X_test).mean())
    assert_allclose(ae.reconstruction_error(X_test).mean(), error(ae) / ae.scale_[0] ** 2)


def test_detector_contamination_count_and_conventions():
    X, _ = make_blobs(n_samples=400, centers=3, n_features=6, random_state=0)
    detector = AutoencoderOutlierDetector(contamination=0.05, **FAST)
    labels = detector.fit_predict(X)
    assert set(np.unique(labels)) == {-1, 1}
    assert (labels == -1).sum() == 0.05 * len(X)
    assert_array_equal(labels, detector.predict(X))
    assert_allclose(detector.decision_function(X), detector.score_samples(X) - detector.offset_)
    assert_array_equal(detector.predict(X) == -1, detector.decision_function(X) < 0)
    # unseen rows far from the data are outliers
    assert np.all(detector.predict(X[:10] + 100.0) == -1)


def test_detector_auto_threshold_flags_few_training_rows():
    X, _ = make_blobs(n_samples=400, centers=3, n_features=6, random_state=0)
    labels = AutoencoderOutlierDetector(**FAST).fit_predict(X)
    assert 0 < (labels == -1).mean() < 0.15


def test_detector_finds_real_anomalies(adbench):
    X, y = adbench("6_cardio")
    detector = AutoencoderOutlierDetector(random_state=0).fit(X)
    assert roc_auc_score(y, -detector.score_samples(X)) > 0.8


def test_per_feature_errors_point_at_the_broken_feature():
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(500, 2))
    X = np.hstack([Z, Z @ rng.normal(size=(2, 4))]) + 0.05 * rng.normal(size=(500, 6))
    detector = AutoencoderOutlierDetector(**FAST).fit(X)
    anomaly = X[:1].copy()
    anomaly[0, 4] += 5 * X[:, 4].std()
    errors = detector.reconstruction_error(anomaly, per_feature=True)
    assert errors.shape == (1, 6)
    assert errors[0].argmax() == 4
    assert_allclose(detector.reconstruction_error(anomaly), errors.mean(axis=1))


def test_training_progress_attributes(digits):
    X, _ = digits
    est = AutoencoderTransformer(
        max_iter=8, n_iter_no_change=100, early_stopping=False, random_state=0
    ).fit(X)
    assert est.n_iter_ == len(est.loss_curve_) == 8
    assert est.best_loss_ == min(est.loss_curve_)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert est.validation_scores_ is None and est.best_validation_score_ is None

    est = AutoencoderTransformer(
        early_stopping=True, n_iter_no_change=2, tol=0.0, max_iter=300, random_state=0
    ).fit(X)
    assert est.n_iter_ < 300  # stopped early
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_loss_ is None
    assert est.best_validation_score_ == max(est.validation_scores_)
    # the restored weights are those of the best validation epoch, not the last one
    assert est.validation_scores_[-1] < est.best_validation_score_
    net = est.net_
    rows = net.get_split_datasets(torch.from_numpy((X - est.mean_) / est.scale_))[1]
    X_valid = X[rows.indices.numpy()]
    assert_allclose(est.score(X_valid), est.best_validation_score_, rtol=1e-4)


@pytest.mark.parametrize("verbose", [0, 1])
def test_verbose_prints_a_line_per_epoch(verbose, capsys, digits):
    X, _ = digits
    AutoencoderTransformer(max_iter=3, n_iter_no_change=10, verbose=verbose).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 * verbose  # and the line on improvement_over_start_
    if verbose:
        assert lines[0].startswith("epoch    1  train_loss")


def test_partial_fit_trains_one_epoch_per_call(digits):
    X, _ = digits
    est = AutoencoderTransformer(random_state=0)
    for chunk in np.array_split(X, 3):
        est.partial_fit(chunk)
    assert est.n_iter_ == 3
    assert est.n_samples_seen_ == len(X)
    assert_allclose(est.mean_, X.mean(axis=0))
    with pytest.raises(ValueError, match="X has 3 features"):
        est.partial_fit(X[:, :3])


def test_warm_start_continues_training(digits):
    X, _ = digits
    est = AutoencoderTransformer(
        max_iter=5, n_iter_no_change=100, early_stopping=False, warm_start=True
    )
    est.set_params(random_state=0).fit(X)
    first_curve = list(est.loss_curve_)
    est.fit(X)
    assert est.n_iter_ == 10
    assert est.loss_curve_[:5] == first_curve
    assert est.loss_curve_[5] < first_curve[0]


@pytest.mark.parametrize("fit_method", ["warm_start", "partial_fit"])
def test_continued_training_uses_the_current_learning_rate(digits, fit_method):
    """Changing learning_rate_init or alpha between calls takes effect, as in MLPRegressor."""
    X, _ = digits
    params = dict(max_iter=2, early_stopping=False, warm_start=True, random_state=0)

    def continued(**changes):
        est = AutoencoderTransformer(**params).fit(X).set_params(**changes)
        if fit_method == "partial_fit":
            est.partial_fit(X)
        else:
            est.fit(X)
        return est.transform(X)

    unchanged = continued()
    assert_array_equal(continued(), unchanged)
    frozen = AutoencoderTransformer(**params).fit(X).transform(X)
    # Adam's steps are about the learning rate: a negligible one leaves the weights be
    assert_allclose(continued(learning_rate_init=1e-12, alpha=0.0), frozen, rtol=1e-5, atol=1e-6)
    assert not np.allclose(continued(learning_rate_init=1e-2), unchanged)


def test_module_params_and_set_params_shorthand():
    est = AutoencoderTransformer(module_params={"width": 3})
    est.set_params(module__depth=2, max_iter=4)
    assert est.module_params == {"width": 3, "depth": 2}
    assert est.max_iter == 4
    assert clone(est).module_params == est.module_params


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("method", ["partial_fit", "warm_start"])
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("n_components", 10, "n_components has changed from 2 to 10"),
        ("hidden_layer_sizes", (8,), r"hidden_layer_sizes has changed from \(4,\) to \(8,\)"),
        ("activation", "tanh", "activation has changed from 'relu' to 'tanh'"),
        ("sparsity", "l1", "sparsity has changed from None to 'l1'"),
        ("variational", True, "variational has changed from False to True"),
        ("standardize", False, "standardize has changed from .* to False"),
    ],
)
def test_continuing_a_model_after_changing_its_architecture_raises(
    Estimator, method, name, value, message
):
    """As IncrementalPCA: the fitted model and get_params() never silently disagree."""
    X = np.random.RandomState(0).normal(size=(40, 12))
    est = Estimator(2, hidden_layer_sizes=(4,), max_iter=1, early_stopping=False, random_state=0)
    with pytest.warns(UserWarning) if Estimator is AutoencoderTransformer else nullcontext():
        est.fit(X)
    est.set_params(**{name: value}, warm_start=method == "warm_start")
    with pytest.raises(ValueError, match=message):
        est.partial_fit(X) if method == "partial_fit" else est.fit(X)
    assert est.n_iter_ == 1  # the fitted model is left as it was


def test_an_unchanged_model_continues_and_a_fraction_keeps_its_size():
    X = np.random.RandomState(0).normal(size=(60, 12))
    est = AutoencoderTransformer(0.8, hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(UserWarning):
        est.fit(X)
    est.partial_fit(X)  # n_components is still the fraction the size was chosen for
    with pytest.raises(ValueError, match=r"from 0.8 \(n_components_=\d+\) to 0.9"):
        est.set_params(n_components=0.9).partial_fit(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_misspelled_keyword_names_the_public_class(Estimator):
    with pytest.raises(TypeError, match=rf"^{Estimator.__name__}\.__init__\(\) got an unexpected"):
        Estimator(n_component=3)
