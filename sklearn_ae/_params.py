"""The parameters both estimators share: their documentation and their constraints.

Each estimator's file holds only what differs: ``fill_doc`` inserts the
shared numpydoc sections into a class docstring, replacing the entries whose
meaning or default differ, and ``SHARED_CONSTRAINTS`` is the common part of
``_parameter_constraints``. A new shared parameter is documented and
constrained here, once.
"""

import functools
import inspect
import re
from numbers import Integral, Real

import torch

from ._modules import ACTIVATIONS
from ._validation import Interval, IntervalNotBool, RealNotInt, StrOptions

SHARED_PARAMETERS = """\
n_components : int, float or None, default={n_components_default}
        Size of the code (latent space), as ``PCA``'s ``n_components``:

        - an int from 1 to ``min(n_samples, n_features)`` of the training rows
          (of the first chunk for ``partial_fit``, whose PCA initialises the
          model; later chunks may have any number of rows); a larger one
          raises ``PCA``'s ``ValueError``. Booleans are not sizes;
        - a float in (0, 1): the fraction of variance to keep. ``fit`` holds out
          a quarter of the rows (``validation_fraction`` if larger) and picks
          the smallest size whose
          reconstruction keeps at least that fraction of their variance,
          measured as ``PCA`` measures it (in the scaled units of
          ``standardize``: the input's own units, after centring, by default).
          It searches by bisection (about ``log2(k) + 1`` fits) up to PCA's
          size for the same fraction, never beyond it, and keeps PCA's size
          when even that size falls short on the held-out rows; the model of
          the chosen size, fitted on the other rows, is kept. ``partial_fit``
          takes PCA's size on its first chunk instead;
        - None: PCA's size for 95 % of the variance of the scaled training
          data.

        On a single column only ``n_components=1`` is accepted (any other
        value raises ``ValueError``, for both estimators): one feature has
        nothing to compress.

        The size chosen is ``n_components_``. Beyond 2048 features PCA's size
        for a fraction is counted on the leading axes only, at most as many
        as fit in 32 MiB (209 at 20 000 features); a ``UserWarning`` says
        when that bound sets ``n_components_``.

    hidden_layer_sizes : tuple of int or None, default=None
        Widths of the encoder's hidden layers; the decoder mirrors them. None
        derives two hidden layers from the data's width, each
        ``min(256, max(64, 2 * n_features))`` wide. ``()`` gives a linear
        autoencoder.

    activation : {"relu", "tanh", "logistic", "gelu", "elu", "silu", "identity"}, \
default="relu"
        Non-linearity of the hidden layers.

    init : {"graph", "pca", "random"}, default="graph"
        Initialisation of the built-in module. ``"pca"`` sets its linear path to
        PCA's projection of the training data (the non-linear part starts at
        zero), so training starts from PCA's reconstruction and improves on it.
        Beyond 2048 features the leading axes are computed by randomized
        subspace iteration, without the covariance matrix.
        ``"graph"`` starts there too and, for a code of at most 3 dimensions
        (and fewer than the features), then fits the fully connected module
        to the Isomap coordinates of up to 1000 training rows: its encoder
        maps the rows to them, its decoder maps them back. A linear code
        folds a curved manifold (a swiss roll) onto itself, and training
        rarely unfolds it; the graph's coordinates follow the manifold. The
        graph start is kept only if it reconstructs the validation rows of
        early stopping better than PCA's start beyond chance (the test of
        ``early_stopping``), so on data with no such manifold, and without
        validation rows (``early_stopping=False``, ``partial_fit``), the
        start stays PCA's. The module is fitted to the coordinates (800
        steps of Adam on mini-batches of 64) only where they preserve the
        graph's geodesic distances much better than PCA's codes (at most
        half of PCA's residual variance, Isomap's measure): on flat data
        only the graph is computed (well under a second for 1000 rows). A
        graph of 1000 rows resolves a manifold of a few dimensions only
        (1000 ** (1 / k) rows along each: 32 for k=2, 10 for k=3), hence the
        bound. The graph start is skipped for other modules and losses than
        the built-in fully connected one and the squared error, sparse or
        memory-mapped input, and models without hidden layers.
        ``"random"`` keeps PyTorch's default initialisation. A variational
        model trained with the squared error starts instead at the optimum of
        a linear VAE (probabilistic PCA), its codes distributed as the prior.

    standardize : {"global", "feature"} or bool, default="global"
        How features are scaled inside the estimator before training. Every
        choice but ``False`` centres each feature on its mean.

        - ``"global"`` then divides every feature by one number, the root mean
          variance of the features. Squared errors keep the proportions of the
          input's own units, which is the objective ``PCA`` minimises, so the
          model starts from the same solution as ``PCA`` on the same X and is
          measured as ``PCA`` is. Only the overall size of the numbers changes,
          which keeps the learning rate and ``noise_level`` meaningful
          whatever the data's units. A wide-range feature then dominates, as
          in ``PCA``; put a ``StandardScaler`` in front (or use
          ``"feature"``) to weigh every feature the same.
        - ``"feature"`` (or ``True``) divides each feature by its own
          standard deviation (z-scores): every feature counts the same,
          whatever its range. A constant feature gets scale 1.
        - ``False`` leaves X as it is.

        Reconstruction errors, fractions of variance and ``noise_level`` are in
        these scaled units; ``inverse_transform`` always returns original
        units.

    alpha : float, default=1e-4
        Strength of the L2 penalty (Adam's weight decay).

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` is ``min(200, n_samples)``.

    learning_rate_init : float, default=1e-3
        Adam's learning rate.

    max_iter : int, default=500
        Maximum number of epochs (passes over the training rows): a cap, not
        the stopping rule. Training normally ends when the watched loss stops
        improving (``tol``, ``n_iter_no_change``), and reaching ``max_iter``
        raises a ``ConvergenceWarning`` that says what to change. The cap sits
        well past where the rule ends fits on ordinary data: 16 default fits
        of standardized digits (k = 2, 8, 16 and 32, training folds of a
        5-fold split, several seeds) stopped after 38 to 187 epochs, and
        their validation error still fell by up to 7 % from epoch 150 to
        300, so ``MLPRegressor``'s cap of 200 cut some fits (a grid search's
        folds, a swiss roll's search of ``n_components=0.95``) short with a
        warning.

    early_stopping : bool, default=True
        Whether to hold out ``validation_fraction`` of the rows and stop when
        their reconstruction error stops improving. The weights of the best
        validation epoch are restored. With ``init="pca"`` (or ``"graph"``
        when it keeps PCA's start), PCA's solution for
        the rows left for training is the start, and it counts as epoch 0: the
        best epoch replaces it only if it reconstructs the validation rows
        better beyond chance: its mean error on them must be lower, by a
        one-sided paired t-test of the per-row errors at the 1 % level (the
        mean, as ``PCA`` and the mean squared error measure it, not the
        typical row). Otherwise the model is PCA's solution for all the rows,
        so it is never worse than ``PCA`` by chance of a small validation
        split. ``improvement_over_start_`` says which happened.

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
        instead of starting anew. The optimizer's state carries over;
        ``learning_rate_init``, ``alpha``, ``batch_size`` and the stopping
        parameters take their current values.

    module : torch.nn.Module subclass or instance, or None, default=None
        The network. None uses a built-in module (the MLP, or the one selected
        by ``variational`` or ``image_shape``). A class is instantiated as
        ``module(n_features=..., n_components=..., **module_params)``; an
        instance is deep-copied at each ``fit`` and never changed. Either must
        define ``encode(X)`` and ``decode(Z)``; its ``forward`` may return the
        reconstruction or a pair ``(reconstruction, penalty)`` whose penalty is
        added to the training loss. ``init="pca"`` (and ``"graph"``, which
        is ``"pca"`` here) applies to a module that defines
        ``init_linear_path(components, mean)``.

    module_params : dict or None, default=None
        Extra keyword arguments of ``module`` (or of the built-in module).
        ``set_params(module__name=value)`` sets one entry, so grid searches can
        tune them.

    loss : {"squared_error", "absolute_error", "binary_crossentropy"}, \
default="squared_error"
        Reconstruction loss, per element. ``"absolute_error"`` is less swayed by
        a few badly reconstructed values. ``"binary_crossentropy"`` is for data
        in [0, 1] such as pixel intensities: it requires ``standardize=False``,
        the module's output is read as logits, and reconstructions are their
        sigmoid. Reconstruction errors and scores are measured with this loss.

    noise : {"gaussian", "mask"} or None, default=None
        Corruption of the input during training only, which makes a denoising
        autoencoder: the model learns to reconstruct each clean row from a
        corrupted copy. ``"gaussian"`` adds noise of standard deviation
        ``noise_level`` in the scaled units of ``standardize`` (a fraction of
        the features' root mean standard deviation by default, the data's own
        units with ``standardize=False``); ``"mask"`` sets a random fraction
        ``noise_level`` of the entries to zero (the feature mean when
        standardizing). ``transform`` and ``inverse_transform`` never corrupt.

    noise_level : float, default=0.2
        Standard deviation of the Gaussian noise, or fraction of masked
        entries (below 1).

    sparsity : {"kl", "l1"} or None, default=None
        Penalty that makes a sparse autoencoder, on the code's activations. With
        ``"kl"`` the built-in module's code goes through a sigmoid and the
        penalty is the mean over code units of ``KL(sparsity_target || rate)``,
        ``rate`` being a unit's mean activation over a batch (the classic sparse
        autoencoder). With ``"l1"`` the code goes through a ReLU and the penalty
        is the mean absolute activation. A custom module's codes are penalised
        as ``encode`` returns them (in [0, 1] for ``"kl"``). Not available with
        ``variational=True``.

    sparsity_weight : float, default=0.1
        Weight of the sparsity penalty in the training loss.

    sparsity_target : float, default=0.05
        Target mean activation of each code unit for ``sparsity="kl"``.

    variational : bool, default=False
        Whether the built-in module is a variational autoencoder: the code is a
        diagonal Gaussian posterior, training adds ``beta`` times its KL
        divergence from N(0, I), and new rows can be generated (``sample`` of
        ``AutoencoderTransformer``). ``transform`` returns the posterior mean.

    beta : float, default=1.0
        Weight of the KL term of a variational autoencoder. With ``beta=1`` the
        training loss is the negative ELBO per feature; larger values pull the
        codes closer to N(0, I), smaller ones favour reconstruction.

    image_shape : tuple of int or None, default=None
        Shape of each row as an image, ``(channels, height, width)``, or as a
        signal, ``(channels, length)``, e.g. ``(1, 8, 8)`` for 8x8 digits. It
        selects the built-in convolutional module; rows stay flat. One entry
        may be -1, inferred from the number of features as in ``numpy.reshape``.

    device : str or torch.device, default="cpu"
        Where to train and infer: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... or
        ``"auto"`` (CUDA when available). The resolved device is ``device_``.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the validation split. An int
        gives bit-identical fits. None draws a fresh seed from the operating
        system; the global torch and numpy random states are never used or changed.

    verbose : int, default=0
        0 prints nothing, 1 prints a line per epoch (losses and time) and,
        with early stopping, a last line saying whether training improved on
        its start (``improvement_over_start_``), 2 also shows a progress bar.

    compile : bool or dict, default=False
        Whether to train through ``torch.compile``. A dict compiles with those
        keyword arguments of ``torch.compile``, e.g. ``{"backend": "eager"}``
        or ``{"mode": "max-autotune"}``. Compilation speeds up training on
        GPUs; inference always runs the module eagerly, so its results do not
        depend on the number of rows per call."""

SHARED_ATTRIBUTES = """\
n_components_ : int
        Size of the code.

    retained_variance_ratio_ : float
        Fraction of the variance (scaled units) that the reconstruction
        keeps: of the validation rows when ``n_components`` is a fraction, of
        the training rows otherwise. It describes the whole model, the
        counterpart of PCA's ``explained_variance_ratio_.sum()``: latent units
        of an autoencoder are not ordered by variance. Set by ``fit``, not by
        ``partial_fit`` (which would pay an extra pass over every chunk).

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
        Per-feature scale divided out before encoding: one value repeated
        with ``standardize="global"``, each feature's standard deviation with
        ``"feature"`` (1 for constant features), ones with ``False``.

    n_samples_seen_ : int
        Number of rows the standardization statistics were computed from.

    net_ : skorch.NeuralNet
        The trained network; ``net_.module_`` is the PyTorch module.

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Training loss (the mean ``loss`` in scaled units, plus any
        penalty) at the end of each epoch.

    best_loss_ : float or None
        Minimum of ``loss_curve_``; None with early stopping (see
        ``best_validation_score_``).

    validation_scores_ : list of float or None
        With early stopping, minus the validation loss at each epoch: the
        training objective on the clean validation rows (the reconstruction
        error, plus the KL or sparsity penalty of a regularised model); None
        otherwise.

    best_validation_score_ : float or None
        Best of ``validation_scores_``, whose weights were restored; None without
        early stopping.

    improvement_over_start_ : float or None
        Whether training improved on its start, and by how much: the relative
        decrease of the mean reconstruction error of the validation rows from
        the start (PCA's solution, the graph start of ``init="graph"``, or the
        initial weights of ``init="random"``; the previous model for ``fit``
        with ``warm_start``) to the model kept, ``1 - error_kept /
        error_start``. 0.0 when no epoch lowered it beyond chance and the start
        was kept (with PCA's start, the model is then PCA's solution for all
        the rows). None without early stopping, whose validation rows make the
        comparison, and after ``partial_fit``. ``verbose=1`` prints it.

    device_ : torch.device
        Device the model lives on."""


def _replace_entries(section, entries):
    """``section`` (a numpydoc block) with the entries named in ``entries`` replaced.

    An entry starts at a line ``name : ...`` (the first line of the section, or
    a line indented by four spaces) and runs to the next entry.
    """
    if not entries:
        return section
    pieces = re.split(r"(?m)^(?=(?:    )?\w+ : )", section)
    replaced = []
    for piece in pieces:
        name = piece.strip().split(" : ", 1)[0]
        if name in entries:
            ending = "\n\n" if piece.endswith("\n\n") else ""
            piece = ("    " if piece.startswith("    ") else "") + entries[name] + ending
        replaced.append(piece)
    return "".join(replaced)


def fill_doc(obj=None, *, parameters=None):
    """Insert the shared parameter and attribute sections into ``obj.__doc__``.

    ``parameters`` maps parameter names to the text of their entry in this
    class, for the parameters whose meaning or default differ from the shared
    text.
    """
    if obj is None:
        return functools.partial(fill_doc, parameters=parameters)
    default = inspect.signature(obj).parameters["n_components"].default
    shared = SHARED_PARAMETERS.replace("{n_components_default}", str(default))
    obj.__doc__ = obj.__doc__.format(
        shared_parameters=_replace_entries(shared, parameters),
        shared_attributes=SHARED_ATTRIBUTES,
    )
    return obj


SHARED_CONSTRAINTS = {
    "n_components": [
        IntervalNotBool(1, None, closed="left"),
        Interval(RealNotInt, 0, 1, closed="neither"),
        None,
    ],
    "hidden_layer_sizes": [None, "array-like"],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "init": [StrOptions({"pca", "graph", "random"})],
    "standardize": [StrOptions({"global", "feature"}), "boolean"],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "module": [None, type, torch.nn.Module],
    "module_params": [None, dict],
    "loss": [StrOptions({"squared_error", "absolute_error", "binary_crossentropy"})],
    "noise": [None, StrOptions({"gaussian", "mask"})],
    "noise_level": [Interval(Real, 0, None, closed="left")],
    "sparsity": [None, StrOptions({"kl", "l1"})],
    "sparsity_weight": [Interval(Real, 0, None, closed="left")],
    "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
    "variational": ["boolean"],
    "beta": [Interval(Real, 0, None, closed="left")],
    "image_shape": [None, tuple],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "compile": ["boolean", dict],
}
