"""The estimators' shared base: their parameters and ``fit`` as a flow of named steps.

``_BaseAutoencoder._fit`` reads top to bottom as the data flow of every fit:
validate X, settle the units (statistics and scale), make the training rows,
build or resume the net, train, record the fitted state. What the parameters
build (module, PCA start, net) lives in ``_architecture.py``; inference in
``_inference.py``; how rows are standardized, chunked and read in
``_data.py``; the losses in ``_losses.py``; the skorch training loop in
``_net.py``.
"""

import contextlib
import copy
import functools
import types
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._architecture import _ArchitectureMixin
from ._data import (
    _Blocks,
    chunks_of,
    column_extremes,
    issparse,
    mean_and_variance,
    principal_axes_of,
    standardized,
    standardized_rows,
)
from ._inference import _InferenceMixin
from ._losses import observation_noise, retained_variance
from ._params import SHARED_CONSTRAINTS
from ._persistence import PortableStateMixin
from ._search import search_n_components
from ._threads import adapt, on_one_blas_thread, threads_for, work_threads
from ._validation import (
    InvalidParameterError,
    _handle_zeros_in_scale,
    _incremental_mean_and_var,
    validate_data,
)

# Rows per chunk (statistics, standardization, PCA, inference): about 8 MiB of
# float64 input, so memory stays bounded on large X while each chunk is large
# enough for efficient matrix products.
_CHUNK_BYTES = 8 * 2**20


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
            "device='cpu', or device='auto' to fall back to the CPU."
        )
    return resolved


class _BaseAutoencoder(
    _ArchitectureMixin,
    _InferenceMixin,
    PortableStateMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Parameters, training and inference shared by the estimators.

    Both estimators encode rows into ``n_components`` latent features, so both
    are transformers: ``transform``, ``get_feature_names_out`` and
    ``set_output`` are shared. (``transform`` is defined here, not in
    ``_InferenceMixin``: scikit-learn wraps it for ``set_output`` only in a
    class derived from ``TransformerMixin``.)
    """

    # Whether fit estimates a variational decoder's observation noise
    # (``noise_variance_``), which ``sample`` adds.
    _models_observation_noise = False

    # Whether reaching max_iter without converging raises a ConvergenceWarning
    # (not for a detector, whose max_iter is a deliberately short budget).
    _warns_at_max_iter = True

    _parameter_constraints: dict = dict(SHARED_CONSTRAINTS)

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=None,
        activation="relu",
        init="graph",
        standardize="global",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=500,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        module=None,
        module_params=None,
        loss="squared_error",
        noise=None,
        noise_level=0.2,
        sparsity=None,
        sparsity_weight=0.1,
        sparsity_target=0.05,
        variational=False,
        beta=1.0,
        image_shape=None,
        device="cpu",
        random_state=None,
        verbose=0,
        compile=False,
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
        self.loss = loss
        self.noise = noise
        self.noise_level = noise_level
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.variational = variational
        self.beta = beta
        self.image_shape = image_shape
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.compile = compile

    def __init_subclass__(cls, **kwargs):
        # A subclass that inherits ``__init__`` gets a copy named after it, so that
        # a misspelled keyword raises "AutoencoderTransformer.__init__() got an
        # unexpected keyword argument", naming the class the user called.
        super().__init_subclass__(**kwargs)
        if "__init__" not in vars(cls):
            init = cls.__init__
            renamed = types.FunctionType(
                init.__code__, init.__globals__, init.__name__, init.__defaults__, init.__closure__
            )
            renamed.__kwdefaults__ = init.__kwdefaults__
            renamed.__doc__ = init.__doc__
            renamed.__qualname__ = f"{cls.__qualname__}.__init__"
            cls.__init__ = renamed

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

    def __setstate__(self, state):
        super().__setstate__(state)
        if hasattr(self, "net_"):  # a CUDA model unpickled without CUDA lives on the CPU
            self.device_ = torch.device(self.net_.device)

    # -- units: the statistics and scale the net trains in -----------------------

    def _update_statistics(self, X, first_call):
        """Per-feature mean, variance and count, updated with rows ``X``."""
        if first_call:
            mean, var, n = 0.0, 0.0, 0
        else:
            mean, var, n = self.mean_, self._var, self.n_samples_seen_
        if not self.standardize:
            return np.zeros(X.shape[1]), np.ones(X.shape[1]), n + X.shape[0]
        if issparse(X):  # on the sparse structure, implicit zeros counted
            mean, var, n = mean_and_variance(X, mean, var, n)
        else:
            n = np.full(X.shape[1], n)
            step = self._chunk_rows(X.shape[1])  # by blocks: bounded memory on a memmap
            with np.errstate(over="ignore", invalid="ignore"):
                for start in range(0, X.shape[0], step):
                    mean, var, n = _incremental_mean_and_var(
                        X[start : start + step],
                        last_mean=mean,
                        last_variance=var,
                        last_sample_count=n,
                    )
            n = int(n[0])
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var))):
            raise ValueError(
                "Feature statistics overflowed: X has values too large to standardize "
                "in float64 (e.g. 1e200). Rescale those features before fitting."
            )
        return mean, var, n

    def _scale(self, var):
        """The per-feature divisors (``scale_``) for feature variances ``var``.

        ``"global"`` divides every feature by one number, the root mean
        variance, so that squared errors keep the proportions of the input's
        own units (PCA's objective); ``"feature"`` (and ``True``) divides each
        feature by its own standard deviation. A zero scale becomes 1.
        """
        if self.standardize is False:
            return np.ones_like(var)
        if self.standardize == "global":
            return np.full_like(var, _handle_zeros_in_scale(np.sqrt(np.mean(var))))
        return _handle_zeros_in_scale(np.sqrt(var))

    def _standardized(self, X, mean, scale, dtype):
        """``(X - mean) / scale`` as a new C-contiguous ``dtype`` array: ``standardized``."""
        return standardized(X, mean, scale, dtype, self._chunk_rows(X.shape[1]))

    def _standardized_rows(self, X, mean, scale, device):
        """Standardized float32 rows of validated ``X`` on ``device``: ``standardized_rows``."""
        return standardized_rows(X, mean, scale, device, self._chunk_rows(X.shape[1]))

    def _principal_axes(self, X_std, validation_fraction=None, seed=0):
        """``PrincipalAxes`` of standardized rows (see ``principal_axes_of``)."""
        return principal_axes_of(
            X_std, self._chunk_rows(X_std.shape[1]), validation_fraction, seed
        )

    # -- fitting ----------------------------------------------------------------

    @_atomic
    @on_one_blas_thread
    def _fit(self, X, *, incremental):
        """Train on rows ``X``, for one epoch if ``incremental``; return the validated ``X``.

        A first fit builds the net. ``partial_fit`` after a fit, and ``fit``
        with ``warm_start``, resume the fitted one: that is ``resume``, the one
        branch between the two.
        """
        resume = hasattr(self, "net_") and (incremental or self.warm_start)
        # A memmap larger than one block is read by blocks, never copied whole; a
        # smaller one takes the in-memory path and fits exactly as an array would.
        streamed = isinstance(X, np.memmap) and X.nbytes > _CHUNK_BYTES
        if resume:
            self._check_fixed_params("partial_fit" if incremental else "fit with warm_start=True")
        X = self._validate_rows(X, reset=not resume)
        self._check_family(X)
        if not resume:
            self._check_single_feature(X.shape[1])
            if not incremental and isinstance(self.n_components, float):
                return self._fit_searched(X)

        units = self._training_units(X, resume=resume, incremental=incremental)
        device = self.device_ if resume else _resolve_device(self.device)
        batch_size = min(200, X.shape[0]) if self.batch_size == "auto" else self.batch_size
        X_std, rows_pca = self._training_rows(X, units, device, batch_size, streamed=streamed)
        seed = _draw_seed(self.random_state)
        early_stopping = self.early_stopping and not incremental
        validation_fraction = self.validation_fraction if early_stopping else None

        with _torch_seeded(seed, device):
            if resume:
                net, n_components = self._resumed_net(batch_size, seed), self.n_components_
            else:
                net, n_components = self._new_net(
                    X_std, validation_fraction, seed, batch_size, device, rows_pca
                )
            net.validation_fraction = validation_fraction
            self._configure_net(net)
            with work_threads(threads_for(batch_size, net.module_)):
                graph_start = not resume and self._graph_start(net, X_std, n_components, seed)
                status = net.train_epochs(
                    X_std,
                    epochs=1 if incremental else self.max_iter,
                    restart=not incremental,
                    after_epoch=adapt,
                )
            if not resume and validation_fraction and net.kept_start_ and not graph_start:
                # no epoch beat the start, PCA of the training split, beyond
                # chance: the model is PCA's solution on all the rows instead
                all_rows = rows_pca or functools.partial(self._principal_axes, X_std)
                self._init_linear_path(net.module_, n_components, all_rows)
            noise_variance = self._noise_variance(
                net, X_std, units, running=incremental and resume
            )

        self._record_fit(net, n_components, device, units, resume=resume)
        if self.verbose and self.improvement_over_start_ is not None:
            print(self._start_report(net, resume=resume, graph_start=graph_start), flush=True)
        if self._models_observation_noise:
            self.noise_variance_ = noise_variance
        if not incremental:
            self.retained_variance_ratio_ = self._retained_variance_of(X_std)
        self._warn_on(status, incremental)
        return X

    def _fit_searched(self, X):
        """Fit at the smallest code size keeping the fraction ``n_components`` of the variance."""
        best, scores = search_n_components(self, X, _draw_seed(self.random_state))
        fitted_state = {k: v for k, v in vars(best).items() if k not in best.get_params()}
        fitted_state.pop("feature_names_in_", None)
        vars(self).update(fitted_state)
        self._params_at_fit = copy.deepcopy(self.get_params(deep=False))  # not the clone's
        self.n_components_scores_ = scores
        self.retained_variance_ratio_ = scores[self.n_components_]
        return X

    def _training_units(self, X, *, resume, incremental):
        """``(mean, scale, var, n_samples_seen)``: the units the net trains in.

        A first fit computes them on ``X`` and ``partial_fit`` updates them
        with ``X``; a warm start keeps those the model was trained in.
        """
        if resume and not incremental:
            return self.mean_, self.scale_, self._var, self.n_samples_seen_
        mean, var, n_seen = self._update_statistics(X, first_call=not resume)
        return mean, self._scale(var), var, n_seen

    def _training_rows(self, X, units, device, batch_size, *, streamed):
        """The standardized float32 rows that training reads from validated ``X``, and their PCA.

        The rows: ``_Blocks`` of a ``streamed`` memmap (a whole number of
        batches per block), ``_SparseRows`` of sparse ``X``, else one tensor
        on ``device``. Their PCA: None, to be computed from them where needed
        (``_principal_axes``), or a callable returning the ``PrincipalAxes``
        of all these rows where a subclass has them already.
        """
        mean, scale, _, _ = units
        if streamed:
            blocks = _Blocks(
                X,
                lambda rows: self._standardized(rows, mean, scale, np.float32),
                block_rows=max(1, self._chunk_rows(X.shape[1]) // batch_size) * batch_size,
                device=device,
            )
            return blocks, None
        # sparse X overflows exactly where its columns' extremes do
        X_std = self._float32_standardized(column_extremes(X) if issparse(X) else X, units)
        if issparse(X):
            return self._standardized_rows(X, mean, scale, device), None
        return torch.from_numpy(X_std).to(device), None

    def _float32_standardized(self, rows, units):
        """``rows`` standardized in ``units``, as float32.

        Raises the ValueError training would hit where a value lies beyond
        float32's range once standardized.
        """
        mean, scale, _, _ = units
        with np.errstate(over="ignore"):  # an overflow is reported just below
            rows = self._standardized(rows, mean, scale, np.float32)
        if not np.all(np.isfinite(rows)):
            raise ValueError(
                "X has values too large for float32 training "
                + ("after standardization " if self.standardize else "")
                + f"(beyond {np.finfo(np.float32).max:.1e} in absolute value). "
                + ("Rescale those features." if self.standardize else "Use standardize='global'.")
            )
        return rows

    def _noise_variance(self, net, X_std, units, *, running):
        """``noise_variance_`` of a variational decoder trained on ``X_std``, in X's units.

        None for an estimator or module without one. ``running`` (``partial_fit``)
        averages it with the previous chunks' over all rows seen. Draws
        posterior samples from the global torch generator: call it under
        ``_torch_seeded``.
        """
        if not (self._models_observation_noise and hasattr(net.module_, "kl_divergence")):
            return None
        chunks = chunks_of(X_std, self._chunk_rows(X_std.shape[1]))
        variance = observation_noise(net.module_, net.criterion_.loss, chunks, X_std.shape[1])
        _, scale, _, n_seen = units
        variance = variance * scale**2  # original units
        previous = getattr(self, "noise_variance_", None)
        if running and previous is not None:
            n_new = len(X_std)
            variance = ((n_seen - n_new) * previous + n_new * variance) / n_seen
        return variance

    def _record_fit(self, net, n_components, device, units, *, resume):
        """Set the fitted attributes of a fit that trained ``net`` in ``units``."""
        self.net_ = net
        if not resume:  # loading a saved model rebuilds its module from them
            self._params_at_fit = copy.deepcopy(self.get_params(deep=False))
        self.device_ = device
        self.n_components_ = n_components
        self.n_components_scores_ = None
        self.mean_, self.scale_, self._var, self.n_samples_seen_ = units
        self.improvement_over_start_ = net.start_gain_
        history = net.history
        self.loss_curve_ = list(history[:, "train_loss"]) if len(history) else []
        self.n_iter_ = len(self.loss_curve_)
        if net.validation_fraction:
            self.validation_scores_ = (
                [-v for v in history[:, "valid_loss"]] if len(history) else []
            )
            self.best_validation_score_ = max(self.validation_scores_, default=None)
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_, default=None)

    def _start_report(self, net, *, resume, graph_start):
        """The line ``verbose`` prints on what training did to the start it was compared with."""
        if resume:
            start = "the previous model"
        elif graph_start:
            start = "the graph start"
        elif self._linear_path_module(net.module_) is not None:
            start = "PCA's start"
        else:
            start = "the initial weights"
        if net.kept_start_:
            pca = "; the model is PCA's solution for all the rows"
            pca = pca if start == "PCA's start" else ""
            return (
                f"Kept {start}: no epoch lowered the mean validation error beyond chance"
                f"{pca} (improvement_over_start_ = 0.0)."
            )
        return (
            f"Training lowered the mean validation error by {100 * net.start_gain_:.1f} % "
            f"from {start} (improvement_over_start_ = {net.start_gain_:.4f})."
        )

    def _warn_on(self, status, incremental):
        """The warning of a training that ended with ``status`` (see ``train_epochs``)."""
        if status == "interrupted":
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=4)
        elif status == "max_iter" and not incremental and self._warns_at_max_iter:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet: more epochs would still lower the error. Raise "
                "max_iter to train to convergence, or raise tol (or lower "
                "n_iter_no_change) to stop sooner.",
                ConvergenceWarning,
                stacklevel=4,
            )

    # -- rows and what the fitted net keeps of them ------------------------------------

    @staticmethod
    def _chunk_rows(width):
        """Rows per chunk of ``width`` features: about ``_CHUNK_BYTES`` of float64."""
        return max(1, _CHUNK_BYTES // (8 * max(width, 1)))

    def _validate_rows(self, X, reset=False):
        # scikit-learn's first finiteness check sums X: float32 values near the
        # dtype's limit make that sum inf - inf, whose warning is not the user's
        with np.errstate(invalid="ignore", over="ignore"):
            return validate_data(
                self, X, reset=reset, dtype=[np.float64, np.float32], accept_sparse="csr"
            )

    def _retained_variance_ratio(self, X):
        """Fraction of the variance of validated rows ``X`` that the reconstruction keeps."""
        X_std = self._standardized_rows(X, self.mean_, self.scale_, self.net_.device)
        return self._retained_variance_of(X_std)

    def _retained_variance_of(self, X_std):
        """Fraction of the variance of standardized rows that the reconstruction keeps.

        ``X_std`` is a tensor on the net's device, ``_Blocks`` or
        ``_SparseRows`` (see ``retained_variance``).
        """
        chunks = chunks_of(X_std, self._chunk_rows(X_std.shape[1]))
        net = self.net_
        return retained_variance(net.module_, net.criterion_.loss, chunks, X_std.shape[1])

    def transform(self, X):
        """Encode ``X`` into its latent codes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            The codes, float32 for float32 input and float64 otherwise.
        """
        return self._encode(self._validated(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        tags.target_tags.required = False
        return tags
