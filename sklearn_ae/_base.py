"""Shared parameters, fit orchestration and batched inference of both estimators."""

import contextlib
import copy
import functools
import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._modules import ACTIVATIONS, MLPAutoencoder
from ._net import _AutoencoderNet, _fused_adam, _Monitor
from ._search import search_n_components
from ._validation import (
    Interval,
    InvalidParameterError,
    RealNotInt,
    StrOptions,
    _handle_zeros_in_scale,
    _incremental_mean_and_var,
    check_is_fitted,
    validate_data,
)

# Rows per inference chunk: about 8 MiB of float64 input per chunk, so memory stays
# bounded on large X while each chunk is large enough for efficient matrix products.
_CHUNK_BYTES = 8 * 2**20

# n_components=None: as many components as PCA needs for this fraction of the
# variance of the standardized training data.
_DEFAULT_VARIANCE = 0.95

SHARED_PARAMETERS = """\
n_components : int, float or None, default={n_components_default}
        Size of the code (latent space), as ``PCA``'s ``n_components``:

        - an int from 1 to the number of features;
        - a float in (0, 1): the fraction of variance to keep. ``fit`` holds out
          ``validation_fraction`` of the rows and picks the smallest size whose
          reconstruction keeps at least that fraction of their variance
          (standardized units), searching below PCA's size for the same
          fraction by bisection (about ``log2(k) + 1`` fits); the model of the
          chosen size, fitted on the other rows, is kept. ``partial_fit`` takes
          PCA's size on its first chunk instead;
        - None: PCA's size for 95 % of the variance of the standardized
          training data.

        The size chosen is ``n_components_``.

    hidden_layer_sizes : tuple of int or None, default=None
        Widths of the encoder's hidden layers; the decoder mirrors them. None
        derives two hidden layers from the data's width, each
        ``min(256, max(64, 2 * n_features))`` wide. ``()`` gives a linear
        autoencoder.

    activation : {"relu", "tanh", "logistic", "gelu", "elu", "silu", "identity"}, \
default="relu"
        Non-linearity of the hidden layers.

    init : {"pca", "random"}, default="pca"
        Initialisation of the built-in module. ``"pca"`` sets its linear path to
        PCA's projection of the training data (the non-linear part starts at
        zero), so training starts from PCA's reconstruction and improves on it.
        ``"random"`` keeps PyTorch's default initialisation.

    standardize : bool, default=True
        Whether to z-score features inside the estimator (a constant feature gets
        scale 1). Reconstruction errors are then measured in standardized units;
        ``inverse_transform`` always returns original units.

    alpha : float, default=1e-4
        Strength of the L2 penalty (Adam's weight decay).

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` is ``min(200, n_samples)``.

    learning_rate_init : float, default=1e-3
        Adam's learning rate.

    max_iter : int, default=200
        Maximum number of epochs (passes over the training rows).

    early_stopping : bool, default=True
        Whether to hold out ``validation_fraction`` of the rows and stop when
        their reconstruction error stops improving. The weights of the best
        validation epoch are restored; the starting weights (PCA's solution with
        ``init="pca"``) count as epoch 0, so the model kept is never worse on
        the validation rows than PCA.

    validation_fraction : float, default=0.1
        Fraction of rows held out for early stopping; used only when
        ``early_stopping=True``.

    n_iter_no_change : int, default=10
        Training stops after more than ``n_iter_no_change`` consecutive epochs
        without an improvement of at least ``tol`` in the watched loss (the
        validation loss with early stopping, the training loss otherwise).

    tol : float, default=1e-4
        Minimum improvement of the watched loss that counts as progress.

    warm_start : bool, default=False
        Whether ``fit`` continues from the previous solution (same width of data)
        instead of starting anew.

    module : torch.nn.Module subclass or None, default=None
        The network. None uses the built-in MLP. A class is instantiated as
        ``module(n_features=..., n_components=..., **module_params)`` and must
        define ``encode(X)`` and ``decode(Z)``; its ``forward`` may return the
        reconstruction or a pair ``(reconstruction, penalty)``.

    module_params : dict or None, default=None
        Extra keyword arguments of ``module``. ``set_params(module__name=value)``
        sets one entry, so grid searches can tune them.

    device : str or torch.device, default="cpu"
        Where to train and infer: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... or
        ``"auto"`` (CUDA when available). The resolved device is ``device_``.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split. An int
        gives bit-identical fits. None draws a fresh seed from the operating
        system; the global torch and numpy random states are never used or changed.

    verbose : int, default=0
        0 prints nothing, 1 prints a line per epoch (losses and time), 2 also
        shows a progress bar."""

SHARED_ATTRIBUTES = """\
n_components_ : int
        Size of the code.

    retained_variance_ratio_ : float
        Fraction of the variance (standardized units) that the reconstruction
        keeps: of the validation rows when ``n_components`` is a fraction, of
        the training rows otherwise. It describes the whole model, the
        counterpart of PCA's ``explained_variance_ratio_.sum()``: latent units
        of an autoencoder are not ordered by variance.

    n_components_scores_ : dict or None
        When ``n_components`` is a fraction, the validation variance kept by
        each size tried, in the order tried; None otherwise.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, defined only when ``X`` has
        feature names that are all strings.

    mean_ : ndarray of shape (n_features_in_,)
        Per-feature mean subtracted before encoding (zeros when
        ``standardize=False``).

    scale_ : ndarray of shape (n_features_in_,)
        Per-feature scale divided out before encoding (ones when
        ``standardize=False``; 1 for constant features).

    n_samples_seen_ : int
        Number of rows the standardization statistics were computed from.

    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` is the PyTorch module.

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Training loss (mean squared error in standardized units, plus any
        penalty) at the end of each epoch.

    best_loss_ : float or None
        Minimum of ``loss_curve_``; None with early stopping (see
        ``best_validation_score_``).

    validation_scores_ : list of float or None
        With early stopping, the score (minus the mean squared reconstruction
        error) of the validation rows at each epoch; None otherwise.

    best_validation_score_ : float or None
        Best of ``validation_scores_``, whose weights were restored; None without
        early stopping.

    device_ : torch.device
        Device the model lives on."""


def fill_doc(obj):
    """Insert the shared parameter and attribute sections into ``obj.__doc__``."""
    default = inspect.signature(obj).parameters["n_components"].default
    obj.__doc__ = obj.__doc__.format(
        shared_parameters=SHARED_PARAMETERS.replace("{n_components_default}", str(default)),
        shared_attributes=SHARED_ATTRIBUTES,
    )
    return obj


@contextlib.contextmanager
def _torch_seeded(seed, device):
    """Run torch code under ``seed`` without touching the global random state."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed(seed)
        yield


def _draw_seed(random_state):
    """A torch seed from ``random_state``; None draws fresh entropy, not the global RNG."""
    if random_state is None:
        return int(np.random.default_rng().integers(np.iinfo(np.int32).max))
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _atomic(fit_method):
    """Make ``fit_method`` all-or-nothing: if it raises, the estimator is left as it was.

    Fitted attributes are replaced, never changed in place, so restoring the
    attribute dictionary restores a previous fit exactly (and leaves an unfitted
    estimator cleanly unfitted, without a stray ``n_features_in_``).
    """

    @functools.wraps(fit_method)
    def wrapper(self, *args, **kwargs):
        state = dict(vars(self))
        try:
            return fit_method(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(state)
            raise

    return wrapper


def _overflow_error(dtype_name):
    """The error of an inference whose ``dtype_name`` arithmetic overflowed."""
    return ValueError(
        f"The model's output overflowed ({dtype_name} arithmetic) on some rows of X: they "
        "hold values far beyond the range seen during fit. Rescale them"
        + (", or pass float64 data." if dtype_name == "float32" else ".")
    )


def _resolve_device(device):
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise InvalidParameterError(f"Invalid device {device!r}: {exc}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; use "
            "device='cpu' or device='auto'."
        )
    return resolved


def _fit_pca(X, n_components, seed):
    """``PCA(n_components).fit(X)`` with a clear error when float32 ``X`` overflows it."""
    try:
        with np.errstate(all="ignore"):  # 0/0 variance ratio of constant X; overflow, below
            pca = PCA(n_components=n_components, random_state=seed).fit(X)
        overflowed = not np.all(np.isfinite(pca.components_))
    except ValueError:  # scipy refuses a covariance that overflowed float32
        overflowed = True
    if overflowed:
        raise ValueError(
            "X has values too large for float32 training: PCA of the training rows "
            "overflowed. Use standardize=True, rescale X or init='random'."
        )
    return pca


def _pca_components(X, n_components, seed):
    """PCA's components and mean of ``X``, zero-padded to ``n_components`` rows."""
    n_available = min(n_components, *X.shape)
    pca = _fit_pca(X, n_available, seed)
    components = np.zeros((n_components, X.shape[1]), dtype=X.dtype)
    components[:n_available] = pca.components_
    return components, pca.mean_.astype(X.dtype)


class _BaseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Parameters, training and inference shared by the estimators.

    Both estimators encode rows into ``n_components`` latent features, so both
    are transformers: ``transform``, ``get_feature_names_out`` and ``set_output``
    live here.
    """

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "hidden_layer_sizes": [None, "array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "init": [StrOptions({"pca", "random"})],
        "standardize": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "module": [None, type],
        "module_params": [None, dict],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=None,
        activation="relu",
        init="pca",
        standardize=True,
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        module=None,
        module_params=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.init = init
        self.standardize = standardize
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.module = module
        self.module_params = module_params
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Besides the constructor's parameters, ``module__<name>=value`` sets one
        keyword argument of the module (an entry of ``module_params``), so that
        ``GridSearchCV`` can tune a custom module.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        module_params = {
            key.removeprefix("module__"): params.pop(key)
            for key in list(params)
            if key.startswith("module__")
        }
        if module_params:
            params["module_params"] = {**(self.module_params or {}), **module_params}
        return super().set_params(**params)

    @property
    def _n_features_out(self):
        return self.n_components_

    # -- fitting ----------------------------------------------------------------

    def _hidden_layer_sizes(self, n_features):
        if self.hidden_layer_sizes is None:
            width = min(256, max(64, 2 * n_features))
            return (width, width)
        sizes = tuple(np.atleast_1d(self.hidden_layer_sizes).tolist())
        if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
            raise InvalidParameterError(
                "hidden_layer_sizes must contain positive integers only, got "
                f"{self.hidden_layer_sizes!r}."
            )
        return sizes

    def _check_n_components(self, X_std):
        """The code size for standardized training rows ``X_std``."""
        n_samples, n_features = X_std.shape
        if self.n_components is None or isinstance(self.n_components, float):
            if n_samples < 2:
                return 1
            fraction = self.n_components or _DEFAULT_VARIANCE
            return int(_fit_pca(X_std, fraction, None).n_components_)
        if self.n_components > n_features:
            raise ValueError(
                f"n_components={self.n_components} must be between 1 and n_features={n_features}."
            )
        return self.n_components

    def _build_module(self, X_std, n_components, seed):
        """Instantiate the module for standardized training rows ``X_std``."""
        n_features = X_std.shape[1]
        if self.module is None:
            module = MLPAutoencoder(
                n_features,
                n_components,
                self._hidden_layer_sizes(n_features),
                self.activation,
                **(self.module_params or {}),
            )
            if self.init == "pca":
                components, mean = _pca_components(X_std, n_components, seed)
                module.init_linear_path(torch.from_numpy(components), torch.from_numpy(mean))
            return module
        if not issubclass(self.module, torch.nn.Module):
            raise InvalidParameterError(
                f"module must be a torch.nn.Module subclass, got {self.module!r}."
            )
        return self.module(
            n_features=n_features, n_components=n_components, **(self.module_params or {})
        )

    def _update_statistics(self, X, first_call):
        """Per-feature mean, variance and count, updated with rows ``X``."""
        if first_call:
            mean, var, n = 0.0, 0.0, 0
        else:
            mean, var, n = self.mean_, self._var, self.n_samples_seen_
        if not self.standardize:
            return np.zeros(X.shape[1]), np.ones(X.shape[1]), n + len(X)
        with np.errstate(over="ignore", invalid="ignore"):
            mean, var, n = _incremental_mean_and_var(
                X, last_mean=mean, last_variance=var, last_sample_count=np.full(X.shape[1], n)
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var))):
            raise ValueError(
                "Feature statistics overflowed: X has values too large to standardize "
                "in float64 (e.g. 1e200). Rescale those features before fitting."
            )
        return mean, var, int(n[0])

    def _standardized(self, X, mean, scale, dtype):
        """``(X - mean) / scale`` as a new C-contiguous array of ``dtype``, by chunks."""
        out = np.empty(X.shape, dtype=dtype)
        step = self._chunk_rows(X.shape[1])
        for start in range(0, len(X), step):
            rows = slice(start, start + step)
            out[rows] = (X[rows] - mean) / scale
        return out

    @_atomic
    def _fit(self, X, *, incremental):
        """Train on validated rows ``X``; one epoch if ``incremental``."""
        fitted = hasattr(self, "net_")
        first_call = not fitted or not (incremental or self.warm_start)
        X = validate_data(self, X, reset=first_call, dtype=[np.float64, np.float32])
        if first_call and not incremental and isinstance(self.n_components, float):
            best, scores = search_n_components(self, X, _draw_seed(self.random_state))
            fitted_state = {k: v for k, v in vars(best).items() if k not in best.get_params()}
            fitted_state.pop("feature_names_in_", None)
            vars(self).update(fitted_state)
            self.n_components_scores_ = scores
            self.retained_variance_ratio_ = scores[self.n_components_]
            return X

        mean, var, n_seen = self._update_statistics(X, first_call)
        scale = _handle_zeros_in_scale(np.sqrt(var)) if self.standardize else var
        if first_call:
            device = _resolve_device(self.device)
        else:
            n_components, device = self.n_components_, self.device_
            if not incremental:  # warm start keeps the units the model was trained in
                mean, scale, n_seen = self.mean_, self.scale_, self.n_samples_seen_
        with np.errstate(over="ignore"):  # an overflow is reported just below
            X_std = self._standardized(X, mean, scale, np.float32)
        if not np.all(np.isfinite(X_std)):
            raise ValueError(
                "X has values too large for float32 training "
                + ("after standardization " if self.standardize else "")
                + f"(beyond {np.finfo(np.float32).max:.1e} in absolute value). "
                + ("Rescale those features." if self.standardize else "Use standardize=True.")
            )
        if first_call:
            n_components = self._check_n_components(X_std)

        seed = _draw_seed(self.random_state)
        early_stopping = self.early_stopping and not incremental
        batch_size = min(200, len(X)) if self.batch_size == "auto" else self.batch_size
        with _torch_seeded(seed, device):
            if first_call:
                net = _AutoencoderNet(
                    self._build_module(X_std, n_components, seed),
                    seed=seed,
                    optimizer=torch.optim.Adam,
                    lr=self.learning_rate_init,
                    optimizer__weight_decay=self.alpha,
                    optimizer__fused=_fused_adam(device),
                    batch_size=batch_size,
                    max_epochs=self.max_iter,
                    device=device,
                    verbose=self.verbose,
                    callbacks=self._callbacks(),
                ).initialize()
            else:
                net = copy.deepcopy(self.net_)  # a failed fit leaves the fitted model intact
                net.batch_size = batch_size
                net.seed = seed
                monitor = dict(net.callbacks_)["monitor"]
                monitor.set_params(tol=self.tol, n_iter_no_change=self.n_iter_no_change)
            net.validation_fraction = self.validation_fraction if early_stopping else None
            status = net.train_epochs(
                torch.from_numpy(X_std).to(device),
                epochs=1 if incremental else self.max_iter,
                restart=not incremental,
            )

        history = net.history
        self.n_components_scores_ = None
        self.net_ = net
        self.device_ = device
        self.n_components_ = n_components
        self.mean_, self.scale_, self._var, self.n_samples_seen_ = mean, scale, var, n_seen
        self.loss_curve_ = list(history[:, "train_loss"]) if len(history) else []
        self.n_iter_ = len(self.loss_curve_)
        if early_stopping:
            self.validation_scores_ = (
                [-v for v in history[:, "valid_loss"]] if len(history) else []
            )
            self.best_validation_score_ = max(self.validation_scores_, default=None)
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_, default=None)

        if not incremental:
            self.retained_variance_ratio_ = self._retained_variance_ratio(X)
        if status == "interrupted":
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=3)
        elif status == "max_iter" and not incremental:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return X

    def _callbacks(self):
        from skorch.callbacks import ProgressBar

        callbacks = [
            (
                "monitor",
                _Monitor(
                    tol=self.tol,
                    n_iter_no_change=self.n_iter_no_change,
                    verbose=self.verbose,
                ),
            )
        ]
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    # -- inference ----------------------------------------------------------------

    @staticmethod
    def _chunk_rows(width):
        return max(1, _CHUNK_BYTES // (8 * max(width, 1)))

    def _map_rows(self, X, fn, n_out, out_dtype, *, standardize=True):
        """Apply ``fn(module, rows)`` to ``X`` by chunks of rows, in eval mode.

        The computation runs in float32 for float32 ``X`` and in float64
        otherwise (on a float64 copy of the module), so results do not depend on
        the number of rows per call. The output is preallocated and the rows are
        standardized chunk by chunk in the compute dtype, so memory beyond the
        output stays bounded by one chunk whatever the size of ``X``.
        """
        compute = torch.float32 if X.dtype == np.float32 else torch.float64
        module = self.net_.module_
        if compute != next(module.parameters()).dtype:
            module = copy.deepcopy(module).to(compute)
        module.eval()
        device = self.net_.device
        if standardize:
            mean = torch.as_tensor(self.mean_, dtype=compute, device=device)
            scale = torch.as_tensor(self.scale_, dtype=compute, device=device)
        out = np.empty((len(X), n_out), dtype=out_dtype)
        step = self._chunk_rows(max(X.shape[1], n_out))
        with torch.inference_mode():
            for start in range(0, len(X), step):
                rows = np.ascontiguousarray(X[start : start + step])
                if not rows.flags.writeable:  # torch only wraps writeable arrays
                    rows = rows.copy()
                rows = torch.from_numpy(rows).to(device=device, dtype=compute)
                if standardize:
                    rows = (rows - mean) / scale
                result = fn(module, rows)
                if not torch.isfinite(result).all():
                    raise _overflow_error(str(compute).removeprefix("torch."))
                out[start : start + len(rows)] = result.cpu().numpy()
        return out

    def _validated(self, X):
        check_is_fitted(self)
        return self._validate_rows(X)

    def _validate_rows(self, X):
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def _retained_variance_ratio(self, X):
        """Fraction of the variance of validated rows ``X`` that the reconstruction keeps.

        Measured in standardized units: one minus the reconstruction's squared
        error over the rows' squared deviation from their own mean.
        """
        total = 0.0
        step = self._chunk_rows(X.shape[1])
        centre = (X.mean(axis=0) - self.mean_) / self.scale_
        for start in range(0, len(X), step):
            rows = (X[start : start + step] - self.mean_) / self.scale_
            total += float(np.sum((rows - centre) ** 2))
        error = float(np.sum(self._errors(X))) * X.shape[1]
        return 1.0 - error / total if total > 0 else 1.0

    def _encode(self, X):
        return self._map_rows(X, lambda m, x: m.encode(x), self.n_components_, X.dtype)

    def _errors(self, X, per_feature=False):
        """Squared reconstruction errors in standardized units, float64."""

        def squared_error(module, x):
            out = module(x)
            reconstruction = out[0] if isinstance(out, tuple) else out
            err = (reconstruction.double() - x.double()) ** 2
            return err if per_feature else err.mean(dim=1, keepdim=True)

        width = X.shape[1] if per_feature else 1
        errors = self._map_rows(X, squared_error, width, np.float64)
        return errors if per_feature else errors[:, 0]

    def transform(self, X):
        """Encode ``X`` into its latent codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            The codes, float32 for float32 input and float64 otherwise.
        """
        return self._encode(self._validated(X))

    def reconstruction_error(self, X, per_feature=False):
        """Squared error of the reconstruction of each row.

        Errors are measured in standardized units when ``standardize=True``, so
        every feature weighs the same whatever its scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to reconstruct.
        per_feature : bool, default=False
            Whether to return the error of every feature rather than the mean
            over features. Large entries show which features a row failed to
            reconstruct.

        Returns
        -------
        errors : ndarray of shape (n_samples,) or (n_samples, n_features)
            Float64 squared errors.
        """
        return self._errors(self._validated(X), per_feature=per_feature)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        return tags
