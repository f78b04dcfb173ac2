"""What the parameters build: the module, its PCA start and the skorch net that trains it.

``_ArchitectureMixin`` holds every decision between the estimator's parameters
and the objects that train: the code size (``_check_n_components``), the
built-in or user-supplied module (``_build_module``), its linear path set to
PCA's solution (``_init_linear_path``), the net with its optimizer and
callbacks (``_make_net``), and a fitted net resumed by ``warm_start`` or
``partial_fit`` (``_resumed_net``). A new built-in module is chosen in
``_builtin_module``; its class goes in ``_modules.py``.
"""

import copy
import functools
import inspect
import math
import warnings
from numbers import Integral

import numpy as np
import torch

from ._graph import MAX_COMPONENTS, fit_to_codes, geodesic_codes, sample_rows
from ._modules import (
    CodeActivation,
    ConvAutoencoder,
    MLPAutoencoder,
    VariationalAutoencoder,
)
from ._net import _AutoencoderNet, _fused_adam, _significant, training_callbacks
from ._validation import InvalidParameterError

# n_components=None: as many components as PCA needs for this fraction of the
# variance of the scaled training data.
_DEFAULT_VARIANCE = 0.95


# The parameters that fix a fitted model: its architecture, and the units its
# statistics are kept in. ``partial_fit`` and ``fit`` with ``warm_start``
# continue that model, so none of them may differ from their value at fit.
_FIXED_AT_FIT = (
    "n_components",
    "hidden_layer_sizes",
    "activation",
    "module",
    "module_params",
    "variational",
    "image_shape",
    "sparsity",
    "standardize",
)


def _same_value(current, fitted):
    """Whether a parameter's ``current`` value is its ``fitted`` one (a deep copy)."""
    if isinstance(current, torch.nn.Module):  # an instance is deep-copied at fit
        return type(current) is type(fitted)
    if isinstance(current, (list, tuple, np.ndarray)):
        return isinstance(fitted, (list, tuple, np.ndarray)) and np.array_equal(current, fitted)
    try:
        return bool(current == fitted) and type(current) is type(fitted)
    except (TypeError, ValueError):
        return False


class _ArchitectureMixin:
    """The module and net of an estimator, built from its parameters."""

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
                    stacklevel=5,
                )
            return min(size, n_samples, n_features)
        if self.n_components > min(n_samples, n_features):
            raise ValueError(
                f"n_components={self.n_components} must be between 1 and "
                f"min(n_samples, n_features)={min(n_samples, n_features)}; X has "
                f"n_samples={n_samples} and n_features={n_features}."
            )
        return self.n_components

    def _check_fixed_params(self, method):
        """Raise if a parameter that fixes the fitted model has changed since ``fit``.

        ``method`` names the call that would continue the model, for the message.
        """
        fitted = self._params_at_fit
        for name in _FIXED_AT_FIT:
            if name not in fitted or _same_value(getattr(self, name), fitted[name]):
                continue
            before, now = fitted[name], getattr(self, name)
            if name == "n_components" and before != self.n_components_:
                before = f"{before!r} (n_components_={self.n_components_})"
            else:
                before = repr(before)
            raise ValueError(
                f"{name} has changed from {before} to {now!r} since the model was "
                f"fitted, and {method} continues that model, whose {name} cannot "
                f"change. Set {name} back to {fitted[name]!r}, or fit a new model "
                "(fit with warm_start=False)."
            )

    def _build_module(self, n_features, n_components, principal_axes=None):
        """Instantiate the module for training rows of ``n_features``.

        ``principal_axes()`` gives the ``PrincipalAxes`` of the standardized
        training rows, for ``init="pca"`` or ``"graph"``; it is not called
        otherwise.
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

    def _linear_path_module(self, module):
        """The module whose linear path ``init`` sets to PCA's solution, or None.

        None for ``init="random"`` and for modules without ``init_linear_path``
        (a compiled module's is that of the original, a sparse model's that
        of the autoencoder inside it).
        """
        module = getattr(module, "_orig_mod", module)  # compiled
        module = getattr(module, "autoencoder", module)  # CodeActivation
        if self.init == "random" or not hasattr(module, "init_linear_path"):
            return None
        return module

    def _init_linear_path(self, module, n_components, principal_axes):
        """Set ``module``'s linear path to PCA's solution, for ``init="pca"`` or ``"graph"``.

        Returns whether it did (see ``_linear_path_module``).
        """
        module = self._linear_path_module(module)
        if module is None:
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

    def _new_net(self, X_std, validation_fraction, seed, batch_size, device, rows_pca=None):
        """A new initialised net for standardized training rows ``X_std``, and its code size.

        ``rows_pca``: None, or a callable returning the ``PrincipalAxes`` of
        every row of ``X_std`` (see ``_training_rows``). Call under
        ``_torch_seeded(seed, device)``: the module's weights are drawn there.
        """
        # PCA of the rows that training sees: a start fitted to the validation
        # rows too would beat every later epoch on them by having seen them.
        if rows_pca is None or validation_fraction:
            rows_pca = functools.partial(self._principal_axes, X_std, validation_fraction, seed)
        principal_axes = functools.cache(rows_pca)
        n_components = self._check_n_components(X_std.shape, principal_axes)
        module = self._build_module(X_std.shape[1], n_components, principal_axes)
        return self._make_net(module, seed, batch_size, device).initialize(), n_components

    def _graph_start(self, net, X_std, n_components, seed):
        """Move ``net`` from PCA's start to the graph start (``_graph``); return whether it did.

        Only for ``init="graph"``, the squared error, the built-in fully
        connected module with hidden layers, in-memory rows, a code of at
        most ``MAX_COMPONENTS`` dimensions and fewer than the features, and
        validation rows: the graph start is kept only if it reconstructs them
        better than PCA's start beyond chance (the test of early stopping).
        Without them (``early_stopping=False``, ``partial_fit``) nothing
        could check it.
        """
        module = getattr(net.module_, "_orig_mod", net.module_)  # compiled: its weights
        if not (
            self.init == "graph"
            and net.validation_fraction
            and self.loss == "squared_error"
            and type(module) is MLPAutoencoder
            and module.encoder.residual is not None
            and isinstance(X_std, torch.Tensor)
            and n_components <= min(MAX_COMPONENTS, X_std.shape[1] - 1)
        ):
            return False
        train_rows = net.get_split_datasets(X_std)[0]
        generator = torch.Generator().manual_seed(seed)
        rows = sample_rows(train_rows, generator)
        with torch.no_grad():
            start_codes = module.encode(rows)
        codes = geodesic_codes(rows.double().cpu().numpy(), start_codes.double().cpu().numpy())
        if codes is None:
            return False
        pca_start = copy.deepcopy(module.state_dict())
        pca_losses = net._validation_row_losses(X_std)
        fit_to_codes(
            module,
            rows,
            torch.as_tensor(codes, dtype=rows.dtype, device=rows.device),
            learning_rate=self.learning_rate_init,
            weight_decay=self.alpha,
            generator=generator,
            fused=_fused_adam(rows.device),
        )
        if _significant(pca_losses - net._validation_row_losses(X_std)):
            return True
        module.load_state_dict(pca_start)
        return False

    def _resumed_net(self, batch_size, seed):
        """A copy of the fitted net, to train on: a failed fit leaves the fitted model intact.

        The weights and the optimizer's moments carry over; the batch size,
        the stopping rule and the optimizer's settings follow the parameters.
        """
        net = copy.deepcopy(self.net_)
        net.batch_size = batch_size
        net.seed = seed
        monitor = dict(net.callbacks_)["monitor"]
        monitor.set_params(
            tol=self.tol, n_iter_no_change=self.n_iter_no_change, verbose=self.verbose
        )
        for group in net.optimizer_.param_groups:
            group.update(lr=self.learning_rate_init, weight_decay=self.alpha)
        return net

    def _configure_net(self, net):
        """Set the loss and the training-only regularisation of ``net`` from the parameters."""
        net.criterion_.loss = self.loss
        net.noise, net.noise_level = self.noise, self.noise_level
        net.sparsity, net.sparsity_weight = self.sparsity, self.sparsity_weight
        net.sparsity_target = self.sparsity_target
        if self.module is None and self.variational:
            net.module_.beta = self.beta

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
            callbacks=training_callbacks(self.tol, self.n_iter_no_change, self.verbose),
            **self._compile_params(),
        )
