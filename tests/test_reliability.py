"""Reliability: bad input gets scikit-learn's own errors, faults leave the model consistent.

Error texts are compared with what scikit-learn's own estimators raise for the
same mistake. Faults (a diverging run, Ctrl-C, a warning turned into an error)
are injected through a module that misbehaves at a chosen training step, so the
tests know exactly how many epochs completed.
"""

import copy
import os
import signal
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer
from sklearn_ae._modules import MLPAutoencoder

ESTIMATORS = [AutoencoderTransformer, AutoencoderOutlierDetector]
FAST = dict(hidden_layer_sizes=(8,), max_iter=5, early_stopping=False, random_state=0)
N_SAMPLES, N_FEATURES = 30, 5


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return rng.normal(size=(N_SAMPLES, 3)) @ rng.normal(size=(3, N_FEATURES))


@pytest.fixture(scope="module")
def fitted(X):
    """One fitted estimator of each class, shared by tests that only read it."""
    return {Estimator: _fitted(Estimator, X) for Estimator in ESTIMATORS}


def _fitted(Estimator, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Estimator(2, **{**FAST, **params}).fit(X)


def _raised(call):
    with pytest.raises(Exception) as info:  # noqa: B017 - the type is compared below
        call()
    return info.value


def _assert_same_error(ours, reference, our_name, reference_name):
    """``ours`` raises the very error ``reference`` raises, up to the estimator's name."""
    ours, reference = _raised(ours), _raised(reference)
    assert type(ours) is type(reference)
    assert str(ours) == str(reference).replace(reference_name, our_name)


# -- bad input: scikit-learn's own error types and messages --------------------


def _bad_inputs(X):
    nan, inf = X.copy(), X.copy()
    nan[1, 1] = np.nan
    inf[1, 1] = np.inf
    strings = np.full(X.shape, "a")
    mixed = X.astype(object)
    mixed[0, 0] = "a"
    return {
        "nan": nan,
        "+inf": inf,
        "-inf": -inf,
        "1-D": X[0],
        "scalar": 3.0,
        "3-D": X[None],
        "0 rows": X[:0],
        "0 columns": X[:, :0],
        "complex": X + 1j,
        "strings": strings,
        "object with non-numbers": mixed,
        "sparse": sp.csr_matrix(X),
        "wrong width": X[:, :3],
    }


# Sparse rows are data (as for PCA); sparse codes are not (see inverse_transform).
BAD_INPUTS = [b for b in _bad_inputs(np.zeros((2, 2))) if b != "sparse"]
FIT_METHODS = {
    AutoencoderTransformer: ["fit", "fit_transform", "partial_fit"],
    AutoencoderOutlierDetector: ["fit", "fit_predict", "fit_transform", "partial_fit"],
}
INFERENCE_METHODS = {
    AutoencoderTransformer: ["transform", "score_samples", "score", "reconstruction_error"],
    AutoencoderOutlierDetector: [
        "transform",
        "score_samples",
        "decision_function",
        "predict",
        "reconstruction_error",
    ],
}
# The scikit-learn method validating its input as ours does.
REFERENCE_METHOD = {
    "fit": "fit",
    "fit_transform": "fit_transform",
    "fit_predict": "fit",
    "partial_fit": "fit",
    "transform": "transform",
}


def _reference(bad):
    # PCA.inverse_transform does not validate its codes; FactorAnalysis refuses
    # sparse input as inverse_transform refuses sparse codes.
    return FactorAnalysis(2) if bad == "sparse" else PCA(2)


@pytest.mark.parametrize("bad", [b for b in BAD_INPUTS if b != "wrong width"])
@pytest.mark.parametrize(
    "Estimator, method",
    [(E, m) for E in ESTIMATORS for m in FIT_METHODS[E]],
    ids=lambda p: getattr(p, "__name__", p),
)
def test_fit_rejects_bad_input_as_scikit_learn_does(Estimator, method, bad, X):
    X_bad = _bad_inputs(X)[bad]
    reference = _reference(bad)
    _assert_same_error(
        lambda: getattr(Estimator(2, **FAST), method)(X_bad),
        lambda: getattr(reference, REFERENCE_METHOD[method])(X_bad),
        Estimator.__name__,
        type(reference).__name__,
    )


@pytest.mark.parametrize("bad", BAD_INPUTS)
@pytest.mark.parametrize(
    "Estimator, method",
    [(E, m) for E in ESTIMATORS for m in INFERENCE_METHODS[E]],
    ids=lambda p: getattr(p, "__name__", p),
)
def test_inference_rejects_bad_input_as_scikit_learn_does(Estimator, method, bad, X, fitted):
    estimator = fitted[Estimator]
    reference = _reference(bad).fit(X)
    X_bad = _bad_inputs(X)[bad]
    _assert_same_error(
        lambda: getattr(estimator, method)(X_bad),
        lambda: getattr(reference, REFERENCE_METHOD.get(method, "score_samples"))(X_bad),
        Estimator.__name__,
        type(reference).__name__,
    )


# Sparse rows with the faults a sparse matrix can hold.
SPARSE_BAD_INPUTS = ["nan", "+inf", "-inf", "wrong width"]


@pytest.mark.parametrize("bad", SPARSE_BAD_INPUTS)
@pytest.mark.parametrize(
    "Estimator, method",
    [(E, m) for E in ESTIMATORS for m in FIT_METHODS[E] + INFERENCE_METHODS[E]],
    ids=lambda p: getattr(p, "__name__", p),
)
def test_bad_sparse_input_gets_pca_s_error(Estimator, method, bad, X, fitted):
    X_bad = sp.csr_matrix(_bad_inputs(X)[bad])
    if method in FIT_METHODS[Estimator]:
        if bad == "wrong width":
            return  # any width fits
        estimator, reference = Estimator(2, **FAST), PCA(2)
        reference_method = REFERENCE_METHOD[method]
    else:
        # PCA transforms sparse rows but scores only dense ones: its transform
        # is the reference of every inference method
        estimator, reference, reference_method = fitted[Estimator], PCA(2).fit(X), "transform"
    _assert_same_error(
        lambda: getattr(estimator, method)(X_bad),
        lambda: getattr(reference, reference_method)(X_bad),
        Estimator.__name__,
        "PCA",
    )


@pytest.mark.parametrize(
    "Estimator, method",
    [(E, m) for E in ESTIMATORS for m in INFERENCE_METHODS[E]],
    ids=lambda p: getattr(p, "__name__", p),
)
def test_sparse_input_is_accepted_by_every_method(Estimator, method, X, fitted):
    """Sparse rows are data, as for PCA and IsolationForest: the same results as dense rows."""
    estimator = fitted[Estimator]
    np.testing.assert_allclose(
        getattr(estimator, method)(sp.csr_matrix(X)), getattr(estimator, method)(X), rtol=1e-12
    )
    for fit_method in FIT_METHODS[Estimator]:
        getattr(Estimator(2, **FAST), fit_method)(sp.csr_matrix(X))  # no error


@pytest.mark.parametrize("bad", [b for b in BAD_INPUTS if b != "wrong width"] + ["sparse"])
def test_inverse_transform_rejects_bad_codes_as_scikit_learn_does(bad, X, fitted):
    estimator = fitted[AutoencoderTransformer]
    codes = estimator.transform(X)
    # The codes are validated as a fitted PCA validates data of their width.
    reference = _reference(bad).fit(codes)
    bad_codes = _bad_inputs(codes)[bad]
    _assert_same_error(
        lambda: estimator.inverse_transform(bad_codes),
        lambda: reference.transform(bad_codes),
        "AutoencoderTransformer",
        type(reference).__name__,
    )


@pytest.mark.parametrize("width", [1, 3])
def test_inverse_transform_wrong_width_names_n_components(width, fitted):
    estimator = fitted[AutoencoderTransformer]
    with pytest.raises(ValueError, match=rf"X has {width} features.*n_components_=2"):
        estimator.inverse_transform(np.zeros((4, width)))


# -- dtypes and extreme values ------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint8, bool, np.float16, np.float32])
def test_int_bool_and_float16_input_are_accepted(Estimator, dtype):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(N_SAMPLES, N_FEATURES)).astype(dtype)
    estimator = _fitted(Estimator, X)
    codes = estimator.transform(X)
    assert codes.dtype == (np.float32 if dtype is np.float32 else np.float64)
    assert np.all(np.isfinite(codes))
    assert np.all(codes.std(axis=0) > 0)
    scores = estimator.score_samples(X)
    assert scores.dtype == np.float64 and np.all(np.isfinite(scores))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("standardize", [True, False])
def test_constant_columns_give_informative_codes(Estimator, standardize, X):
    X = X.copy()
    X[:, 1] = 7.0
    X[:, 3] = 0.0
    estimator = _fitted(Estimator, X, standardize=standardize)
    codes = estimator.transform(X)
    assert np.all(np.isfinite(codes))
    assert np.all(codes.std(axis=0) > 1e-3)  # not an all-constant code
    assert np.all(np.isfinite(estimator.score_samples(X)))
    if Estimator is AutoencoderTransformer:
        reconstruction = estimator.inverse_transform(codes)
        np.testing.assert_allclose(reconstruction[:, [1, 3]], X[:, [1, 3]], atol=0.1)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_all_constant_data_gives_finite_output(Estimator):
    X = np.full((N_SAMPLES, N_FEATURES), 3.0)
    estimator = _fitted(Estimator, X)
    assert np.all(np.isfinite(estimator.transform(X)))
    assert np.all(np.isfinite(estimator.score_samples(X)))
    if Estimator is AutoencoderOutlierDetector:
        assert np.isfinite(estimator.offset_)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_huge_but_finite_column_works(Estimator, X):
    X = X.copy()
    X[:, 2] *= 1e150
    assert np.all(np.isfinite(_fitted(Estimator, X).transform(X)))
    # scaled feature by feature, the other columns still shape the codes
    codes = _fitted(Estimator, X, standardize="feature").transform(X)
    assert np.all(np.isfinite(codes)) and np.all(codes.std(axis=0) > 1e-3)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "scale, standardize, match",
    [
        (1e200, True, "too large to standardize"),
        (1e39, False, "too large for float32"),  # beyond float32
        (1e19, False, "variance .* overflows float32"),  # its variance is
    ],
)
def test_unmanageable_magnitudes_raise_a_clear_error_at_fit(
    Estimator, scale, standardize, match, X
):
    X = X.copy()
    X[:, 2] *= scale
    # every row, as the error is about: the robust fit may set the largest aside
    params = {"support_fraction": 1.0} if Estimator is AutoencoderOutlierDetector else {}
    estimator = Estimator(2, standardize=standardize, **FAST, **params)
    with pytest.raises(ValueError, match=match):
        estimator.fit(X)
    with pytest.raises(NotFittedError):
        estimator.transform(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "dtype, value", [(np.float64, 1e153), (np.float64, 1e200), (np.float32, 3e38)]
)
def test_overflow_at_inference_raises_instead_of_returning_nan(Estimator, dtype, value, X, fitted):
    estimator = fitted[Estimator]
    X_far = X.astype(dtype)
    X_far[0] = value
    methods = ["transform", "score_samples", "reconstruction_error"] + (
        ["decision_function", "predict"] if Estimator is AutoencoderOutlierDetector else []
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy overflow noise either
        for method in methods:
            try:
                out = getattr(estimator, method)(X_far)
            except ValueError as exc:
                assert "overflowed" in str(exc) and "Rescale" in str(exc)
            else:
                assert np.all(np.isfinite(out))
    if value == 1e200:  # the squared error of such a row overflows
        with pytest.raises(ValueError, match="overflowed"):
            estimator.score_samples(X_far)


# -- parameters -----------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_n_components_above_n_features_raises_at_fit(Estimator, X):
    estimator = Estimator(N_FEATURES + 1, **FAST)
    with pytest.raises(ValueError, match=f"n_components={N_FEATURES + 1}.*n_features=5"):
        estimator.fit(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "params",
    [
        dict(n_components=0),
        dict(n_components=1.5),
        dict(hidden_layer_sizes=(0,)),
        dict(hidden_layer_sizes=(4, 2.5)),
        dict(activation="softmax"),
        dict(batch_size=0),
        dict(learning_rate_init=0.0),
        dict(max_iter=0),
        dict(validation_fraction=1.0),
        dict(module=int),
        dict(device="tpu:x"),
        dict(random_state="seed"),
    ],
    ids=repr,
)
def test_invalid_parameters_raise_at_fit_not_at_construction(Estimator, params, X):
    estimator = Estimator(**{**FAST, **params})  # construction never validates
    with pytest.raises(InvalidParameterError):
        estimator.fit(X)
    with pytest.raises(NotFittedError):
        estimator.transform(X)


@pytest.mark.parametrize("contamination", [0.0, 0.6, "high"])
def test_invalid_contamination_raises_at_fit(contamination, X):
    detector = AutoencoderOutlierDetector(contamination=contamination, **FAST)
    with pytest.raises(InvalidParameterError, match="contamination"):
        detector.fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_device_without_cuda_raises_a_clear_error(X):
    with pytest.raises(ValueError, match="CUDA is not available"):
        AutoencoderTransformer(device="cuda", **FAST).fit(X)


# -- fault injection ------------------------------------------------------------


class FaultyAutoencoder(MLPAutoencoder):
    """The built-in MLP, misbehaving after ``after`` training steps.

    ``fault`` is ``"interrupt"`` (Ctrl-C), ``"sigint"`` (a real SIGINT sent to
    this process, which Python turns into Ctrl-C), ``"nan_loss"`` (the reconstruction
    becomes NaN) or ``"nan_weights"`` (a weight becomes NaN while this step's
    loss is still finite, so only the weights show the divergence); with
    ``"interrupt_inference"``, training succeeds and Ctrl-C strikes when the
    trained model first encodes rows (the detector does so to set ``offset_``).
    """

    def __init__(self, n_features, n_components, fault="interrupt", after=10**9):
        super().__init__(n_features, n_components, hidden_layer_sizes=(8,))
        self.fault = fault
        self.after = after
        self.steps = 0

    def forward(self, x):
        out = super().forward(x)
        if self.training:
            self.steps += 1
            if self.steps > self.after:
                if self.fault == "interrupt":
                    raise KeyboardInterrupt
                if self.fault == "sigint":
                    os.kill(os.getpid(), signal.SIGINT)  # Python raises at the next bytecode
                    return out
                if self.fault == "nan_loss":
                    return out * float("nan")
                with torch.no_grad():
                    self.decoder.linear.bias.fill_(float("nan"))
        return out

    def encode(self, x):
        if self.fault == "interrupt_inference" and not self.training:
            raise KeyboardInterrupt
        return super().encode(x)


def _faulty(Estimator, fault, after, **params):
    """An estimator whose training hits ``fault`` after ``after`` epochs (one batch each)."""
    return Estimator(
        2,
        module=FaultyAutoencoder,
        module_params=dict(fault=fault, after=after),
        batch_size=N_SAMPLES,
        **{**FAST, "max_iter": 6, **params},
    )


def _fitted_state(estimator):
    """Every attribute but the parameters."""
    params = estimator.get_params(deep=False)
    return {name: value for name, value in vars(estimator).items() if name not in params}


def _snapshot(estimator):
    """The fitted state, and a deep copy of the weights."""
    return _fitted_state(estimator), copy.deepcopy(estimator.net_.module_.state_dict())


def _assert_unchanged(estimator, snapshot, X, outputs):
    attributes, weights = snapshot
    assert _fitted_state(estimator).keys() == attributes.keys()
    for name, value in attributes.items():
        assert vars(estimator)[name] is value, name
    for name, tensor in estimator.net_.module_.state_dict().items():
        assert torch.equal(tensor, weights[name]), name
    for method, expected in outputs.items():
        np.testing.assert_array_equal(getattr(estimator, method)(X), expected)


def _outputs(estimator, X):
    methods = ["transform", "score_samples"]
    if isinstance(estimator, AutoencoderOutlierDetector):
        methods += ["decision_function", "predict"]
    return {method: getattr(estimator, method)(X) for method in methods}


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("completed", [0, 1, 3])
def test_ctrl_c_keeps_a_consistent_partial_model(Estimator, early_stopping, completed, X):
    estimator = _faulty(Estimator, "interrupt", completed, early_stopping=early_stopping)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        estimator.fit(X)
    assert estimator.n_iter_ == completed
    assert len(estimator.loss_curve_) == completed
    if early_stopping:
        assert len(estimator.validation_scores_) == completed
    if not completed:  # the untrained model, usable all the same
        assert estimator.best_loss_ is None
        for output in _outputs(estimator, X).values():
            assert np.all(np.isfinite(output))
        return
    # The model is the one a run of exactly ``completed`` epochs gives.
    reference = _faulty(Estimator, "interrupt", 10**9, early_stopping=early_stopping)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.set_params(max_iter=completed).fit(X)
    assert estimator.loss_curve_ == reference.loss_curve_
    for method, expected in _outputs(reference, X).items():
        np.testing.assert_array_equal(getattr(estimator, method)(X), expected)


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler, which turns the signal into KeyboardInterrupt.

    A shell starts background jobs with SIGINT ignored, and Python then keeps
    ignoring it: install the handler a terminal's Ctrl-C would meet.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(os.name != "posix", reason="sends a POSIX signal")
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.usefixtures("python_sigint_handler")
def test_a_real_sigint_during_fit_is_handled_like_ctrl_c(Estimator, X):
    estimator = _faulty(Estimator, "sigint", 2)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        estimator.fit(X)
    assert estimator.n_iter_ == len(estimator.loss_curve_) == 2
    assert np.all(np.isfinite(estimator.score_samples(X)))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_ctrl_c_during_warm_start_counts_all_epochs_run(Estimator, X):
    estimator = _faulty(Estimator, "interrupt", 4, warm_start=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X)
    with pytest.warns(UserWarning, match="interrupted"):
        estimator.fit(X)  # one more epoch completes, then Ctrl-C
    assert estimator.n_iter_ == len(estimator.loss_curve_) == 4
    assert np.all(np.isfinite(estimator.transform(X)))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "fault, after, match",
    [
        ("nan_loss", 2, r"train loss became non-finite \(nan\) at epoch 3"),
        ("nan_weights", 5, "weights became non-finite"),  # at the very last step
    ],
)
def test_divergence_raises_and_leaves_an_unfitted_estimator_unfitted(
    Estimator, fault, after, match, X
):
    estimator = _faulty(Estimator, fault, after)
    params = estimator.get_params()
    with pytest.raises(ValueError, match=match) as info:
        estimator.fit(X)
    assert "learning_rate_init" in str(info.value)  # the error suggests a fix
    assert not [name for name in vars(estimator) if name.endswith("_")]
    assert estimator.get_params() == params
    with pytest.raises(NotFittedError):
        estimator.transform(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_huge_learning_rate_raises_a_clear_error(Estimator, X):
    estimator = Estimator(2, learning_rate_init=1e8, **{**FAST, "max_iter": 50})
    with pytest.raises(ValueError, match="diverged. Lower learning_rate_init"):
        estimator.fit(X)
    with pytest.raises(NotFittedError):
        estimator.transform(X)


def _fail_huge_learning_rate(estimator, X):
    estimator.set_params(learning_rate_init=1e8, max_iter=50).fit(X)


def _fail_on_other_data(estimator, X):
    estimator.set_params(learning_rate_init=1e8, max_iter=50).fit(X[:, :3] * 2)


def _fail_nan_weights(estimator, X):
    faulty = dict(fault="nan_weights", after=4)  # the last of 5 steps
    estimator.set_params(module=FaultyAutoencoder, module_params=faulty).fit(X)


def _fail_warning_as_error(estimator, X):
    if not estimator._warns_at_max_iter:
        pytest.skip("the detector's max_iter is a budget: reaching it raises no warning")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        estimator.set_params(max_iter=1).fit(X)


def _fail_interrupt_as_error(estimator, X):
    estimator.set_params(module=FaultyAutoencoder, module_params=dict(after=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        estimator.fit(X)


def _fail_bad_input(estimator, X):
    X = X.copy()
    X[0, 0] = np.nan
    estimator.fit(X)


def _fail_bad_parameter(estimator, X):
    estimator.set_params(hidden_layer_sizes=(0,)).fit(X)


FAILURES = [
    _fail_huge_learning_rate,
    _fail_on_other_data,
    _fail_nan_weights,
    _fail_warning_as_error,
    _fail_interrupt_as_error,
    _fail_bad_input,
    _fail_bad_parameter,
]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("fail", FAILURES, ids=lambda f: f.__name__.removeprefix("_fail_"))
def test_failed_refit_leaves_the_previous_fit_intact(Estimator, fail, X):
    estimator = _fitted(Estimator, X)
    snapshot, outputs = _snapshot(estimator), _outputs(estimator, X)
    with pytest.raises((ValueError, Warning)):
        fail(estimator, X)
    _assert_unchanged(estimator, snapshot, X, outputs)


@pytest.mark.parametrize("method", ["fit", "fit_predict", "fit_transform"])
def test_ctrl_c_while_setting_the_threshold_leaves_the_previous_fit_intact(method, X):
    estimator = _fitted(AutoencoderOutlierDetector, X)
    snapshot, outputs = _snapshot(estimator), _outputs(estimator, X)
    faulty = dict(fault="interrupt_inference")
    estimator.set_params(module=FaultyAutoencoder, module_params=faulty)
    with pytest.raises(KeyboardInterrupt):
        getattr(estimator, method)(X)
    _assert_unchanged(estimator, snapshot, X, outputs)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("method", ["partial_fit", "fit"])
def test_failed_continued_training_leaves_the_previous_fit_intact(Estimator, method, X):
    estimator = _faulty(Estimator, "nan_loss", 6, warm_start=True)  # max_iter=6 steps succeed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X)
    snapshot, outputs = _snapshot(estimator), _outputs(estimator, X)
    with pytest.raises(ValueError, match="diverged"):
        getattr(estimator, method)(X)
    _assert_unchanged(estimator, snapshot, X, outputs)


# -- no mutation, read-only data, refits ------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_input_arrays_and_parameters_are_never_mutated(Estimator, dtype, X):
    X = X.astype(dtype)
    X_before = X.copy()
    hidden = [8]
    estimator = Estimator(2, **{**FAST, "hidden_layer_sizes": hidden})
    params = copy.deepcopy(estimator.get_params())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        codes = estimator.fit_transform(X)
        estimator.partial_fit(X)
    codes_before = codes.copy()
    _outputs(estimator, X)
    if Estimator is AutoencoderTransformer:
        estimator.inverse_transform(codes)
        np.testing.assert_array_equal(codes, codes_before)
    np.testing.assert_array_equal(X, X_before)
    assert hidden == [8]
    assert estimator.get_params() == params


def test_module_params_dict_is_never_mutated(X):
    module_params = {"fault": "interrupt"}
    estimator = AutoencoderTransformer(
        module=FaultyAutoencoder, module_params=module_params, **FAST
    )
    estimator.set_params(module__after=10**9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X)
    assert module_params == {"fault": "interrupt"}
    assert estimator.module_params == {"fault": "interrupt", "after": 10**9}


def test_a_module_instance_is_refused_or_left_untouched(X):
    module = MLPAutoencoder(N_FEATURES, 2, hidden_layer_sizes=(8,))
    weights = copy.deepcopy(module.state_dict())
    estimator = AutoencoderTransformer(2, module=module, **FAST)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X)
    except InvalidParameterError:
        pass  # instances are not accepted: nothing can be mutated
    else:
        assert estimator.net_.module_ is not module
    for name, tensor in module.state_dict().items():
        assert torch.equal(tensor, weights[name]), name
    assert module.training


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_read_only_arrays_and_memmaps_work(Estimator, X, tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    memmap = np.load(path, mmap_mode="r")
    read_only = X.copy()
    read_only.setflags(write=False)
    for data in (memmap, read_only):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # torch warns about non-writable arrays
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator = Estimator(2, **FAST).fit(data)
            expected = _outputs(_fitted(Estimator, X), X)
            for method, values in _outputs(estimator, data).items():
                np.testing.assert_array_equal(values, expected[method])
            if Estimator is AutoencoderTransformer:
                codes = estimator.transform(X)
                codes.setflags(write=False)
                assert estimator.inverse_transform(codes).shape == X.shape


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_refit_on_data_of_another_width_resets_everything(Estimator, X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    estimator = _fitted(Estimator, frame)
    assert estimator.feature_names_in_.tolist() == list(frame.columns)
    narrow = X[:, :3] * 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(narrow)
    fresh = _fitted(Estimator, narrow)
    assert not hasattr(estimator, "feature_names_in_")
    assert estimator.n_features_in_ == 3
    for name in ("mean_", "scale_"):
        np.testing.assert_array_equal(getattr(estimator, name), getattr(fresh, name))
    assert estimator.loss_curve_ == fresh.loss_curve_
    for method, expected in _outputs(fresh, narrow).items():
        np.testing.assert_array_equal(getattr(estimator, method)(narrow), expected)
    with pytest.raises(ValueError, match="X has 5 features, but .* is expecting 3 features"):
        estimator.transform(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_continuing_on_data_of_another_width_is_refused(Estimator, method, X):
    estimator = _fitted(Estimator, X, warm_start=True)
    snapshot, outputs = _snapshot(estimator), _outputs(estimator, X)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 5 features"):
        getattr(estimator, method)(X[:, :3])
    _assert_unchanged(estimator, snapshot, X, outputs)
