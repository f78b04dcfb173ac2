"""Property-based tests over shapes, dtypes, value ranges and parameter values.

Every call either succeeds with finite output of the right shape and dtype, or
raises one of the documented errors (see the "Errors and guarantees" page). The
expected outcome is computed from the drawn data and parameters, so a call that
fails where it should succeed, or succeeds where it must fail, is caught.
"""

import math
import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer
from sklearn_ae._modules import ACTIVATIONS

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

# The number of examples and their seed come from the profile that
# tests/conftest.py loads: the same 50 examples on every run by default.
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_]
# Data within this magnitude must always be handled; beyond it, the overflow
# errors below are allowed.
MODERATE = 1e3
OVERFLOW_ERRORS = [
    (ValueError, "too large to standardize"),
    (ValueError, "too large for float32"),
    (ValueError, "overflowed"),
    (ValueError, "training diverged"),
]


@st.composite
def datasets(draw):
    """A 2-D array: moderate values, values anywhere in the dtype's range, or non-finite."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = (draw(st.integers(1, 25)), draw(st.integers(1, 6)))
    regime = draw(st.sampled_from(["moderate"] * 3 + ["wide", "non-finite"]))
    if dtype.kind == "b":
        elements = st.booleans()
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = (info.min, info.max) if regime == "wide" else (max(info.min, -100), 100)
        elements = st.integers(int(low), int(high))
    else:
        bound = float(np.finfo(dtype).max) if regime == "wide" else MODERATE
        elements = st.floats(-bound, bound, width=8 * dtype.itemsize)
    X = draw(hnp.arrays(dtype, shape, elements=elements))
    if regime == "non-finite" and dtype.kind == "f":
        cell = draw(st.integers(0, X.size - 1))
        X.flat[cell] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return X


def _rarely(invalid, valid):
    """``valid`` values, and ``invalid`` ones about one time in ten."""
    return st.sampled_from(range(10)).flatmap(lambda i: invalid if i == 9 else valid)


@st.composite
def parameters(draw):
    """Constructor parameters, now and then invalid."""
    return dict(
        n_components=draw(_rarely(st.integers(-1, 7), st.one_of(st.none(), st.integers(1, 2)))),
        hidden_layer_sizes=draw(_rarely(st.just((0,)), st.sampled_from([None, (), (4,), (3, 2)]))),
        activation=draw(_rarely(st.just("softmax"), st.sampled_from(sorted(ACTIVATIONS)))),
        init=draw(st.sampled_from(["pca", "random"])),
        standardize=draw(st.booleans()),
        alpha=draw(st.floats(0, 1)),
        batch_size=draw(_rarely(st.just(0), st.one_of(st.just("auto"), st.integers(1, 30)))),
        learning_rate_init=draw(st.floats(1e-4, 1e-1)),
        max_iter=draw(st.integers(1, 3)),
        early_stopping=draw(st.booleans()),
        validation_fraction=draw(st.floats(0.05, 0.9)),
        random_state=0,
    )


def _expected_fit_errors(X, params):
    """``(errors, must_raise)``: the errors ``fit`` may raise, and whether it must."""
    n_components = 1 if params["n_components"] is None else params["n_components"]
    if n_components < 1 or params["activation"] not in ACTIVATIONS or params["batch_size"] == 0:
        return [(InvalidParameterError, "parameter of")], True  # validated first
    errors = []
    if not np.all(np.isfinite(X)):
        errors.append((ValueError, "Input X contains"))
    if params["hidden_layer_sizes"] == (0,):
        errors.append((InvalidParameterError, "hidden_layer_sizes"))
    if n_components > min(X.shape):  # as PCA: at most min(n_samples, n_features)
        errors.append((ValueError, "n_components"))
    if X.shape[1] == 1 and params["n_components"] != 1:
        errors.append((ValueError, "single feature"))
    n_samples = X.shape[0]
    if params["early_stopping"] and n_samples == math.ceil(
        params["validation_fraction"] * n_samples
    ):
        errors.append((ValueError, "split would be empty"))
    must_raise = bool(errors)
    if np.max(np.abs(X.astype(np.float64)), initial=0) > MODERATE:
        errors += OVERFLOW_ERRORS
    return errors, must_raise


def _call(errors, method, *args):
    """``method(*args)``, or None when it raised one of ``errors`` (anything else fails)."""
    try:
        return method(*args)
    except Exception as exc:
        if not any(isinstance(exc, kind) and re.search(text, str(exc)) for kind, text in errors):
            raise
        return None


def _assert_finite(values, shape, dtype):
    assert values.shape == shape
    assert values.dtype == dtype
    assert np.all(np.isfinite(values))


def _output_dtype(X):
    return np.float32 if X.dtype == np.float32 else np.float64


@SETTINGS
@given(X=datasets(), params=parameters())
def test_transformer_succeeds_or_raises_a_documented_error(X, params):
    estimator = AutoencoderTransformer(**params)
    errors, must_raise = _expected_fit_errors(X, params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy noise reaches the user
        warnings.simplefilter("ignore", ConvergenceWarning)
        codes = _call(errors, estimator.fit_transform, X)
        if codes is None:
            return
        assert not must_raise, f"fit should have raised one of {errors}"
        n_samples, n_features = X.shape
        n_components = estimator.n_components_
        assert n_components == (params["n_components"] or n_components) <= n_features
        _assert_finite(codes, (n_samples, n_components), _output_dtype(X))
        scores = _call(errors, estimator.score_samples, X)
        if scores is not None:
            _assert_finite(scores, (n_samples,), np.float64)
            assert np.all(scores <= 0)
        reconstruction = _call(errors, estimator.inverse_transform, codes)
        if reconstruction is not None:
            _assert_finite(reconstruction, (n_samples, n_features), _output_dtype(X))


@SETTINGS
@given(
    X=datasets(),
    params=parameters(),
    contamination=st.one_of(st.just("auto"), st.floats(0.01, 0.5)),
)
def test_detector_succeeds_or_raises_a_documented_error(X, params, contamination):
    estimator = AutoencoderOutlierDetector(**params, contamination=contamination)
    errors, must_raise = _expected_fit_errors(X, params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = _call(errors, estimator.fit_predict, X)
        if labels is None:
            return
        assert not must_raise, f"fit should have raised one of {errors}"
        assert labels.shape == (X.shape[0],)
        assert set(np.unique(labels)) <= {-1, 1}
        assert np.isfinite(estimator.offset_)
        decision = _call(errors, estimator.decision_function, X)
        if decision is not None:
            _assert_finite(decision, (X.shape[0],), np.float64)
            np.testing.assert_array_equal(np.where(decision < 0, -1, 1), estimator.predict(X))
