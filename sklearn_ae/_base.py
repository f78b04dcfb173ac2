"""Shared parameters, fit orchestration and batched inference of both estimators."""

import contextlib
import copy
import functools
import inspect
import math
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._data import (
    _Blocks,
    _SparseRows,
    _split_indices,
    column_extremes,
    issparse,
    mean_and_variance,
)
from ._losses import elementwise_loss, output_link
from ._modules import (
    CodeActivation,
    ConvAutoencoder,
    MLPAutoencoder,
    VariationalAutoencoder,
)
from ._net import _AutoencoderNet, _fused_adam, _Monitor
from ._params import SHARED_CONSTRAINTS
from ._pca import PrincipalAxes
from ._persistence import PortableStateMixin
from ._search import search_n_components
from ._validation import (
    InvalidParameterError,
    _handle_zeros_in_scale,
    _incremental_mean_and_var,
    check_is_fitted,
    validate_data,
)

# Rows per inference chunk: about 8 MiB of float64 input per chunk, so memory stays
# bounded on large X while each chunk is large enough for efficient matrix products.
_CHUNK_BYTES = 8 * 2**20

# n_components=None: as many components as PCA needs for this fraction of the
# variance of the scaled training data.
_DEFAULT_VARIANCE = 0.95


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
            "device='cpu', or device='auto' to fall back to the CPU."
        )
    return resolved


def _reconstruction(module, x):
    """The module's reconstruction of ``x`` (without the penalty a forward may add)."""
    out = module(x)
    return out[0] if isinstance(out, tuple) else out


def _chunks(X_std, rows):
    """Standardized rows chunk by chunk: the blocks of a ``_Blocks``, else slices of a tensor.

    ``_SparseRows`` are densified ``rows`` at a time, at the bounds of a tensor's slices.
    """
    if isinstance(X_std, _Blocks):
        return (X_std.block(b) for b in range(X_std.n_blocks))
    if isinstance(X_std, _SparseRows):
        return X_std.chunks(rows)
    return torch.split(X_std, rows)


def _training_chunks(X_std, validation_fraction, seed):
    """The training side of the net's seeded split of ``X_std``, chunk by chunk.

    All rows without a validation fraction; the same rows the net trains on
    otherwise (``_split_indices``, or the training part of each block).
    """
    rows = _BaseAutoencoder._chunk_rows(X_std.shape[1])
    if isinstance(X_std, _Blocks):
        return _chunks(X_std.split(validation_fraction, seed)[0], rows)
    if not validation_fraction:
        return _chunks(X_std, rows)
    train = _split_indices(len(X_std), validation_fraction, seed)[0].sort().values
    return (X_std.index_select(0, index.to(X_std.device)) for index in torch.split(train, rows))


class _BaseAutoencoder(
    PortableStateMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Parameters, training and inference shared by the estimators.

    Both estimators encode rows into ``n_components`` latent features, so both
    are transformers: ``transform``, ``get_feature_names_out`` and ``set_output``
    live here.
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
        init="pca",
        standardize="global",
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

    def _check_single_feature(self, n_features):
        """Both estimators' answer on one column: only ``n_components=1`` fits it."""
        if n_features == 1 and self.n_components != 1:
            raise ValueError(
                f"X has a single feature (n_features=1): a code of one feature "
                f"reconstructs it exactly and n_components={self.n_components!r} has "
                "nothing to choose from. Pass n_components=1 to fit a one-feature "
                "model anyway."
            )

    def _check_n_components(self, shape, principal_axes):
        """The code size for standardized training rows of ``shape``.

        An int must lie between 1 and ``min(n_samples, n_features)``, as for
        ``PCA``: rows that span fewer dimensions cannot determine more. None
        and a fraction always give a size in that range. ``principal_axes()``
        gives the rows' ``PrincipalAxes``, for a size set by a fraction of
        variance.
        """
        n_samples, n_features = shape
        if self.n_components is None or isinstance(self.n_components, float):
            if n_samples < 2:
                return 1
            axes = principal_axes()
            fraction = self.n_components or _DEFAULT_VARIANCE
            size = axes.n_components_for(fraction)
            if axes.capped:
                warnings.warn(
                    f"{100 * fraction:g} % of the variance needs more than {size} principal axes, "
                    f"the most computed for rows of {n_features} features: n_components_ "
                    f"is {size}. Pass n_components as an int to choose the size.",
                    UserWarning,
                    stacklevel=4,
                )
            return min(size, n_samples, n_features)
        if self.n_components > min(n_samples, n_features):
            raise ValueError(
                f"n_components={self.n_components} must be between 1 and "
                f"min(n_samples, n_features)={min(n_samples, n_features)}; X has "
                f"n_samples={n_samples} and n_features={n_features}."
            )
        return self.n_components

    def _build_module(self, n_features, n_components, principal_axes=None):
        """Instantiate the module for training rows of ``n_features``.

        ``principal_axes()`` gives the ``PrincipalAxes`` of the standardized
        training rows, for ``init="pca"``; it is not called otherwise.
        """
        if self.module is None:
            module = self._builtin_module(n_features, n_components)
        elif isinstance(self.module, torch.nn.Module):
            return copy.deepcopy(self.module)  # starts from its own weights
        elif issubclass(self.module, torch.nn.Module):
            module = self.module(
                n_features=n_features, n_components=n_components, **(self.module_params or {})
            )
        else:
            raise InvalidParameterError(
                f"module must be a torch.nn.Module subclass, got {self.module!r}."
            )
        self._init_linear_path(module, n_components, principal_axes)
        if self.module is None and self.sparsity is not None:
            module = CodeActivation(module, "logistic" if self.sparsity == "kl" else "relu")
        return module

    def _init_linear_path(self, module, n_components, principal_axes):
        """Set ``module``'s linear path to PCA's solution, for ``init="pca"``.

        Returns whether it did: only modules defining ``init_linear_path`` have
        one (a sparse model's is that of the autoencoder inside it).
        """
        module = getattr(module, "_orig_mod", module)  # compiled
        module = getattr(module, "autoencoder", module)  # CodeActivation
        if self.init != "pca" or not hasattr(module, "init_linear_path"):
            return False
        components, mean, variances = principal_axes().components(n_components)
        kwargs = {}
        signature = inspect.signature(module.init_linear_path)
        if self.loss == "squared_error" and "explained_variance" in signature.parameters:
            kwargs["explained_variance"] = torch.from_numpy(variances)
        module.init_linear_path(torch.from_numpy(components), torch.from_numpy(mean), **kwargs)
        return True

    def _builtin_module(self, n_features, n_components):
        """The built-in module selected by ``image_shape`` and ``variational``."""
        params = self.module_params or {}
        if self.image_shape is not None:
            shape = self._image_shape(n_features)
            return ConvAutoencoder(
                n_features, n_components, shape, activation=self.activation, **params
            )
        hidden = self._hidden_layer_sizes(n_features)
        if self.variational:
            return VariationalAutoencoder(
                n_features, n_components, hidden, self.activation, beta=self.beta, **params
            )
        return MLPAutoencoder(n_features, n_components, hidden, self.activation, **params)

    def _image_shape(self, n_features):
        """``image_shape`` with its -1 entry resolved for rows of ``n_features``."""
        shape = tuple(self.image_shape)
        known = [s for s in shape if s != -1]
        valid = (
            len(shape) in (2, 3)
            and all(isinstance(s, Integral) and (s >= 1 or s == -1) for s in shape)
            and len(known) >= len(shape) - 1
            and n_features % math.prod(known) == 0
        )
        if valid:
            shape = tuple(int(n_features // math.prod(known)) if s == -1 else s for s in shape)
        if not valid or math.prod(shape) != n_features:
            raise ValueError(
                f"image_shape={self.image_shape!r} does not fit rows of {n_features} "
                "features: give (channels, height, width) or (channels, length) of "
                "positive integers whose product is the number of features (one entry "
                "may be -1)."
            )
        return shape

    def _check_family(self, X):
        """Errors for combinations of the model-family parameters that cannot work."""
        if self.module is not None and (self.variational or self.image_shape is not None):
            raise ValueError(
                "variational=True and image_shape select a built-in module; with a "
                "custom module, build those features into the module itself."
            )
        if isinstance(self.module, torch.nn.Module) and self.module_params:
            raise ValueError(
                "module_params apply to a module class; a module instance is used as given."
            )
        if self.variational and (self.image_shape is not None or self.sparsity is not None):
            raise ValueError("variational=True cannot be combined with image_shape or sparsity.")
        if self.noise == "mask" and self.noise_level >= 1:
            raise ValueError(
                f"noise='mask' needs noise_level below 1 (the fraction of entries "
                f"masked), got {self.noise_level}."
            )
        if self.loss == "binary_crossentropy":
            if self.standardize:
                raise ValueError(
                    "loss='binary_crossentropy' needs data in [0, 1]: set "
                    "standardize=False (and scale X into [0, 1], e.g. with MinMaxScaler)."
                )
            if X.size and (X.min() < 0 or X.max() > 1):
                raise ValueError(
                    "loss='binary_crossentropy' needs X in [0, 1]; got values in "
                    f"[{X.min()}, {X.max()}]. Scale X, e.g. with MinMaxScaler."
                )

    def _configure_net(self, net):
        """Set the loss and the training-only regularisation of ``net`` from the parameters."""
        net.criterion_.loss = self.loss
        net.noise, net.noise_level = self.noise, self.noise_level
        net.sparsity, net.sparsity_weight = self.sparsity, self.sparsity_weight
        net.sparsity_target = self.sparsity_target
        if self.module is None and self.variational:
            net.module_.beta = self.beta

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
        """``(X - mean) / scale`` as a new C-contiguous array of ``dtype``, by chunks.

        Sparse ``X`` is densified one chunk at a time.
        """
        out = np.empty(X.shape, dtype=dtype)
        step = self._chunk_rows(X.shape[1])
        for start in range(0, X.shape[0], step):
            rows = slice(start, start + step)
            chunk = X[rows]
            out[rows] = ((chunk.toarray() if issparse(chunk) else chunk) - mean) / scale
        return out

    def _standardized_rows(self, X, mean, scale, device):
        """Standardized float32 rows of validated ``X`` on ``device``, for training and PCA.

        A tensor for an array; a ``_SparseRows`` for sparse ``X``, densified
        a batch or a chunk at a time.
        """
        if issparse(X):
            standardize = functools.partial(
                self._standardized, mean=mean, scale=scale, dtype=np.float32
            )
            return _SparseRows(X, mean, scale, standardize, device)
        return torch.from_numpy(self._standardized(X, mean, scale, np.float32)).to(device)

    def _principal_axes(self, X_std, validation_fraction=None, seed=0):
        """``PrincipalAxes`` of standardized rows (a tensor, ``_Blocks`` or ``_SparseRows``).

        With a ``validation_fraction``, of the training side of the net's
        seeded split only (see ``_training_chunks``).
        """
        if isinstance(X_std, _SparseRows):
            if validation_fraction:
                train = _split_indices(len(X_std), validation_fraction, seed)[0]
                X_std = X_std.subset(train.sort().values.numpy())
            return X_std.principal_axes(self._chunk_rows(X_std.shape[1]))
        return PrincipalAxes(lambda: _training_chunks(X_std, validation_fraction, seed))

    @_atomic
    def _fit(self, X, *, incremental):
        """Train on validated rows ``X``; one epoch if ``incremental``."""
        fitted = hasattr(self, "net_")
        first_call = not fitted or not (incremental or self.warm_start)
        # A memmap larger than one block is read by blocks, never copied whole; a
        # smaller one takes the in-memory path and fits exactly as an array would.
        streamed = isinstance(X, np.memmap) and X.nbytes > _CHUNK_BYTES
        X = self._validate_rows(X, reset=first_call)
        self._check_family(X)
        if first_call:
            self._check_single_feature(X.shape[1])
        if first_call and not incremental and isinstance(self.n_components, float):
            best, scores = search_n_components(self, X, _draw_seed(self.random_state))
            fitted_state = {k: v for k, v in vars(best).items() if k not in best.get_params()}
            fitted_state.pop("feature_names_in_", None)
            vars(self).update(fitted_state)
            self.n_components_scores_ = scores
            self.retained_variance_ratio_ = scores[self.n_components_]
            return X

        mean, var, n_seen = self._update_statistics(X, first_call)
        scale = self._scale(var)
        if first_call:
            device = _resolve_device(self.device)
        else:
            n_components, device = self.n_components_, self.device_
            if not incremental:  # warm start keeps the units the model was trained in
                mean, scale, n_seen = self.mean_, self.scale_, self.n_samples_seen_
        batch_size = min(200, X.shape[0]) if self.batch_size == "auto" else self.batch_size
        if streamed:  # blocks of a whole number of batches
            X_std = _Blocks(
                X,
                lambda rows: self._standardized(rows, mean, scale, np.float32),
                block_rows=max(1, self._chunk_rows(X.shape[1]) // batch_size) * batch_size,
                device=device,
            )
        else:
            # sparse X overflows exactly where its columns' extremes do
            checked = column_extremes(X) if issparse(X) else X
            with np.errstate(over="ignore"):  # an overflow is reported just below
                X_std = self._standardized(checked, mean, scale, np.float32)
            if not np.all(np.isfinite(X_std)):
                raise ValueError(
                    "X has values too large for float32 training "
                    + ("after standardization " if self.standardize else "")
                    + f"(beyond {np.finfo(np.float32).max:.1e} in absolute value). "
                    + (
                        "Rescale those features."
                        if self.standardize
                        else "Use standardize='global'."
                    )
                )
            if issparse(X):
                X_std = self._standardized_rows(X, mean, scale, device)
            else:
                X_std = torch.from_numpy(X_std).to(device)
        seed = _draw_seed(self.random_state)
        early_stopping = self.early_stopping and not incremental
        validation_fraction = self.validation_fraction if early_stopping else None
        if first_call:
            # PCA of the rows that training sees: a start fitted to the validation
            # rows too would beat every later epoch on them by having seen them.
            principal_axes = functools.cache(
                lambda: self._principal_axes(X_std, validation_fraction, seed)
            )
            n_components = self._check_n_components(X_std.shape, principal_axes)

        with _torch_seeded(seed, device):
            if first_call:
                module = self._build_module(X.shape[1], n_components, principal_axes)
                net = self._make_net(module, seed, batch_size, device).initialize()
            else:
                net = copy.deepcopy(self.net_)  # a failed fit leaves the fitted model intact
                net.batch_size = batch_size
                net.seed = seed
                monitor = dict(net.callbacks_)["monitor"]
                monitor.set_params(
                    tol=self.tol, n_iter_no_change=self.n_iter_no_change, verbose=self.verbose
                )
                # the optimizer's moments carry over; its settings follow the parameters
                for group in net.optimizer_.param_groups:
                    group.update(lr=self.learning_rate_init, weight_decay=self.alpha)
            net.validation_fraction = validation_fraction
            self._configure_net(net)
            status = net.train_epochs(
                X_std,
                epochs=1 if incremental else self.max_iter,
                restart=not incremental,
            )
            if first_call and validation_fraction and net.kept_start_:
                # no epoch beat the start, PCA of the training split, beyond
                # chance: the model is PCA's solution on all the rows instead
                self._init_linear_path(
                    net.module_,
                    n_components,
                    lambda: self._principal_axes(X_std),
                )
            noise_variance = None
            if self._models_observation_noise and hasattr(net.module_, "kl_divergence"):
                noise_variance = self._observation_noise_of(net, X_std)

        history = net.history
        self.n_components_scores_ = None
        self.net_ = net
        if first_call:  # loading a saved model rebuilds its module from them
            self._params_at_fit = copy.deepcopy(self.get_params(deep=False))
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

        if self._models_observation_noise:
            if noise_variance is not None:
                noise_variance = noise_variance * scale**2  # original units
                previous = getattr(self, "noise_variance_", None)
                if not first_call and incremental and previous is not None:
                    # partial_fit: a running mean over the rows of every chunk
                    n_before = n_seen - X.shape[0]
                    noise_variance = (n_before * previous + X.shape[0] * noise_variance) / n_seen
            self.noise_variance_ = noise_variance
        if not incremental:
            self.retained_variance_ratio_ = self._retained_variance_of(X_std)
        if status == "interrupted":
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=3)
        elif status == "max_iter" and not incremental and self._warns_at_max_iter:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return X

    def _compile_params(self):
        """skorch's ``compile`` and ``compile__*`` parameters for ``self.compile``."""
        if isinstance(self.compile, dict):
            kwargs = self.compile
        elif self.compile:
            kwargs = {}
        else:
            return {}
        return {"compile": True, **{f"compile__{k}": v for k, v in kwargs.items()}}

    def _make_net(self, module, seed, batch_size, device):
        """The skorch net that trains ``module`` (not initialised)."""
        return _AutoencoderNet(
            module,
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
            **self._compile_params(),
        )

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
            # first, so the bar is closed before the monitor prints or stops training
            callbacks.insert(0, ("progress_bar", ProgressBar()))
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
        module = getattr(module, "_orig_mod", module)  # compiled: infer eagerly
        if compute != next(module.parameters()).dtype:
            module = copy.deepcopy(module).to(compute)
        module.eval()
        device = self.net_.device
        if standardize:
            mean = torch.as_tensor(self.mean_, dtype=compute, device=device)
            scale = torch.as_tensor(self.scale_, dtype=compute, device=device)
        out = np.empty((X.shape[0], n_out), dtype=out_dtype)
        step = self._chunk_rows(max(X.shape[1], n_out))
        with torch.inference_mode():
            for start in range(0, X.shape[0], step):
                rows = X[start : start + step]
                rows = rows.toarray() if issparse(rows) else np.ascontiguousarray(rows)
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
        """Fraction of the variance of standardized float32 rows that the reconstruction keeps.

        One minus the summed reconstruction ``loss`` over the rows' summed squared
        deviation from their own mean, in scaled units. ``X_std`` is a tensor
        on the net's device or a ``_Blocks`` of them; one float32 forward pass.
        """
        chunks = _chunks(X_std, self._chunk_rows(X_std.shape[1]))
        module = self.net_.module_
        module = getattr(module, "_orig_mod", module).eval()
        loss = self.net_.criterion_.loss
        # float32 sums within a chunk, float64 across chunks; the variance about the
        # rows' mean by the law of total variance (within and between chunks)
        error = scatter = between = 0.0
        n_rows, mean_sum = 0, np.zeros(X_std.shape[1])
        with torch.inference_mode():
            for x in chunks:
                reconstruction = _reconstruction(module, x)
                error += float(elementwise_loss(loss, reconstruction, x).sum())
                mean = x.mean(dim=0)
                scatter += float((x - mean).square().sum())
                mean = mean.cpu().numpy().astype(np.float64)
                between += len(x) * float(mean @ mean)
                mean_sum += len(x) * mean
                n_rows += len(x)
        total = scatter + between - float(mean_sum @ mean_sum) / n_rows
        return 1.0 - error / total if total > 0 else 1.0

    def _observation_noise_of(self, net, X_std):
        """Per-feature variance of a variational decoder's noise, in standardized units.

        The decoder of a VAE models each feature with a likelihood set by
        ``loss``: a Gaussian for the squared error, a Laplace distribution for
        the absolute error, a Bernoulli for the cross-entropy. The noise scale
        that maximises the ELBO is the mean training loss of each feature,
        decoding posterior samples (training mode): the Gaussian's variance,
        the Laplace's scale ``b`` (variance ``2 b**2``). For the Bernoulli the
        variance is the mean of ``p (1 - p)``. Draws the posterior samples
        from the global torch generator: call it under ``_torch_seeded``.
        """
        chunks = _chunks(X_std, self._chunk_rows(X_std.shape[1]))
        module = net.module_
        module = getattr(module, "_orig_mod", module).train()
        loss = net.criterion_.loss
        total = np.zeros(X_std.shape[1])
        try:
            with torch.no_grad():
                for x in chunks:
                    reconstruction = _reconstruction(module, x)
                    if loss == "binary_crossentropy":
                        p = torch.sigmoid(reconstruction)
                        error = p * (1 - p)
                    else:
                        error = elementwise_loss(loss, reconstruction, x)
                    total += error.sum(dim=0).double().cpu().numpy()
        finally:
            module.eval()
        mean = total / X_std.shape[0]
        return 2 * mean**2 if loss == "absolute_error" else mean

    def _encode(self, X):
        return self._map_rows(X, lambda m, x: m.encode(x), self.n_components_, X.dtype)

    def _errors(self, X, per_feature=False):
        """Reconstruction errors (the per-element ``loss``) in scaled units, float64."""
        loss = self.net_.criterion_.loss

        def error(module, x):
            reconstruction = _reconstruction(module, x)
            err = elementwise_loss(loss, reconstruction.double(), x.double())
            return err if per_feature else err.mean(dim=1, keepdim=True)

        width = X.shape[1] if per_feature else 1
        errors = self._map_rows(X, error, width, np.float64)
        return errors if per_feature else errors[:, 0]

    def _decode(self, Z):
        """Rows in original units decoded from codes ``Z``, of ``Z``'s dtype."""
        loss = self.net_.criterion_.loss
        decoded = self._map_rows(
            Z,
            lambda m, z: output_link(loss, m.decode(z)),
            self.n_features_in_,
            Z.dtype,
            standardize=False,
        )
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below
            decoded *= self.scale_.astype(Z.dtype)
            decoded += self.mean_.astype(Z.dtype)
        if not np.all(np.isfinite(decoded)):
            raise _overflow_error(Z.dtype.name)
        return decoded

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

    def reconstruction_error(self, X, per_feature=False):
        """Error of the reconstruction of each row, measured with ``loss``.

        Errors are measured in the units ``standardize`` sets: proportional
        to the input's own units with the default ``"global"`` (the units in
        which ``PCA`` is judged), with every feature weighing the same with
        ``"feature"``. With the default
        ``loss="squared_error"`` they are squared errors.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to reconstruct.
        per_feature : bool, default=False
            Whether to return the error of every feature rather than the mean
            over features. Large entries show which features a row failed to
            reconstruct.

        Returns
        -------
        errors : ndarray of shape (n_samples,) or (n_samples, n_features)
            Float64 errors.
        """
        return self._errors(self._validated(X), per_feature=per_feature)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        tags.target_tags.required = False
        return tags
