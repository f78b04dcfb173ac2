"""AutoencoderOutlierDetector: anomaly detection with an autoencoder, used like IsolationForest.

This file holds the estimator's parameters, public methods and threshold.
What it adds to a fit lives in two mixins: its robust units and training
rows in ``_robust_rows``, its score's statistics in ``_score_model``.
"""

from numbers import Real

import numpy as np
from sklearn.base import OutlierMixin

from ._base import _atomic, _BaseAutoencoder
from ._params import fill_doc
from ._robust_rows import _RobustRowsMixin
from ._score_model import _ScoreModelMixin
from ._validation import Interval, StrOptions, _fit_context

# The 'auto' threshold: a training score more than this many robust standard
# deviations (1.4826 * MAD) below the median score marks an outlier. The
# likelihood score is close to normal for inliers (see _scoring.robust_z): 2
# flags about 2.3 % of clean rows; on the benchmark files' tuning half it
# gave the best F1 of predict among 2, 2.5 and 3 (0.411, 0.397, 0.364; the
# confirming half: 0.306, 0.283, 0.252). The reconstruction errors and the
# ELBO keep the heavier right tail of squared errors, and 3.
_AUTO_ROBUST_Z = {"likelihood": 2.0, "reconstruction": 3.0, "elbo": 3.0}

# Width of the default hidden layers.
_HIDDEN_WIDTH = 64

# Where offset_ lies between the last flagged training score and the next.
_CUT_POSITION = 0.01

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
    "max_iter": """max_iter : int, default=3
        Number of epochs of training. Networks reconstruct the bulk of the
        data before they learn its outliers, so the detector trains briefly
        from PCA's solution: reaching ``max_iter`` is the budget running out,
        not a failure to converge, and raises no ``ConvergenceWarning``.
        With 5 epochs instead of 3, the mean ROC-AUC of each half-group of
        the detection benchmark moved by at most 0.003, for a tenth more
        time on a few hundred embeddings (see the quality page).""",
    "early_stopping": """early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the rows and stop when
        their reconstruction error stops improving, restoring the weights of
        the best validation epoch (the starting weights, PCA's solution with
        ``init="pca"``, count as epoch 0). Off by default: the short budget
        of ``max_iter`` already stops training early, and every row is used.""",
}


@fill_doc(parameters=_DETECTOR_PARAMETERS)
class AutoencoderOutlierDetector(
    OutlierMixin, _ScoreModelMixin, _RobustRowsMixin, _BaseAutoencoder
):
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
    than 4096, and where one feature holds at least 95 % of the variance
    in one scale (a table whose units differ: that feature alone would be
    the member's code), the network's member scores alone.
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
    and residuals (``support_``). In both fits, a row left out then returns
    where it lies within the score's normal range and most of its nearest
    training rows were kept: the inliers' fringe is left out row by row, a
    group of anomalies as a group. The user guide gives the evidence and
    where this fails.

    The rest of the default model is chosen to carry over to data it was not
    tuned on: features are scaled robustly (median and interquartile range),
    and the network starts from PCA's solution for 95 % of the variance and
    trains for a short budget of 3 epochs.

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
        rows known to be clean, where robustness only costs precision, and
        for inliers in groups of unequal size (categories, machine
        states), whose smaller groups the robust fit sets aside with the
        anomalies (see the user guide).

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
        ``anomaly_score`` other than ``"likelihood"``, a support spanning
        fewer than two directions, or one feature holding at least 95 % of
        the support's variance in one scale; every ``one_scale_*``
        attribute is then None.

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
        max_iter=3,
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

    def _check_family(self, X):
        super()._check_family(X)
        if self.anomaly_score == "elbo" and not self.variational:
            raise ValueError(
                "anomaly_score='elbo' needs a variational model: set variational=True."
            )

    def _fit_scores(self, X):
        """Fit the score's statistics and ``offset_`` on training rows; return their scores."""
        scores = self._fit_score_model(X)
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
