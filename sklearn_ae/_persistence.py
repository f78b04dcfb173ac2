"""Portable persistence of the estimators: pickle, joblib and ``skops.io``.

A fitted estimator holds a skorch net (``net_``) whose own pickling nests
``torch.save`` archives of the module and the optimizer. Here the net travels
instead as plain data: the module's ``state_dict`` and the optimizer's state as
numpy arrays, the training history as lists and dicts of numbers, and the few
numbers of the net's bookkeeping. On load the module and the net are rebuilt
exactly as ``fit`` built them, from the estimator's parameters at fit time, and
the saved state is loaded into them. Hence:

- ``skops.io`` can save and load a model without trusting anything but the
  package's own classes (and a user's module class);
- a model trained on a GPU loads on a machine without one;
- ``partial_fit`` and ``warm_start`` continue after loading exactly as they
  would have continued before saving: the optimizer's state (Adam's moments)
  is kept.

Every saved state records the versions of this package and of torch; loading
under other versions warns with ``VersionMismatchWarning``. It also records the
format of the state itself (``_STATE_FORMAT``): loading an older format runs
the upgrade steps of ``_UPGRADES`` in order, so a model saved before an
attribute existed gets it on load.
"""

import warnings

import numpy as np
import torch
from skorch.history import History


class VersionMismatchWarning(UserWarning):
    """Warning raised when a model is loaded under other library versions.

    It is emitted when unpickling (``pickle``, ``joblib`` or ``skops.io``) an
    estimator saved with another version of ``sklearn_ae`` or of ``torch``.
    The model usually still works, but its outputs may differ and nothing
    guarantees it: refit the model, or load it with the versions it was saved
    with. ``warnings.simplefilter("error", VersionMismatchWarning)`` turns the
    warning into an error.

    Parameters
    ----------
    estimator_name : str
        Name of the estimator's class.
    package : str
        The package whose version differs: ``"sklearn_ae"`` or ``"torch"``.
    original_version : str
        Version of ``package`` the model was saved with.
    current_version : str
        Version of ``package`` it is loaded with.

    Attributes
    ----------
    estimator_name : str
        Name of the estimator's class.
    package : str
        The package whose version differs.
    original_version : str
        Version of ``package`` the model was saved with.
    current_version : str
        Version of ``package`` it is loaded with.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_ae import VersionMismatchWarning
    >>> warning = VersionMismatchWarning(
    ...     estimator_name="AutoencoderTransformer",
    ...     package="torch",
    ...     original_version="2.1.0",
    ...     current_version="2.5.0",
    ... )
    >>> print(warning)
    Trying to load AutoencoderTransformer saved with torch 2.1.0 under torch 2.5.0. \
This might lead to breaking code or invalid results. Use at your own risk.
    """

    def __init__(self, *, estimator_name, package, original_version, current_version):
        super().__init__(estimator_name, package, original_version, current_version)
        self.estimator_name = estimator_name
        self.package = package
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self):
        return (
            f"Trying to load {self.estimator_name} saved with {self.package} "
            f"{self.original_version} under {self.package} {self.current_version}. "
            "This might lead to breaking code or invalid results. Use at your own risk."
        )


# The format of the saved state; raise it with an upgrade step in _UPGRADES when
# a fitted attribute is added that older models lack.
_STATE_FORMAT = 5


def _add_noise_variance(state, estimator):
    """Format 1 -> 2: models saved before ``noise_variance_`` existed get it.

    ``fit`` estimates it from the training rows, which a loaded model no longer
    has; the decoder's own likelihood gives it instead. A variational model
    trained with ``beta`` on the squared error is a Gaussian decoder of
    variance ``beta / 2`` per feature in scaled units (the training loss is its
    negative log-likelihood up to a factor), on the absolute error a Laplace
    decoder of scale ``beta`` (variance ``2 beta**2``); both are converted to
    original units with ``scale_``. Other models get None, as ``fit`` gives them.
    """
    if not getattr(estimator, "_models_observation_noise", False):
        return
    if "noise_variance_" in state or "net_" not in state:
        return
    params = state.get("_params_at_fit", {})
    variance = None
    if params.get("variational") and params.get("loss") != "binary_crossentropy":
        beta = params.get("beta", 1.0)
        variance = beta / 2 if params.get("loss") == "squared_error" else 2 * beta**2
        variance = variance * np.asarray(state["scale_"], dtype=np.float64) ** 2
    state["noise_variance_"] = variance


def _add_improvement_over_start(state, estimator):
    """Format 2 -> 3: models saved before ``improvement_over_start_`` get None (not known)."""
    if "net_" in state:
        state.setdefault("improvement_over_start_", None)


def _add_latent_references(state, estimator):
    """Format 3 -> 4: detectors saved before the neighbour density get none.

    Their scores stay what they were: the codes' Mahalanobis distance alone
    (``latent_references_`` None); ``support_`` is not known.
    """
    if "latent_mean_" in state:
        state.setdefault("latent_references_", None)
        state.setdefault("support_", None)


def _add_score_members(state, estimator):
    """Format 4 -> 5: detectors saved before the one-scale member get none.

    Their scores stay what they were: minus half the network member's
    terms (``score_location_`` None).
    """
    if "latent_mean_" in state:
        for name in _ONE_SCALE_ATTRIBUTES:
            state.setdefault(name, None)


# The detector's attributes of the one-scale member and of the members' combination.
_ONE_SCALE_ATTRIBUTES = (
    "one_scale_mean_",
    "one_scale_",
    "one_scale_components_",
    "one_scale_residual_axes_",
    "one_scale_latent_mean_",
    "one_scale_latent_precision_",
    "one_scale_noise_variance_",
    "one_scale_latent_references_",
    "one_scale_n_neighbors_",
    "one_scale_latent_log_radius_",
    "one_scale_latent_median_distance_",
    "score_location_",
    "score_spread_",
)

# Step k upgrades a state of format k to format k + 1 (in place).
_UPGRADES = {
    1: _add_noise_variance,
    2: _add_improvement_over_start,
    3: _add_latent_references,
    4: _add_score_members,
}


def upgrade_state(state, estimator):
    """Bring a saved ``state`` of any earlier format to ``_STATE_FORMAT`` (in place).

    States saved before formats were recorded are format 1.
    """
    for version in range(state.pop("_format", 1), _STATE_FORMAT):
        _UPGRADES[version](state, estimator)
    return state


def _current_versions():
    from . import __version__

    return {"sklearn_ae": __version__, "torch": torch.__version__}


def add_versions(state):
    """Record the versions of this package and of torch, and the state's format (in place)."""
    state["_versions"] = _current_versions()
    state["_format"] = _STATE_FORMAT
    return state


def check_versions(state, estimator_name):
    """Pop the versions recorded in ``state`` and warn for each that differs."""
    saved = state.pop("_versions", {})
    for package, current in _current_versions().items():
        original = saved.get(package, "unknown")
        if original != current:
            warnings.warn(
                VersionMismatchWarning(
                    estimator_name=estimator_name,
                    package=package,
                    original_version=original,
                    current_version=current,
                ),
                stacklevel=3,
            )


def _to_numpy(tensor):
    tensor = tensor.detach().cpu()
    try:
        return tensor.numpy()
    except TypeError:  # a dtype numpy lacks (bfloat16, ...): loading casts it back
        return tensor.float().numpy()


def _map_leaves(obj, leaf_type, convert):
    """``obj`` with every ``leaf_type`` inside dicts, lists and tuples converted."""
    if isinstance(obj, leaf_type):
        return convert(obj)
    if isinstance(obj, dict):
        return {key: _map_leaves(value, leaf_type, convert) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_leaves(value, leaf_type, convert) for value in obj)
    return obj


def _plain(obj):
    """``obj`` with every tensor replaced by a numpy array, recursively."""
    return _map_leaves(obj, torch.Tensor, _to_numpy)


def _tensors(obj):
    """``obj`` with every numpy array replaced by a new tensor, recursively.

    The arrays are copied: they may be read-only (``joblib.load`` with
    ``mmap_mode``), and the optimizer updates its state in place.
    """
    return _map_leaves(obj, np.ndarray, torch.tensor)


def _is_number_like(value):
    return value is None or isinstance(value, (bool, int, float, str))


def _fitted_scalars(obj):
    """The fitted attributes (``name_``) of ``obj`` that are plain numbers or strings."""
    return {
        name: value
        for name, value in vars(obj).items()
        if name.endswith("_") and not name.startswith("_") and _is_number_like(value)
    }


def net_state(net):
    """Plain-data description of a trained net: arrays, numbers, lists and dicts.

    Parameters
    ----------
    net : skorch.NeuralNet
        An initialised net, as held in ``net_``.

    Returns
    -------
    state : dict
        What ``load_net_state`` needs to restore a freshly built net.
    """
    return {
        "device": str(net.device),
        "seed": net.seed,
        "batch_size": net.batch_size,
        "validation_fraction": net.validation_fraction,
        "module": {key: _to_numpy(value) for key, value in net.module_.state_dict().items()},
        "optimizer": _plain(net.optimizer_.state_dict()),
        "history": _plain([dict(row) for row in net.history]),
        "callbacks": {name: _fitted_scalars(callback) for name, callback in net.callbacks_},
    }


def load_net_state(net, state):
    """Load ``state`` (from ``net_state``) into a net built and initialised as ``fit`` does."""
    net.module_.load_state_dict(_tensors(state["module"]))
    net.optimizer_.load_state_dict(_tensors(state["optimizer"]))
    net.history = History(state["history"])
    net.validation_fraction = state["validation_fraction"]
    callbacks = dict(net.callbacks_)
    for name, attributes in state["callbacks"].items():
        if name in callbacks:
            for attribute, value in attributes.items():
                setattr(callbacks[name], attribute, value)
    return net


def loadable_device(saved, estimator_name):
    """The device to load a model saved on ``saved``: the same one, or the CPU.

    A CUDA device that this machine lacks falls back to the CPU with a warning,
    so a model trained on a GPU loads and predicts on a CPU-only machine.
    """
    device = torch.device(saved)
    if device.type == "cuda":
        index = device.index or 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            warnings.warn(
                f"{estimator_name} was trained on {saved}, which is not available "
                "here: it was loaded on the CPU.",
                UserWarning,
                stacklevel=3,
            )
            return torch.device("cpu")
    return device


class PortableStateMixin:
    """Pickling through plain data (see the module's docstring).

    The estimator must define ``_build_module(n_features, n_components)``,
    ``_make_net(module, seed, batch_size, device)`` and ``_configure_net(net)``
    as ``fit`` uses them, and record its parameters at fit time in
    ``_params_at_fit``.
    """

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never change the live __dict__
        if "net_" in state:
            state["net_"] = net_state(state["net_"])
            state["device_"] = str(state["device_"])
        return add_versions(state)

    def __setstate__(self, state):
        state = dict(state)
        name = type(self).__name__
        check_versions(state, name)
        upgrade_state(state, self)
        saved_net = state.pop("net_", None)
        super().__setstate__(state)
        if saved_net is None:
            return
        device = loadable_device(saved_net["device"], name)
        # Rebuild the module and the net with the parameters ``fit`` used,
        # without touching the global random state; the saved weights then
        # replace the fresh ones.
        template = type(self)(**{**self._params_at_fit, "init": "random"})
        with torch.random.fork_rng(devices=[]):
            module = template._build_module(self.n_features_in_, self.n_components_)
        net = template._make_net(module, saved_net["seed"], saved_net["batch_size"], device)
        self.net_ = load_net_state(net.initialize(), saved_net)
        template._configure_net(self.net_)  # the loss and regularisation fit trained with
        self.device_ = device
