"""AutoencoderOutlierDetector: anomaly detection by reconstruction error."""

import functools
import math
from numbers import Real

import numpy as np
import torch
from sklearn.base import OutlierMixin

from ._base import _atomic, _BaseAutoencoder
from ._data import column_extremes, column_percentiles, column_std, issparse
from ._inference import _overflow_error
from ._losses import elementwise_loss, output_link
from ._params import fill_doc
from ._pca import PrincipalAxes, max_covariance_width
from ._scoring import (
    LatentModel,
    OneScaleModel,
    StandardizedRows,
    combined_score,
    cube_root_location,
    fit_latent_model,
    fit_one_scale_model,
    ppca_support,
)
from ._threads import on_one_blas_thread
from ._validation import Interval, StrOptions, _fit_context

# Robust scaling reads its quantiles from at most this many rows, evenly spaced:
# the median and quartiles of 100 000 rows are within about 0.5 % of a
# standard deviation of the full data's, and a memmap is never read whole.
_ROBUST_MAX_ROWS = 100_000

# The IQR of a normal distribution in standard deviations: dividing by it puts
# robust scales in the units of a standard deviation.
_NORMAL_IQR = 1.3489795003921634
# A feature whose interquartile range is below this share of its standard
# deviation counts as tied: most rows share one value up to noise.
_TIE_RATIO = 3e-2

# The 'auto' threshold: a training score more than this many robust standard
# deviations (1.4826 * MAD) below the median score marks an outlier. The
# likelihood score is close to normal for inliers (see _scoring.robust_z): 2
# flags about 2.3 % of clean rows; on the benchmark files' tuning half it
# gave the best F1 of predict among 2, 2.5 and 3 (0.411, 0.397, 0.364; the
# confirming half: 0.306, 0.283, 0.252). The reconstruction errors and the
# ELBO keep the heavier right tail of squared errors, and 3.
_AUTO_ROBUST_Z = {"likelihood": 2.0, "reconstruction": 3.0, "elbo": 3.0}

# With fewer than this many training rows per feature, the likelihood score
# measures residuals within the leading n_samples // _ROWS_PER_RESIDUAL_AXIS
# principal axes of the training rows only (see _residual_axes).
_ROWS_PER_RESIDUAL_AXIS = 4

# The robust PCA before training standardizes dense rows once (float64) while
# they take at most this much memory, and reads them a chunk at a time at each
# of its dozen passes; larger or sparse rows are standardized at every pass.
# The score's statistics hold dense training rows' squared residuals within
# the same bound, and read them by a second pass past it or for sparse rows.
_MAX_HELD_BYTES = 2**28

# The residual axes need the covariance of the features: computed up to this width.
_MAX_RESIDUAL_AXES_WIDTH = 4096

# The fitted attribute of each field of a member's LatentModel but
# huber_threshold (huber_threshold_, shared): the network's member's; the
# one-scale member's are prefixed "one_scale_".
_LATENT_ATTRIBUTES = {
    "mean": "latent_mean_",
    "precision": "latent_precision_",
    "noise_variance": "noise_variance_",
    "references": "latent_references_",
    "n_neighbors": "n_neighbors_",
    "log_radius": "latent_log_radius_",
    "median_distance": "latent_median_distance_",
}

# Width of the default hidden layers.
_HIDDEN_WIDTH = 64

# Where offset_ lies between the last flagged training score and the next.
_CUT_POSITION = 0.01

# The share of the variance that sets the code size of the robust PCA which
# picks the training rows, when n_components is None (the detector's default):
# read on every row, then again on the rows kept (see ppca_support).
_DEFAULT_VARIANCE_FRACTION = 0.95

# Entries of the shared parameter documentation whose default or meaning
# differ for the detector.
_DETECTOR_PARAMETERS = {
    "hidden_layer_sizes": """hidden_layer_sizes : tuple of int or None, default=None
        Widths of the encoder's hidden layers; the decoder mirrors them. None
        gives two hidden layers of 64: on the benchmark files' tuning half,
        wider layers (the transformer's ``min(256, max(64, 2 * n_features))``)
        ranked anomalies no better (mean ROC-AUC within 0.003 in every group)
        and cost up to twice the time on wide data. ``()`` gives a linear
        autoencoder.""",
    "standardize": """standardize : {"robust", "global", "feature"} or bool, \
default="robust"
        How features are scaled inside the estimator before training and
        scoring. ``"robust"`` centres each feature on its median and divides
        by its interquartile range over 1.349 (a standard deviation for normal
        data), so that a few extreme rows, the anomalies themselves, neither
        set the units nor squeeze the bulk of a heavy-tailed feature into a
        narrow band. A feature whose interquartile range is below 3 % of its
        standard deviation falls back to that standard deviation, and a
        constant one to 1: most of its rows share one value, up to noise
        (rounding, a sensor's jitter), and the IQR would measure the noise:
        the feature's ordinary other values would stand thousands of scales
        out and decide every score (3 % was chosen among 1, 3 and 10 % on
        the benchmark files' tuning half). The quantiles are
        read from at most 100 000 evenly spaced rows (``partial_fit``: from
        its first chunk). ``"global"`` centres each feature and divides all
        by one scale, as ``AutoencoderTransformer`` does by default, to
        reconstruct as ``PCA`` does in the input's units; ``"feature"`` (or
        ``True``) z-scores each feature; ``False`` leaves X as it is. The
        detector differs from the transformer here because an anomaly shows
        in any feature, whatever its range: per-feature scales let a
        narrow-range feature's outliers count, and on the benchmark files'
        tuning half robust per-feature scales ranked anomalies best. For
        features of one kind, whose spread is part of their meaning (a
        convolutional network's embeddings of photos), ``"global"`` ranked
        them better (see the user guide's "Which to reach for").
        Reconstruction errors and scores are measured in the scaled units;
        ``inverse_transform`` returns original units.""",
    "init": """init : {"pca", "graph", "random"}, default="pca"
        Initialisation of the built-in module. ``"pca"`` sets its linear path to
        PCA's projection of the training data (the non-linear part starts at
        zero), so training starts from PCA's reconstruction. ``"graph"``
        starts there too, then, for a code of at most 3 dimensions, fits the
        module to the Isomap coordinates of up to 1000 training rows (see
        ``AutoencoderTransformer``). The detector's default stays ``"pca"``:
        its code keeps 95 % of the variance, rarely 3 dimensions or fewer,
        and it was chosen on the benchmark files from PCA's start.
        ``"random"`` keeps PyTorch's default initialisation.""",
    "max_iter": """max_iter : int, default=5
        Number of epochs of training. Networks reconstruct the bulk of the
        data before they learn its outliers, so the detector trains briefly
        from PCA's solution: reaching ``max_iter`` is the budget running out,
        not a failure to converge, and raises no ``ConvergenceWarning``.""",
    "early_stopping": """early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the rows and stop when
        their reconstruction error stops improving, restoring the weights of
        the best validation epoch (the starting weights, PCA's solution with
        ``init="pca"``, count as epoch 0). Off by default: the short budget
        of ``max_iter`` already stops training early, and every row is used.""",
}


@fill_doc(parameters=_DETECTOR_PARAMETERS)
class AutoencoderOutlierDetector(OutlierMixin, _BaseAutoencoder):
    """Outlier detection by autoencoder reconstruction error, used like ``IsolationForest``.

    The autoencoder learns to reconstruct the bulk of the data. A row is
    abnormal when it lies off the learned manifold (a large reconstruction
    error), far out on it (an unusual code), or between the groups of codes
    that the training rows form. The default score accounts for all three,
    as probabilistic PCA does for the first two: the codes are modelled as a
    Gaussian and the residuals as isotropic Gaussian noise of variance
    ``noise_variance_``, and a row's terms are the code's and the
    residual's, summed. The residual's term is the squared
    residual norm divided by ``noise_variance_``, and the code's the larger
    of its squared Mahalanobis distance and a neighbour density on the same
    scale: ``2 * n_components_`` times the log distance to its
    ``n_neighbors_``-th nearest training code, shifted to match the
    distances at the median. Each squared norm is a sum over coordinates
    (the residual's, and the code's along the principal axes of the codes'
    covariance), in which a coordinate past ``huber_threshold_`` standard
    deviations counts by Huber's rho, linearly instead of squared: an inlier
    with one heavy-tailed coordinate then does not outrank anomalies that
    deviate in several.

    Those terms are read in the scale the network trains in, each feature
    divided by its own spread. A second member reads the same rows with
    one scale for every feature (``one_scale_``), where the features'
    spreads count as they are (in embeddings of photos or texts, a
    feature's spread is part of what is normal): probabilistic PCA of the
    rows in ``support_`` with the same model of codes and residuals, and
    no network. Each member's terms are put on a common scale, their cube
    roots' robust z-scores (the cube root of a chi-squared sum is close to
    normal; the training rows' median ``score_location_`` and 1.4826 times
    their median absolute deviation ``score_spread_``), and
    ``score_samples`` is minus their mean. Where the features already
    share one scale (``standardize="global"`` or ``False``) or are more
    than 4096, the network's member scores alone.
    ``anomaly_score="reconstruction"`` scores by reconstruction error
    alone.

    The training rows hold the anomalies too, and a model fitted to all of
    them learns them (masking). So both steps are robust, as the minimum
    covariance determinant estimator is: before training, two concentration
    steps refit probabilistic PCA on the half of the rows it fits best, and a
    reweighting step gives back every row whose score is not an outlier (less
    than 3 robust standard deviations above the median score); the network
    trains on those rows only. The PCA's axes are counted on every row, then
    again on the rows kept, and the fit repeated while fewer suffice. The
    score's statistics are estimated the same way from the network's codes
    and residuals (``support_``). The user guide gives the evidence and where
    this fails.

    The rest of the default model is chosen to carry over to data it was not
    tuned on: features are scaled robustly (median and interquartile range),
    and the network starts from PCA's solution for 95 % of the variance and
    trains for a short budget of 5 epochs.

    Conventions follow ``IsolationForest``: ``score_samples`` is higher for
    normal rows, ``decision_function`` is ``score_samples - offset_`` (negative
    for outliers) and ``predict`` returns -1 for outliers and +1 for inliers.

    Parameters
    ----------
    {shared_parameters}

    contamination : "auto" or float, default="auto"
        Expected proportion of outliers in the training data, in (0, 0.5]. A
        float sets ``offset_`` just above the training score ranked
        ``round(contamination * n_samples)`` from the bottom (1 % of the way to
        the next), so that this share of the training rows is predicted -1 (to
        the nearest row) and, as the training scores generalise (see the user
        guide), about the same share of new inliers. ``"auto"`` flags the
        training rows whose score lies more than 2 robust standard deviations
        (1.4826 times the median absolute deviation of the scores) below the
        median score, about 2.3 % of clean rows: the likelihood score is close
        to normal for inliers. The other scores keep the heavier tail of
        squared errors, and 3 robust standard deviations.

    anomaly_score : {{"likelihood", "reconstruction", "elbo"}}, default="likelihood"
        What ``score_samples`` measures: ``"likelihood"`` combines the code's
        Mahalanobis distance and the reconstruction error (see above);
        ``"reconstruction"`` is minus the mean reconstruction error (with
        ``loss``, squared by default) in standardized units. ``"elbo"``, for
        ``variational=True`` only, is minus the negative ELBO per feature: the
        reconstruction error plus the KL divergence of the row's posterior from
        the prior divided by the number of features, the reconstruction term
        being evaluated at the posterior mean so that scores are deterministic.

    support_fraction : float in (0, 1] or None, default=None
        Share of the training rows that each concentration step of the robust
        fits keeps (see above). None keeps half, the largest share of
        anomalies a fit can withstand, followed by the reweighting step;
        ``1.0`` fits on every row, as before robust fitting: for training
        rows known to be clean, where robustness only costs precision.

    Attributes
    ----------
    {shared_attributes}

    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` is
        ``score_samples(X) - offset_``.

    latent_mean_ : ndarray of shape (n_components_,)
        Mean of the codes of the training rows in ``support_``.

    latent_precision_ : ndarray of shape (n_components_, n_components_)
        Inverse covariance of the codes of the training rows in ``support_``.

    noise_variance_ : float
        Mean squared residual of the training rows in ``support_`` per
        discarded dimension (the residual's dimensions less
        ``n_components_``), as in probabilistic PCA.

    support_ : ndarray of shape (n_samples,), dtype bool
        The training rows of the last ``fit`` (or ``partial_fit`` chunk) that
        the score's statistics were estimated on: those the robust fit did
        not set aside.

    latent_references_ : ndarray of shape (n_references, n_components_) or None
        Codes of at most 1000 rows of ``support_``, evenly spaced: the
        neighbours of the density term. None when most rows repeat one
        another, where the term is left out.

    n_neighbors_ : int
        The neighbour whose distance measures the density: the square root of
        the number of references, rounded up (the usual rate for a consistent
        nearest-neighbour density estimate).

    latent_log_radius_ : float
        Median over ``support_`` of the log distance to the
        ``n_neighbors_``-th reference, in the Mahalanobis metric.

    latent_median_distance_ : float
        Median over ``support_`` of the squared Mahalanobis distance (with
        Huber's rho): with ``latent_log_radius_``, it puts the density on the
        distance's scale.

    huber_threshold_ : float
        The number of standard deviations past which a coordinate of the
        code (along the principal axes of the codes' covariance) or of the
        residual (in units of ``noise_variance_``) counts by Huber's rho: its
        deviation ``u`` adds ``2 * t * |u| - t ** 2`` to the squared norm
        instead of ``u ** 2``, for ``t = huber_threshold_``. 3.0: 0.27 % of
        Gaussian coordinates lie beyond it. The robust fits rank rows by
        the plain squares; only the score uses it.

    residual_axes_ : ndarray of shape (n_residual_axes, n_features_in_) or None
        With fewer than 4 training rows per feature, the leading
        ``n_samples // 4`` principal axes of the scaled training rows: the
        likelihood score measures residuals within them only. A few rows span
        few directions: a new row's residual along the others is large
        whatever its kind, while every training row's is zero there, so
        without this cut new inliers would score far below the training rows
        (on 154 rows of 512 image-embedding features, 40 % of new inliers
        were flagged at ``contamination=0.05``; 8 % with it). None otherwise.

    one_scale_mean_ : ndarray of shape (n_features_in_,) or None
        The one-scale member (see above): the mean of the training rows in
        ``support_``, in X's units. None where there is no such member:
        ``standardize="global"`` or ``False``, more than 4096 features,
        ``anomaly_score`` other than ``"likelihood"``, or a support spanning
        fewer than two directions; every ``one_scale_*`` attribute is then
        None.

    one_scale_ : float or None
        The one number every feature is divided by: the root mean square of
        ``scale_`` (any one number gives the same scores).

    one_scale_components_ : ndarray of shape (n_one_scale_components, n_features_in_) or None
        The member's code axes: the leading principal axes of the scaled
        rows in ``support_``, as many as ``n_components`` asks (by default
        those keeping 95 % of the variance).

    one_scale_residual_axes_ : ndarray of shape (n_axes, n_features_in_) or None
        Where ``residual_axes_`` is set, the principal axes that follow the
        code's up to as many in all: the member's residual is measured
        along them. None otherwise: along every feature.

    one_scale_latent_mean_, one_scale_latent_precision_ : ndarray or None
        The member's counterparts of ``latent_mean_`` and
        ``latent_precision_``.

    one_scale_noise_variance_ : float or None
        The member's counterpart of ``noise_variance_``.

    one_scale_latent_references_ : ndarray or None
        The member's counterpart of ``latent_references_``.

    one_scale_n_neighbors_ : int or None
        The member's counterpart of ``n_neighbors_``.

    one_scale_latent_log_radius_, one_scale_latent_median_distance_ : float or None
        The member's counterparts of ``latent_log_radius_`` and
        ``latent_median_distance_``.

    score_location_, score_spread_ : ndarray of shape (n_members,) or None
        For each member of the likelihood score (the network's, then the
        one-scale one where fitted), the median over the training rows of
        the cube roots of their terms, and 1.4826 times their median
        absolute deviation (1 where zero): ``score_samples`` is minus the
        mean over the members of ``(cbrt(terms) - score_location_) /
        score_spread_``. None for the other scores.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Outlier detection with random trees.
    AutoencoderTransformer : The same model used for dimensionality reduction.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ae import AutoencoderOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 6))  # 3 factors, 6 features
    >>> X += 0.1 * rng.normal(size=X.shape)
    >>> X[:5, 0] += 3  # five rows break the factor structure
    >>> detector = AutoencoderOutlierDetector(n_components=3, contamination=0.02,
    ...                                       random_state=0)
    >>> labels = detector.fit_predict(X)
    >>> int((labels == -1).sum())
    6
    >>> bool(np.all(labels[:5] == -1))
    True
    """

    _parameter_constraints: dict = {
        **_BaseAutoencoder._parameter_constraints,
        "standardize": [
            *_BaseAutoencoder._parameter_constraints["standardize"],
            StrOptions({"robust"}),
        ],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "anomaly_score": [StrOptions({"likelihood", "reconstruction", "elbo"})],
        "support_fraction": [None, Interval(Real, 0, 1, closed="right")],
    }

    def __init__(
        self,
        n_components=None,
        *,
        hidden_layer_sizes=None,
        activation="relu",
        init="pca",
        standardize="robust",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=5,
        early_stopping=False,
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
        contamination="auto",
        anomaly_score="likelihood",
        support_fraction=None,
    ):
        super().__init__(
            n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            init=init,
            standardize=standardize,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            warm_start=warm_start,
            module=module,
            module_params=module_params,
            loss=loss,
            noise=noise,
            noise_level=noise_level,
            sparsity=sparsity,
            sparsity_weight=sparsity_weight,
            sparsity_target=sparsity_target,
            variational=variational,
            beta=beta,
            image_shape=image_shape,
            device=device,
            random_state=random_state,
            verbose=verbose,
            compile=compile,
        )
        self.contamination = contamination
        self.anomaly_score = anomaly_score
        self.support_fraction = support_fraction

    _warns_at_max_iter = False

    def _hidden_layer_sizes(self, n_features):
        if self.hidden_layer_sizes is None:
            return (_HIDDEN_WIDTH, _HIDDEN_WIDTH)
        return super()._hidden_layer_sizes(n_features)

    def _update_statistics(self, X, first_call):
        if self.standardize != "robust":
            return super()._update_statistics(X, first_call)
        if not first_call:  # partial_fit keeps the scaling of its first chunk
            return self.mean_, self._var, self.n_samples_seen_ + X.shape[0]
        rows = X
        if X.shape[0] > _ROBUST_MAX_ROWS:
            rows = X[np.linspace(0, X.shape[0] - 1, _ROBUST_MAX_ROWS).astype(np.intp)]
        if issparse(rows):
            std = column_std
        else:
            rows = np.asarray(rows, dtype=np.float64)
            std = functools.partial(np.std, axis=0)
        q1, median, q3 = column_percentiles(rows, [25, 50, 75])  # sparse: zeros included
        scale = (q3 - q1) / _NORMAL_IQR
        spread = std(rows)
        # Most rows share one value, up to noise far below the feature's
        # spread: the IQR would measure the noise, not the feature.
        tied = ~(scale > _TIE_RATIO * spread)
        scale[tied] = spread[tied]
        if not (np.all(np.isfinite(median)) and np.all(np.isfinite(scale))):
            raise ValueError(
                "Feature statistics overflowed: X has values too large to scale "
                "in float64 (e.g. 1e200). Rescale those features before fitting."
            )
        return median, scale**2, X.shape[0]

    def _training_rows(self, X, units, device, batch_size, *, streamed):
        """The rows the network learns from: those a robust probabilistic PCA keeps, and their PCA.

        Rows of at most 4096 features held in memory (dense or sparse);
        a streamed memmap is kept whole (see ``_scoring.ppca_support``).
        The robust PCA has just decomposed the rows it keeps, to count their
        axes, and the network's PCA start reads that decomposition instead
        of decomposing the same rows again (see ``_kept_rows_pca``). Where
        it makes no robust fit (``support_fraction=1.0``, or too few rows
        for its code), every row is kept, and their PCA is the decomposition
        that counted their axes: on 300 to 400 rows of 768 features, setting
        up the network took 5 to 6 ms instead of 17 to 33.
        """
        if streamed or X.shape[1] > _MAX_RESIDUAL_AXES_WIDTH:
            return super()._training_rows(X, units, device, batch_size, streamed=streamed)
        # rows training would refuse are refused before the robust PCA,
        # whose float64 products of such rows could overflow
        self._float32_standardized(column_extremes(X), units)
        support, rows = self._robust_support(X, units)
        if support is None:  # no robust fit: every row, whose PCA the count has read
            support = np.ones(X.shape[0], dtype=bool)
        if not (support.all() or self._can_split(support.sum())):
            return super()._training_rows(X, units, device, batch_size, streamed=streamed)
        rows_pca = _kept_rows_pca(rows, support)
        del rows  # its rows and matrices, before training copies the rows it keeps
        if not support.all():
            X = X[support]
        X_std, _ = super()._training_rows(X, units, device, batch_size, streamed=streamed)
        return X_std, rows_pca

    def _robust_support(self, X, units):
        """``ppca_support`` of validated rows ``X`` in ``units``, and the ``StandardizedRows``."""
        mean, scale, _, _ = units
        rows = self._rows_for_pca(X, mean, scale)
        n_components, fraction = self._start_components(rows)
        return ppca_support(rows, n_components, self.support_fraction, fraction), rows

    def _rows_for_pca(self, X, mean, scale):
        """The ``StandardizedRows`` of validated rows ``X``, ``(X - mean) / scale``.

        Dense rows of at most 256 MiB in float64 are standardized once for
        all the passes over them; sparse rows are never densified whole.
        """
        step = self._chunk_rows(X.shape[1])

        def chunks():
            for start in range(0, X.shape[0], step):
                yield self._standardized(X[start : start + step], mean, scale, np.float64)

        if self._holds_rows(X):
            held = self._standardized(X, mean, scale, np.float64)
            chunks = lambda: (held[i : i + step] for i in range(0, len(held), step))  # noqa: E731

        return StandardizedRows(chunks, X.shape)

    @staticmethod
    def _holds_rows(X, width=None):
        """Whether ``width`` float64 columns (all: None) of validated rows ``X`` are held whole.

        They are where ``X`` is dense and they take at most 256 MiB.
        """
        width = X.shape[1] if width is None else width
        return not issparse(X) and 8 * X.shape[0] * width <= _MAX_HELD_BYTES

    def _can_split(self, n_rows):
        """Whether ``n_rows`` training rows leave both early-stopping splits non-empty.

        A few rows set aside can empty one of them on tiny inputs: the
        detector then trains on every row, as it does without a robust fit.
        """
        if not self.early_stopping:
            return True
        n_valid = math.ceil(self.validation_fraction * n_rows)
        return 0 < n_valid < n_rows

    def _start_components(self, rows):
        """The robust PCA's axes before any row is set aside, and its variance fraction.

        A fixed ``n_components`` is used as it is (fraction None); otherwise
        the axes are counted as the network counts them, first on every row
        (``rows``: a ``StandardizedRows``), then again on the rows kept (see
        ``ppca_support``).
        """
        if isinstance(self.n_components, int) and not isinstance(self.n_components, bool):
            return self.n_components, None
        fraction = self.n_components or _DEFAULT_VARIANCE_FRACTION
        return rows.n_components_for(fraction), fraction

    def _residual_width(self):
        """The residual's dimensions: the features, or the ``residual_axes_``."""
        axes = getattr(self, "residual_axes_", None)  # absent from models saved before it
        return self.n_features_in_ if axes is None else len(axes)

    def _codes_and_residuals(self, X, model=None, *, squares=False):
        """Codes of validated rows and what their residuals give, float64.

        By default each row's squared residual norm; with ``squares``, its
        squared residual coordinates, of shape (n_samples,
        ``_residual_width()``); with ``model`` (a ``LatentModel``), its
        ``residual_term``. The coordinates are the features', or the
        residual's along ``residual_axes_``.
        """
        loss = self.net_.criterion_.loss

        axes = getattr(self, "residual_axes_", None)
        if axes is not None:
            axes = torch.as_tensor(axes, dtype=torch.float64, device=self.net_.device)

        def codes_and_residuals(module, x):
            codes = module.encode(x)
            residual = output_link(loss, module.decode(codes)).double() - x.double()
            if axes is not None:
                residual = residual @ axes.T
            squared = residual**2
            if model is not None:
                squared = model.residual_term(squared)[:, None]
            elif not squares:
                squared = squared.sum(1, keepdim=True)
            return torch.cat([codes.double(), squared], dim=1)

        k = self.n_components_
        width = self._residual_width() if squares else 1
        out = self._map_rows(X, codes_and_residuals, k + width, np.float64)
        return out[:, :k], (out[:, k:] if squares else out[:, k])

    @on_one_blas_thread
    def _scores(self, X):
        """``score_samples`` of validated rows."""
        if self.anomaly_score == "reconstruction":
            return -self._errors(X)
        if self.anomaly_score == "elbo":
            loss = self.net_.criterion_.loss

            def negative_elbo(module, x):
                err = elementwise_loss(loss, module(x)[0].double(), x.double()).mean(dim=1)
                return (err + module.kl_divergence(x).double() / x.shape[1])[:, None]

            return -self._map_rows(X, negative_elbo, 1, np.float64)[:, 0]
        model = self._latent_model()
        codes, residual = self._codes_and_residuals(X, model)
        with np.errstate(over="ignore", invalid="ignore"):  # reported by _finite
            members = [model.terms(codes, residual)]
        one_scale = self._one_scale_model()
        if one_scale is not None:
            members.append(self._one_scale_terms(X, one_scale))
        return self._combined(members)

    def _one_scale_model(self):
        """The fitted ``OneScaleModel``, from the fitted attributes, or None."""
        if getattr(self, "one_scale_mean_", None) is None:  # None, or saved before it
            return None
        latent = self._latent_model("one_scale_")
        return OneScaleModel(
            self.one_scale_mean_,
            self.one_scale_,
            self.one_scale_components_,
            self.one_scale_residual_axes_,
            latent,
        )

    def _fit_one_scale(self, X):
        """The one-scale member of validated training rows ``X`` and their terms, or None.

        See ``one_scale_mean_``. Its scale is the root mean square of
        ``scale_``: any single number gives the same model, and this one
        keeps the rows near unit size.
        """
        per_feature = self.standardize is not False and self.standardize != "global"
        if not per_feature or X.shape[1] > _MAX_RESIDUAL_AXES_WIDTH:
            return None
        scale = float(np.sqrt(np.mean(self.scale_**2)))
        n_components = self.n_components or _DEFAULT_VARIANCE_FRACTION
        axes = self.residual_axes_
        return fit_one_scale_model(
            self._rows_for_pca(X, self.mean_, scale),
            self.support_,
            self.mean_,
            scale,
            n_components,
            None if axes is None else len(axes),
            hold_residuals=self._holds_rows(X),
        )

    def _set_one_scale_model(self, model):
        """Store the one-scale member (or None) as fitted attributes: ``_one_scale_model``."""
        fields = (None,) * 4 if model is None else model[:4]
        (
            self.one_scale_mean_,
            self.one_scale_,
            self.one_scale_components_,
            self.one_scale_residual_axes_,
        ) = fields
        self._set_latent_model(None if model is None else model.latent, "one_scale_")

    def _one_scale_terms(self, X, model):
        """``OneScaleModel.terms`` of validated rows ``X``, a chunk of rows at a time."""
        step = self._chunk_rows(X.shape[1])
        with np.errstate(over="ignore", invalid="ignore"):  # reported by _finite
            return np.concatenate(
                [
                    model.terms(
                        self._standardized(
                            X[start : start + step], model.mean, model.scale, np.float64
                        )
                    )
                    for start in range(0, X.shape[0], step)
                ]
            )

    def _combined(self, members):
        """The likelihood score of rows: ``combined_score`` of the members' terms.

        ``members`` holds the rows' terms under the network's
        ``LatentModel`` and, where fitted, the ``OneScaleModel``'s. Models
        saved before the members were combined score minus half the first.
        """
        location = getattr(self, "score_location_", None)
        with np.errstate(over="ignore", invalid="ignore"):  # reported by _finite
            if location is None:
                return _finite(-0.5 * members[0])
            return _finite(combined_score(members, location, self.score_spread_))

    def _latent_model(self, prefix=""):
        """A fitted ``LatentModel``, from the fitted attributes.

        ``prefix`` names the member: ``""`` the network's, ``"one_scale_"``
        the one-scale one (see ``_LATENT_ATTRIBUTES``). Models saved before
        the neighbour density lack its attributes, and before Huber's rho
        ``huber_threshold_``.
        """
        fields = {
            field: getattr(self, prefix + name, None) for field, name in _LATENT_ATTRIBUTES.items()
        }
        if fields["references"] is None:  # no density: the defaults of its other fields
            del fields["n_neighbors"], fields["log_radius"], fields["median_distance"]
        return LatentModel(**fields, huber_threshold=getattr(self, "huber_threshold_", None))

    def _set_latent_model(self, model, prefix=""):
        """Store a member's ``LatentModel`` (or None) as fitted attributes: ``_latent_model``."""
        for field, name in _LATENT_ATTRIBUTES.items():
            setattr(self, prefix + name, None if model is None else getattr(model, field))

    def _check_family(self, X):
        super()._check_family(X)
        if self.anomaly_score == "elbo" and not self.variational:
            raise ValueError(
                "anomaly_score='elbo' needs a variational model: set variational=True."
            )

    def _check_n_components(self, shape, principal_axes):
        # keep the training rows' axes for _residual_axes, which runs just after
        self._fit_principal_axes = principal_axes
        return super()._check_n_components(shape, principal_axes)

    def _residual_axes(self, X):
        """``residual_axes_`` for validated training rows ``X`` (see the attribute)."""
        principal_axes = vars(self).pop("_fit_principal_axes", None)
        n_axes = X.shape[0] // _ROWS_PER_RESIDUAL_AXIS
        n_features = X.shape[1]
        if n_axes >= n_features or n_features > _MAX_RESIDUAL_AXES_WIDTH or not n_axes:
            return None
        if principal_axes is None and issparse(X):  # partial_fit, or a size searched on other rows
            X_std = self._standardized_rows(X, self.mean_, self.scale_, torch.device("cpu"))
            principal_axes = lambda: self._principal_axes(X_std)  # noqa: E731
        elif principal_axes is None:
            X_std = self._standardized(X, self.mean_, self.scale_, np.float32)
            principal_axes = lambda: PrincipalAxes([torch.from_numpy(X_std)])  # noqa: E731
        return principal_axes().components(n_axes)[0]

    @on_one_blas_thread
    def _fit_scores(self, X):
        """Fit the score's statistics and ``offset_`` on training rows; return their scores."""
        self.residual_axes_ = self._residual_axes(X)
        width = self._residual_width()
        # dense rows only: sparse rows' residuals would be their dense copy
        held = self._holds_rows(X, self.n_components_ + width)
        codes, residuals = self._codes_and_residuals(X, squares=held)
        energy = residuals.sum(axis=1) if held else residuals
        with np.errstate(over="ignore", invalid="ignore"):  # reported by _finite
            model, self.support_, log_radius = fit_latent_model(
                codes, energy, width - self.n_components_, self.support_fraction
            )
        self._set_latent_model(model)
        self.huber_threshold_ = model.huber_threshold
        if self.anomaly_score == "likelihood":
            if held:
                residual = model.residual_term(residuals)
            else:
                residual = self._codes_and_residuals(X, model)[1]
            with np.errstate(over="ignore", invalid="ignore"):  # reported by _finite
                members = [model.terms(codes, residual, log_radius)]
            del codes, residuals, residual, log_radius  # before the second member's
            one_scale = self._fit_one_scale(X)
            self._set_one_scale_model(None if one_scale is None else one_scale[0])
            if one_scale is not None:
                members.append(one_scale[1])
            _finite(np.concatenate(members))
            location = np.array([cube_root_location(terms) for terms in members])
            self.score_location_, self.score_spread_ = location.T.copy()
            scores = self._combined(members)
        else:
            self._set_one_scale_model(None)
            self.score_location_ = self.score_spread_ = None
            scores = self._scores(X)
        if self.contamination == "auto":
            median = np.median(scores)
            mad = np.median(np.abs(scores - median))
            z = _AUTO_ROBUST_Z[self.anomaly_score]
            self.offset_ = float(median - z * 1.4826 * mad)
        else:
            self.offset_ = _share_cut(scores, self.contamination)
        return scores

    @_fit_context(prefer_skip_nested_validation=True)
    @_atomic  # offset_ is part of the fit: a failure leaves the previous fit
    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` and set the outlier threshold.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows (possibly contaminated by outliers).
        y : None
            Ignored.

        Returns
        -------
        self : AutoencoderOutlierDetector
            The fitted estimator.
        """
        self._fit_scores(self._fit(X, incremental=False))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_atomic  # offset_ is part of the fit: a failure leaves the previous fit
    def partial_fit(self, X, y=None):
        """Train for one epoch on the rows ``X`` and reset the threshold on them.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training rows.
        y : None
            Ignored.

        Returns
        -------
        self : AutoencoderOutlierDetector
            The updated estimator.
        """
        self._fit_scores(self._fit(X, incremental=True))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_atomic  # offset_ is part of the fit: a failure leaves the previous fit
    def fit_predict(self, X, y=None):
        """Train on ``X`` and return its labels: -1 for outliers, +1 for inliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Integer labels.
        """
        scores = self._fit_scores(self._fit(X, incremental=False))
        return self._labels(scores - self.offset_)

    @_fit_context(prefer_skip_nested_validation=True)
    @_atomic  # offset_ is part of the fit: a failure leaves the previous fit
    def fit_transform(self, X, y=None):
        """Train on ``X`` and return its latent codes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            The codes of ``X``, float32 for float32 input and float64 otherwise.
        """
        X = self._fit(X, incremental=False)
        self._fit_scores(X)
        return self._encode(X)

    def score_samples(self, X):
        """Normality score of each row (see ``anomaly_score``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 scores; the lower, the more abnormal.
        """
        return self._scores(self._validated(X))

    def decision_function(self, X):
        """Shifted scores: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``, float64.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label rows: -1 for outliers, +1 for inliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Integer labels.
        """
        return self._labels(self.decision_function(X))

    @staticmethod
    def _labels(decision):
        labels = np.ones(len(decision), dtype=int)
        labels[decision < 0] = -1
        return labels


def _kept_rows_pca(rows, support):
    """A callable returning the ``PrincipalAxes`` of the ``support`` rows of ``rows``, or None.

    ``rows`` is the robust PCA's ``StandardizedRows``; the axes come from
    its decomposition of those rows, in float32 (see
    ``_scoring._SELECTION_DTYPE``): the network's weights are float32. None
    for rows of more than ``max_covariance_width()`` features and at least
    as many rows: ``PrincipalAxes`` computes only the leading axes of those.
    """
    n_samples, n_features = rows.n_samples, rows.n_features
    if n_samples >= n_features > max_covariance_width():
        return None
    mean, variances, axes, basis = rows.pca(support)
    return lambda: PrincipalAxes.from_decomposition(
        int(support.sum()), mean, variances, axes, basis
    )


def _finite(scores):
    """``scores``, or the overflow error where one is not finite."""
    if not np.all(np.isfinite(scores)):
        raise _overflow_error("float64")
    return scores


def _share_cut(scores, share):
    """A threshold below which ``j = round(share * len(scores))`` of ``scores`` lie.

    Just above the ``j``-th lowest score (1 % of the way to the next), so that
    exactly ``j`` training rows are flagged (ties aside), and a new row
    exchangeable with the ``n`` training rows falls below it with probability
    about ``j / (n + 1)``: ``share`` itself. A linearly interpolated percentile
    flags two of 100 rows for ``share=0.01``, and new rows at twice that rate.
    """
    ordered = np.sort(scores)
    n_flagged = int(round(share * len(ordered)))
    if n_flagged == 0:
        return float(ordered[0] - (abs(ordered[0]) + 1.0))
    if n_flagged >= len(ordered):
        return float(ordered[-1] + (abs(ordered[-1]) + 1.0))
    last, following = ordered[n_flagged - 1], ordered[n_flagged]
    return float(last + _CUT_POSITION * (following - last))
