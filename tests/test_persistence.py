"""Saving and loading fitted estimators: pickle, joblib, skops.io, GPU to CPU, versions."""

import copy
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from skorch import NeuralNet
from torch import nn

import sklearn_ae
from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer, VersionMismatchWarning

FAST = dict(hidden_layer_sizes=(8,), max_iter=5, batch_size=32, random_state=0)


class TinyAutoencoder(nn.Module):
    """A user's module: a linear code with a scaled tanh, and a constructor argument."""

    def __init__(self, n_features, n_components, gain=1.0):
        super().__init__()
        self.gain = gain
        self.encoder = nn.Linear(n_features, n_components)
        self.decoder = nn.Linear(n_components, n_features)

    def encode(self, x):
        return torch.tanh(self.gain * self.encoder(x))

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(120, 3)) @ rng.normal(size=(3, 6)) * [1, 2, 3, 4, 5, 6] + 10


@pytest.fixture(scope="module")
def fitted(X):
    """One of each estimator, fitted with different options."""
    return [
        AutoencoderTransformer(n_components=2, **FAST).fit(X),
        AutoencoderOutlierDetector(
            n_components=3, early_stopping=True, contamination=0.1, **FAST
        ).fit(X),
        AutoencoderTransformer(
            n_components=2, module=TinyAutoencoder, module_params={"gain": 0.5}, **FAST
        ).fit(X),
    ]


def _outputs(est, X):
    """Everything a user reads from a fitted estimator."""
    out = {
        "transform": est.transform(X),
        "transform32": est.transform(X.astype(np.float32)),
        "score_samples": est.score_samples(X),
        "errors": est.reconstruction_error(X, per_feature=True),
        "loss_curve_": est.loss_curve_,
        "n_iter_": est.n_iter_,
        "feature_names_out": est.get_feature_names_out(),
    }
    if hasattr(est, "inverse_transform"):
        out["inverse_transform"] = est.inverse_transform(out["transform"])
    if hasattr(est, "predict"):
        out["predict"] = est.predict(X)
        out["decision_function"] = est.decision_function(X)
        out["validation_scores_"] = est.validation_scores_
    return out


def _assert_same_outputs(a, b, X):
    expected, actual = _outputs(a, X), _outputs(b, X)
    assert expected.keys() == actual.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(actual[key], value, err_msg=key)


def _skops_round_trip(est):
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(est)
    return sio.loads(data, trusted=sio.get_untrusted_types(data=data))


def _joblib_round_trip(est, mmap_mode=None, tmp_path=None):
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path, mmap_mode=mmap_mode)


ROUND_TRIPS = {
    "pickle": lambda est, tmp_path: pickle.loads(pickle.dumps(est)),
    "joblib": lambda est, tmp_path: _joblib_round_trip(est, tmp_path=tmp_path),
    "joblib-mmap": lambda est, tmp_path: _joblib_round_trip(est, "r", tmp_path),
    "skops": lambda est, tmp_path: _skops_round_trip(est),
    "deepcopy": lambda est, tmp_path: copy.deepcopy(est),
}


@pytest.mark.parametrize("round_trip", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_round_trip_gives_identical_outputs(X, fitted, round_trip, tmp_path):
    for est in fitted:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # same versions: no warning at all
            loaded = round_trip(est, tmp_path)
        assert isinstance(est.net_, NeuralNet)  # saving did not change the original
        assert isinstance(loaded.net_, NeuralNet)
        assert loaded.get_params() == est.get_params()
        _assert_same_outputs(est, loaded, X)


def test_skops_trusts_only_the_package_classes(fitted, tmp_path):
    sio = pytest.importorskip("skops.io")
    transformer, detector, custom = fitted
    path = tmp_path / "model.skops"
    for est, expected in [
        (transformer, ["sklearn_ae._transformer.AutoencoderTransformer"]),
        (detector, ["sklearn_ae._outlier.AutoencoderOutlierDetector"]),
        # A user's module class is the only other type to trust.
        (
            custom,
            [f"{__name__}.TinyAutoencoder", "sklearn_ae._transformer.AutoencoderTransformer"],
        ),
    ]:
        sio.dump(est, path)
        assert sorted(sio.get_untrusted_types(file=path)) == sorted(expected)
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)


def test_skops_keeps_feature_names_of_a_dataframe(X):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=[f"sensor {i}" for i in range(X.shape[1])])
    est = AutoencoderOutlierDetector(**FAST).fit(df)
    loaded = _skops_round_trip(est)
    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    np.testing.assert_array_equal(loaded.score_samples(df), est.score_samples(df))


@pytest.mark.parametrize("round_trip", ["pickle", "skops", "joblib-mmap"])
def test_partial_fit_after_loading_continues_exactly(X, round_trip, tmp_path):
    first, second = X[:60], X[60:]
    est = AutoencoderTransformer(n_components=2, **FAST).partial_fit(first)
    loaded = ROUND_TRIPS[round_trip](est, tmp_path)
    est.partial_fit(second)
    loaded.partial_fit(second)  # Adam's moments were saved: same step as without saving
    _assert_same_outputs(est, loaded, X)
    np.testing.assert_array_equal(loaded.mean_, est.mean_)
    assert loaded.n_samples_seen_ == est.n_samples_seen_ == len(X)


def test_warm_start_after_loading_continues_exactly(X):
    est = AutoencoderOutlierDetector(warm_start=True, **FAST).fit(X)
    loaded = pickle.loads(pickle.dumps(est))
    est.fit(X)
    loaded.fit(X)
    _assert_same_outputs(est, loaded, X)
    assert loaded.offset_ == est.offset_


def test_parameters_changed_after_fit_do_not_change_the_loaded_model(X):
    est = AutoencoderTransformer(n_components=2, **FAST).fit(X)
    expected = est.transform(X)
    # The architecture is rebuilt from the parameters at fit time, not the current ones.
    est.set_params(hidden_layer_sizes=(5, 4), activation="tanh")
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.transform(X), expected)
    assert loaded.activation == "tanh"  # the parameters themselves are kept as set


def test_unfitted_estimator_round_trips():
    est = AutoencoderOutlierDetector(n_components=3, contamination=0.2, module=TinyAutoencoder)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params() == est.get_params()
    assert not hasattr(loaded, "net_")


def test_loading_leaves_the_global_random_state_alone(X):
    data = pickle.dumps(AutoencoderTransformer(n_components=2, **FAST).fit(X))
    state = torch.random.get_rng_state()
    pickle.loads(data)
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize("package", ["sklearn_ae", "torch"])
def test_loading_under_another_version_warns(X, package, monkeypatch):
    est = AutoencoderTransformer(n_components=2, **FAST).fit(X)
    with monkeypatch.context() as patch:
        patch.setattr(sklearn_ae if package == "sklearn_ae" else torch, "__version__", "0.0.1")
        data = pickle.dumps(est)
    with pytest.warns(VersionMismatchWarning, match=f"saved with {package} 0.0.1") as record:
        loaded = pickle.loads(data)
    (warning,) = [w.message for w in record if isinstance(w.message, VersionMismatchWarning)]
    assert warning.package == package
    assert warning.original_version == "0.0.1"
    assert warning.estimator_name == "AutoencoderTransformer"
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))


def test_model_saved_on_a_missing_gpu_loads_on_the_cpu(X, monkeypatch):
    est = AutoencoderOutlierDetector(**FAST).fit(X)
    # What a model trained on "cuda:0" saves: its state names that device.
    state = est.__getstate__()
    state["net_"]["device"] = state["device_"] = "cuda:0"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = AutoencoderOutlierDetector.__new__(AutoencoderOutlierDetector)
    with pytest.warns(UserWarning, match="trained on cuda:0.*loaded on the CPU"):
        loaded.__setstate__(state)
    assert loaded.device_ == torch.device("cpu")
    _assert_same_outputs(est, loaded, X)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_model_trained_on_gpu_loads_on_a_cpu_only_machine(X, monkeypatch):
    est = AutoencoderTransformer(n_components=2, device="cuda", **FAST).fit(X)
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        loaded = joblib.load(io.BytesIO(buffer.getvalue()))
    assert loaded.device_ == torch.device("cpu")
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(loaded.transform(X), est.transform(X), rtol=1e-5, atol=1e-6)
    loaded.partial_fit(X)  # and it keeps training on the CPU


def _as_saved_before_noise_variance(estimator):
    """The state a release before ``noise_variance_`` saved: no attribute, no format."""
    state = estimator.__getstate__()
    del state["noise_variance_"], state["_format"]
    return state


@pytest.mark.parametrize(("loss", "variance"), [("squared_error", 0.25), ("absolute_error", 0.5)])
def test_old_variational_models_get_noise_variance_on_load(X, loss, variance):
    est = AutoencoderTransformer(
        n_components=2, variational=True, beta=0.5, loss=loss, **FAST
    ).fit(X)
    loaded = AutoencoderTransformer.__new__(AutoencoderTransformer)
    loaded.__setstate__(_as_saved_before_noise_variance(est))
    # the decoder's own likelihood: beta / 2 (Gaussian) or 2 beta**2 (Laplace), scaled units
    np.testing.assert_allclose(loaded.noise_variance_, variance * est.scale_**2)
    samples = loaded.sample(50, add_noise=True, random_state=0)
    assert samples.shape == (50, X.shape[1]) and np.all(np.isfinite(samples))
    _assert_same_outputs(est, loaded, X)


def test_old_plain_models_get_no_noise_variance_and_new_states_are_left_alone(X):
    est = AutoencoderTransformer(n_components=2, **FAST).fit(X)
    loaded = AutoencoderTransformer.__new__(AutoencoderTransformer)
    loaded.__setstate__(_as_saved_before_noise_variance(est))
    assert loaded.noise_variance_ is None
    vae = AutoencoderTransformer(n_components=2, variational=True, **FAST).fit(X)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(vae)).noise_variance_, vae.noise_variance_
    )


@pytest.mark.parametrize("loss", ["absolute_error", "binary_crossentropy"])
def test_a_loaded_model_measures_and_decodes_with_its_own_loss(X, loss):
    X01 = (X - X.min()) / (X.max() - X.min())  # in [0, 1], for the cross-entropy
    est = AutoencoderTransformer(
        n_components=2, loss=loss, standardize=loss != "binary_crossentropy", **FAST
    ).fit(X01)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.net_.criterion_.loss == loss
    _assert_same_outputs(est, loaded, X01)


def test_models_saved_before_improvement_over_start_get_none(X):
    est = AutoencoderTransformer(n_components=2, **FAST).fit(X)
    state = est.__getstate__()
    del state["improvement_over_start_"]
    state["_format"] = 2
    loaded = AutoencoderTransformer.__new__(AutoencoderTransformer)
    loaded.__setstate__(state)
    assert loaded.improvement_over_start_ is None
    _assert_same_outputs(est, loaded, X)


def test_a_detector_saved_before_the_one_scale_member_keeps_its_scores(X):
    """A format-4 state (no one-scale member) scores by the network's member alone, as it did."""
    from sklearn_ae._persistence import _ONE_SCALE_ATTRIBUTES

    est = AutoencoderOutlierDetector(**FAST).fit(X)
    assert est.one_scale_components_ is not None and len(est.score_location_) == 2
    state = est.__getstate__()
    for name in _ONE_SCALE_ATTRIBUTES:
        del state[name]
    state["_format"] = 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = AutoencoderOutlierDetector.__new__(AutoencoderOutlierDetector)
        loaded.__setstate__(state)
    assert all(getattr(loaded, name) is None for name in _ONE_SCALE_ATTRIBUTES)
    model = est._latent_model()
    codes, residual = est._codes_and_residuals(est._validated(X), model)
    np.testing.assert_allclose(
        loaded.score_samples(X), -0.5 * model.terms(codes, residual), rtol=1e-12
    )
    assert loaded.fit(X).one_scale_components_ is not None  # a refit adds the member
