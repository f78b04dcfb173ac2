"""The detector's scoring model: robust probabilistic PCA over the codes and residuals.

``AutoencoderOutlierDetector`` scores a row by how unlikely its code and its
reconstruction residual are under a model of the training rows. This module
holds that model and the robust estimates it is fitted with; it imports
neither torch nor skorch (its eigensolver is scipy's).

Masking. The training rows hold the anomalies too. A model fitted to every
row learns them: a tight group of anomalies gets a principal axis, the codes'
covariance stretches to cover it, and its rows then look typical. So both the
network's training rows and the score's statistics are estimated robustly, as
the minimum covariance determinant (MCD) estimator does for a Gaussian
(Rousseeuw and Van Driessen, 1999): starting from every row, two
*concentration steps* each refit the model on the half of the rows it fits
best (a breakdown point of 50 %: no group of fewer than half the rows can
pull the fit towards itself), and a *reweighting step* then gives back every
row whose score is not an outlier by a robust rule on the scores themselves
(below their median plus 3 robust standard deviations, 1.4826 times the
median absolute deviation), which restores most of the efficiency lost by
fitting on half the rows. ``robust_support`` is that procedure for any
model; ``ppca_support`` applies it to probabilistic PCA of standardized rows
before training (each subset's PCA fitted within the span of every row's
leading axes, ``ReducedRows``), and ``fit_latent_model`` to the network's
codes and residuals.

Lone rows. The reweighting's rule reads one Gaussian's terms, so where the
inliers' terms have heavier tails than one Gaussian's (inliers in several
groups, or a skewed code), it also leaves out the inliers' fringe: the
network does not train on it, and the score ranks those inliers with the
anomalies. A group of anomalies is left out as a group; the fringe is left
out row by row. So in both robust fits a row that was left out returns
where it is near the inliers and not in a group: its ``robust_z`` under the
model refitted on the rows the reweighting kept is at most
``_REWEIGHT_ROBUST_Z`` (within the score's own normal range: a looser cut
than the reweighting's, on the terms, whose right tail is longer than their
cube roots'), and most of its ``_LONE_NEIGHBORS`` nearest training rows, in
that model's coordinates, are in the support (``_with_lone_rows``). Rows of
a group have each other as nearest rows and stay out.

The number of principal axes is masked too: counted on every row, a group
of anomalies away from the rest gets an axis of its own, so ``ppca_support``
counts the axes again on the rows it kept and refits with fewer while fewer
suffice.

Several modes. One Gaussian over the codes misses a row that lies between two
clusters of inliers: it is close to the codes' mean. ``LatentModel`` adds a
neighbour density: the distance from a code to its ``k``-th nearest code
among (at most 1000 of) the support's codes, with ``k`` the square root of
that count (the usual rate for a consistent k-nearest-neighbour density
estimate, Loftsgaarden and Quesenberry, 1965), put on the scale of the
Mahalanobis distance (``-2 log`` of a density in ``n_components``
dimensions is ``2 n_components log r`` up to a constant, matched at the
support's median). The code's term is the larger of the two: far from the
mean, or far from any group of training codes. The robust fit, though,
assumes one group of inliers: it keeps what one Gaussian fits best, so of
inliers in groups of unequal size the smaller (below about a third of
the rows) are set aside with the anomalies, as a tight group of anomalies
is. The rows do not tell the two apart; ``support_fraction=1.0`` reads
them as inliers (the user guide's advice for such data).

Heavy tails. Both terms are sums of squared deviations, one per
coordinate: the code's along the principal axes of the codes' covariance,
in standard deviations, and the residual's along each of its coordinates,
in units of the noise's. A Gaussian term lets one coordinate decide the
sum, so where the inliers' deviations have heavier tails than a Gaussian
(a feature the network reconstructs badly for a few ordinary rows, a
skewed code), those inliers outrank anomalies that deviate moderately in
several coordinates. So each coordinate counts by Huber's rho (Huber,
1964), the ``-2 log`` density of Huber's least favourable distribution:
the square of its deviation up to ``_HUBER_THRESHOLD`` standard
deviations, growing linearly past it. A row far out in one coordinate
still scores far out, and the score is the Gaussian one for every row
whose coordinates all lie within the threshold.

Two scalings. The detector scales each feature by its own spread, so that
an anomaly shows in a narrow-range feature as well as in a wide one; but
where the features are of one kind (a network's embeddings of photos or
texts), their spreads are part of what is normal, and one scale for every
feature ranks anomalies better. Neither choice holds for every data set,
and no rule read from the data chose between them reliably (see the
quality page). So the likelihood score has two members that see the
same rows in the two scalings: the network's ``LatentModel`` in the
per-feature scale, and ``OneScaleModel``, probabilistic PCA of the same
support rows with one scale for every feature (the same Gaussian,
neighbour density, isotropic noise and Huber's rho, on the leading axes
that keep the same share of the variance; no network: a second network
would double the cost of a fit). Each member's terms are put on a
common scale by ``robust_z`` and the score averages them: a row gets the
evidence of both scalings. Where one feature holds nearly all the variance
in one scale (a table whose features are in different units), the
one-scale member would model that feature's unit alone, and is left out.
"""

from typing import NamedTuple

import numpy as np
import scipy.linalg

# Concentration steps of the robust fits, and the share of rows each keeps:
# half, the most a fit can lose to outliers (MCD's maximal breakdown point).
_C_STEPS = 2
_SUPPORT_FRACTION = 0.5

# The reweighting step keeps the rows whose score lies less than this many
# robust standard deviations (1.4826 * MAD) above the median score.
_REWEIGHT_ROBUST_Z = 3.0

# A row the reweighting left out returns to the score's support where most of
# its this many nearest training rows are in the support (see _with_lone_rows):
# a row with 3 left-out rows among its 5 nearest stays out. Applied to the
# score's statistics alone, with 3, 5 and 9, on every file and synthetic set
# of the detection benchmark (random_state=0), the local type's tuning half
# was 0.882, 0.883 and 0.883 and wine 0.867, 0.867 and 0.628: with 9, the
# left-out half of wine's anomalies (a class of 10 rows, the other half kept
# by the reweighting) returned.
_LONE_NEIGHBORS = 5

# The neighbour density reads at most this many support codes, evenly spaced:
# distances from every scored row to all of them, chunk by chunk, so its cost
# is proportional to this number. With 1000 instead of 2000, every file of
# the detection benchmark moved by at most 0.0023 ROC-AUC (magic, letter),
# at two seeds; with 500, magic lost 0.0065.
_MAX_REFERENCE_ROWS = 1000

# Numbers in one chunk's query x reference distance matrix (4 MiB of float64).
_QUERY_CHUNK_SIZE = 2**19

# The robust fits' decompositions (and the covariance route's scatter
# matrices) are computed in float32: they only rank the rows to choose a
# support, which float32's seven digits do as float64's sixteen would, but
# for rows tied to about 1e-6 and for axes whose variance
# is below the largest's times float32's epsilon times the matrix's size
# (left to the residual, as float64 leaves those below its own epsilon);
# LAPACK's float32 eigensolver takes about half the time. The score's
# statistics are float64. The network's PCA start reads the decomposition of
# the rows kept (``StandardizedRows.pca``): its weights are float32, and a
# second decomposition of the same rows in float64 cost a fifth of a fit on
# a few hundred embeddings.
_SELECTION_DTYPE = np.float32

# The concentration steps fit PCA within the span of every row's leading
# principal axes, this many times as many as the code's first count (see
# ReducedRows): room for a subset's axes to turn away from every row's. With
# 1, 1.5 and 2 times, every half-group of the detection benchmark stayed
# within 0.004 of the steps' PCA of the whole rows.
_REDUCED_AXES_FACTOR = 2

# The one-scale member reads the features' spreads as part of what is normal,
# which holds where the features are of one kind (embeddings). Where one
# feature holds at least this share of the support's variance in one scale,
# the share the default code keeps, the member's code is that feature alone:
# its spread is its unit's, and the member is left out. In the benchmark the
# embeddings' largest feature holds 0.5 to 14 % of it, and only wine's
# proline (values of 278 to 1680, 99.6 %) and one of http's (97 %) reach the
# share; on scikit-learn's wine data, with a class as anomalies, the score
# ranked them at 0.90 to 0.92 with the member and 0.91 to 0.95 without.
_MAX_FEATURE_SHARE = 0.95

# Floor of the noise variance (standardized units), for models that
# reconstruct their training rows exactly.
_MIN_NOISE_VARIANCE = 1e-6

# Huber's rho replaces the square of a coordinate's deviation past this many
# standard deviations: under the Gaussian model 0.27 % of the coordinates lie
# beyond it, so the score departs from the Gaussian likelihood only where a
# coordinate is rare under it. On the benchmark files' tuning half,
# thresholds of 1.345 (95 % efficiency at the Gaussian), 2, 3 and 4 gave mean
# ROC-AUCs within 0.002 of one another in every group.
_HUBER_THRESHOLD = 3.0


def huber(squared, threshold):
    """Huber's rho of deviations given by their squares, in standard deviations.

    ``u ** 2`` where ``|u| <= threshold``, ``2 * threshold * |u| -
    threshold ** 2`` past it: continuous, with a continuous slope. Written
    as ``min(|u|, t) * (2 |u| - min(|u|, t))``, which adds no rounding
    error of ``u ** 2``'s size to the linear part (float32 included);
    for ndarrays and torch tensors alike (an ndarray's in place of its
    root: one array instead of five, the same numbers).
    """
    if isinstance(squared, np.ndarray):
        root = np.sqrt(squared)
        clipped = np.minimum(root, threshold)
        root *= 2
        root -= clipped
        root *= clipped
        return root
    root = squared**0.5
    clipped = root.clip(max=threshold)
    return clipped * (2 * root - clipped)


def robust_support(terms_of, n_samples, support_fraction=None, points_of=None):
    """Boolean mask of the rows a robust fit keeps (see the module's docstring).

    Parameters
    ----------
    terms_of : callable
        ``terms_of(support)`` fits the model on the rows where the boolean
        mask ``support`` is True and returns every row's outlyingness (the
        larger, the worse fitted) as an ndarray of shape (n_samples,).
    n_samples : int
        Number of rows.
    support_fraction : float or None, default=None
        Share of the rows each concentration step keeps; None: half. 1.0
        keeps every row: no robust fit.
    points_of : callable or None, default=None
        ``points_of(support)`` returns every row's coordinates under the
        model fitted on ``support``, an ndarray of shape (n_samples,
        n_coordinates) whose rows' squared norms are ``terms_of(support)``;
        with it, the lone rows return after the reweighting
        (``_with_lone_rows``), read under the model refitted on the rows it
        kept: one fit gives both their coordinates and their terms.

    Returns
    -------
    support : ndarray of shape (n_samples,), dtype bool
        The rows of the reweighted fit.
    """
    support = np.ones(n_samples, dtype=bool)
    if support_fraction == 1:
        return support
    kept = max(int((support_fraction or _SUPPORT_FRACTION) * n_samples), 2)
    for _ in range(_C_STEPS):
        terms = terms_of(support)
        support = np.zeros(n_samples, dtype=bool)
        support[np.argsort(terms, kind="stable")[:kept]] = True
    terms = terms_of(support)
    median = np.median(terms)
    spread = 1.4826 * np.median(np.abs(terms - median))
    reweighted = terms <= median + _REWEIGHT_ROBUST_Z * spread
    if reweighted.sum() < kept:
        return support
    if points_of is None:
        return reweighted
    return _with_lone_rows(reweighted, points_of(reweighted))


def _gaussian(codes, support):
    """Mean and precision of the support's codes (the inverse of a lightly ridged covariance)."""
    rows = codes[support]
    mean = rows.mean(axis=0)
    if len(rows) > 1:
        covariance = np.atleast_2d(np.cov(rows, rowvar=False))
    else:
        covariance = np.eye(codes.shape[1])
    ridge = 1e-9 * max(np.trace(covariance), 1.0)
    return mean, _inverse(covariance + ridge * np.eye(len(covariance)))


def _inverse(matrix):
    """Inverse of a ridged covariance matrix, by its Cholesky factor.

    The ridge keeps every eigenvalue above the cutoff of a pseudo-inverse,
    so the two agree; the factor and its solve cost a third to a half of an
    eigendecomposition. A matrix it fails on (not finite, or not positive
    definite through rounding) gets the pseudo-inverse.
    """
    try:
        factor = scipy.linalg.cho_factor(matrix, lower=True, check_finite=True)
    except (np.linalg.LinAlgError, ValueError):
        return _symmetric_pinv(matrix)
    inverse = scipy.linalg.cho_solve(factor, np.eye(len(matrix)), check_finite=False)
    return (inverse + inverse.T) / 2


def _symmetric_pinv(matrix):
    """``np.linalg.pinv`` of a symmetric matrix, by its eigendecomposition (a few times faster)."""
    values, vectors = np.linalg.eigh(matrix)
    cutoff = len(matrix) * np.finfo(np.float64).eps * np.abs(values).max(initial=0.0)
    inverse = np.zeros_like(values)
    large = np.abs(values) > cutoff
    inverse[large] = 1.0 / values[large]
    return (vectors * inverse) @ vectors.T


def mahalanobis(codes, mean, precision):
    """Squared Mahalanobis distance of each code."""
    centred = codes - mean
    # the product first: einsum over three operands loops in C, without BLAS
    return np.einsum("ij,ij->i", centred @ precision, centred)


def _noise_variance(energy, support, n_discarded):
    """Mean squared residual of the support's rows per discarded dimension."""
    return max(float(energy[support].mean()) / max(n_discarded, 1), _MIN_NOISE_VARIANCE)


def _outlyingness(codes, energy, support, n_discarded):
    """Every row's outlyingness under probabilistic PCA of the ``support`` rows.

    The squared Mahalanobis distance of its code under the support's
    codes' Gaussian plus its squared residual norm ``energy`` over the
    noise variance: the Gaussian terms that the robust fits rank rows by.
    """
    mean, precision = _gaussian(codes, support)
    noise = _noise_variance(energy, support, n_discarded)
    return mahalanobis(codes, mean, precision) + energy / noise


def _model_coordinates(codes, energy, support, n_discarded):
    """Every row's coordinates under the model of ``_outlyingness``.

    Its code along the principal axes of the support's codes' covariance,
    in standard deviations, and its residual's norm, in the noise's: the
    terms are their squared norm.
    """
    mean, precision = _gaussian(codes, support)
    noise = _noise_variance(energy, support, n_discarded)
    return np.column_stack([(codes - mean) @ _whitening(precision), np.sqrt(energy / noise)])


class StandardizedRows:
    """Principal axes of any subset of standardized rows, for the robust PCA.

    ``ppca_support`` and the detector's count of axes read the PCA of many
    subsets of the same rows. Two routes give it, the cheaper by the rows'
    shape:

    - fewer rows than features (wide rows, such as image or text
      embeddings): the rows are gathered once, centred, and their Gram
      matrix of inner products formed. A subset's principal axes are then
      the eigenvectors of its block of that matrix, centred on the subset's
      mean (PCA with a linear kernel), and every row's code and residual
      follow from the inner products alone: ``rows ** 2`` numbers per
      subset, none of them per feature. The rows' Gram matrix holds fewer
      numbers than their covariance matrix would.
    - otherwise, each subset's covariance matrix is formed in one pass over
      ``chunks()`` and decomposed, ``features ** 3``; the rows are held only
      as ``chunks()`` holds them.

    Either way the decomposition of every row is computed once: each fit of
    ``ppca_support`` starts from it. The last other one is kept too, so that
    ``pca`` hands the rows ``ppca_support`` kept, just decomposed to count
    their axes, to the network's PCA start without a second decomposition.

    Parameters
    ----------
    chunks : callable
        ``chunks()`` yields the standardized rows in order, as float64
        ndarrays of a few rows each.
    shape : tuple of int
        ``(n_samples, n_features)``.
    """

    def __init__(self, chunks, shape):
        self.chunks = chunks
        self.n_samples, self.n_features = shape
        self._every_row = None  # the decomposition of every row, once computed
        self._last = None  # (support, decomposition): the last other one
        self._every_sum = None  # the sums over every row (covariance route)
        self._gram = None
        if self.n_samples < self.n_features:
            rows = np.vstack(list(chunks()))
            rows -= rows.mean(axis=0)  # inner products of centred rows: no cancellation
            # in float32, the precision of the decompositions that read it
            # (_SELECTION_DTYPE), where its range holds the products
            with np.errstate(over="ignore", invalid="ignore"):
                narrow = rows.astype(_SELECTION_DTYPE)
                gram = narrow @ narrow.T
            self._gram = gram if np.isfinite(gram).all() else rows @ rows.T

    def _centred_gram(self, support, rows=None):
        """Inner products of the rows with each support row, about the support's mean.

        ``rows``, a boolean mask of the rows to return (every row: None),
        must hold the support. Returns the products (shape (rows.sum(),
        support.sum())), each of those rows' inner product with the
        support's mean and that mean's squared norm.
        """
        cross = self._gram[:, support] if rows is None else self._gram[np.ix_(rows, support)]
        means = cross.mean(axis=1)
        support_means = means[support if rows is None else support[rows]]
        mean_norm = support_means.mean()
        cross -= means[:, None]
        cross -= (support_means - mean_norm)[None, :]
        return cross, means, mean_norm

    def _rows_where(self, mask):
        """The rows where the boolean ``mask`` is True, chunk by chunk."""
        start = 0
        for chunk in self.chunks():
            yield chunk[mask[start : start + len(chunk)]]
            start += len(chunk)

    def _sums(self, rows):
        """Count, sum and scatter ``x.T @ x`` of the rows where the mask ``rows`` is True.

        Each chunk's scatter is formed in float32, the precision of the
        decomposition that reads it (``_SELECTION_DTYPE``), in about half the
        time of float64, and added up in float64; a chunk whose float32
        products overflow is formed in float64.
        """
        count, total = 0, np.zeros(self.n_features)
        scatter = np.zeros((self.n_features,) * 2)
        for kept in self._rows_where(rows):
            count, total = count + len(kept), total + kept.sum(axis=0)
            with np.errstate(over="ignore", invalid="ignore"):
                narrow = kept.astype(_SELECTION_DTYPE)
                product = narrow.T @ narrow
            if not np.isfinite(product).all():
                product = kept.T @ kept
            scatter += product
        return count, total, scatter

    def _moments(self, support):
        """Mean and covariance of the rows where ``support`` is True.

        The sums over every row are kept; when the rows left out are fewer
        than those kept (as after a reweighting step), their sums are
        subtracted from them instead of summing the kept ones.
        """
        if self._every_sum is None:
            self._every_sum = self._sums(np.ones(self.n_samples, dtype=bool))
        left_out = ~support
        if not left_out.any():
            count, total, scatter = self._every_sum
        elif left_out.sum() < support.sum():
            out = self._sums(left_out)
            count, total, scatter = (a - b for a, b in zip(self._every_sum, out, strict=True))
        else:
            count, total, scatter = self._sums(support)
        mean = total / count
        return mean, (scatter - count * np.outer(mean, mean)) / max(count - 1, 1)

    def _decomposition(self, support, centred=None):
        """Descending eigenvalues, eigenvectors and mean of the support's rows.

        Gram route: of the support's centred Gram matrix, whose eigenvalues
        are its scatter's (mean None); ``centred``, the first output of
        ``_centred_gram(support)`` when already formed. Covariance route: of
        its covariance matrix. Every row's is kept, and the last other one.
        """
        every_row = bool(support.all())
        if every_row and self._every_row is not None:
            return self._every_row
        if not every_row and self._last is not None and np.array_equal(self._last[0], support):
            return self._last[1]
        if self._gram is not None:
            if centred is None:
                matrix = self._centred_gram(support, rows=support)[0]
            else:
                matrix = centred[support]
            mean = None
        else:
            mean, matrix = self._moments(support)
        result = (*_selection_eigh(matrix), mean)
        if every_row:
            self._every_row = result
        else:
            self._last = support.copy(), result
        return result

    def n_components_for(self, fraction, support=None):
        """Fewest principal axes explaining ``fraction`` of the support's variance (all: None)."""
        if support is None:
            support = np.ones(self.n_samples, dtype=bool)
        variances = np.maximum(self._decomposition(support)[0], 0.0)
        total = variances.sum()
        if not total > 0:
            return 1
        return int(np.searchsorted(np.cumsum(variances) / total, fraction) + 1)

    def pca(self, support):
        """PCA of the support's rows, read from their (float32) decomposition.

        Returns ``(mean, variances, axes, basis)``: the rows' mean, and their
        variances along the principal axes (descending, ``n - 1`` degrees of
        freedom). Covariance route: ``axes`` holds the axes as rows, ``basis``
        is None. Gram route: ``axes`` is None and ``basis`` is ``(centred,
        vectors)``: the support's rows centred on their mean, and the
        eigenvectors of their Gram matrix each divided by the square root of
        its eigenvalue (zero past the rank), so that the axes are the rows of
        ``(centred.T @ vectors).T``, formed only for those asked for.
        """
        values, vectors, mean = self._decomposition(support)
        values = np.maximum(values, 0.0)
        if self._gram is None:  # the covariance's eigenvalues: the variances
            return mean, values, vectors.T, None
        variances = values / max(int(support.sum()) - 1, 1)  # the scatter's
        centred = np.vstack(list(self._rows_where(support)))
        mean = centred.mean(axis=0)
        centred -= mean
        positive = vectors.any(axis=0)  # see _decomposition
        vectors = vectors / np.sqrt(np.where(positive, values, 1.0))
        return mean, variances, None, (centred, vectors)

    def ppca_terms(self, support, n_components):
        """Every row's code and squared residual norm under the support's PCA.

        The codes are on the leading ``n_components`` axes (zero past the
        support's rank), centred on the support's mean.
        """
        if self._gram is not None:
            centred, means, mean_norm = self._centred_gram(support)
            values, vectors, _ = self._decomposition(support, centred)
            values, vectors = values[:n_components], vectors[:, :n_components]
            # the axes are the support's centred rows times vectors / sqrt(values)
            positive = vectors.any(axis=0)  # see _decomposition
            vectors = vectors / np.sqrt(np.where(positive, values, 1.0))
            codes = centred @ vectors
            squared = np.diag(self._gram) - 2.0 * means + mean_norm
            return codes, np.maximum(squared - np.einsum("ij,ij->i", codes, codes), 0.0)
        _, vectors, mean = self._decomposition(support)
        vectors = vectors[:, :n_components]
        axes = np.zeros((self.n_features, n_components))
        axes[:, : vectors.shape[1]] = vectors
        codes, energy, buffer = [], [], None
        for chunk in self.chunks():
            if buffer is None or len(buffer) < len(chunk):  # see LatentModel._log_radius
                buffer = np.empty_like(chunk)
            centred = np.subtract(chunk, mean, out=buffer[: len(chunk)])
            code = centred @ axes
            codes.append(code)
            energy.append(
                np.einsum("ij,ij->i", centred, centred) - np.einsum("ij,ij->i", code, code)
            )
        return np.vstack(codes), np.maximum(np.concatenate(energy), 0.0)


def _selection_eigh(matrix):
    """Descending eigenvalues and eigenvectors of a symmetric matrix, for the robust fits.

    In float32 (see ``_SELECTION_DTYPE``), by LAPACK's divide and conquer;
    in float64 where float32's range cannot hold the entries (unscaled
    rows). Returned as float64, with the eigenvectors of (relatively) zero
    eigenvalues, rounding errors, set to zero.
    """
    with np.errstate(over="ignore"):
        narrow = matrix.astype(_SELECTION_DTYPE)
    if np.isfinite(narrow).all():
        matrix = narrow
    values, vectors = scipy.linalg.eigh(matrix, driver="evd", check_finite=False)
    values = values[::-1].astype(np.float64)
    vectors = vectors[:, ::-1].astype(np.float64)
    vectors[:, values <= values[0] * len(matrix) * np.finfo(matrix.dtype).eps] = 0.0
    return values, vectors


class ReducedRows:
    """Rows as their codes on every row's leading principal axes, and what those leave.

    The robust PCA's concentration steps refit PCA on many subsets of the
    rows. They fit it within the span of every row's leading axes, as
    ROBPCA runs its MCD step on the rows' scores along a few leading axes
    (Hubert, Rousseeuw and Vanden Branden, 2005): a subset's axes are the
    eigenvectors of its codes' covariance, a matrix of that span's size
    whatever the number of features or rows, and each row's residual is what
    its code leaves within the span plus its squared distance to the span
    (about every row's mean): the variance a subset holds outside the span
    is its residual's. Against steps that decomposed each subset's Gram
    (then float64) or covariance matrix, the robust PCA took 26 ms instead
    of 43 on 501 embeddings of 512 features (MVTec-AD hazelnut), 32
    instead of 75 on 615 of 768 (20news BERT) and 199 instead of 355 on
    5263 of 512 (CIFAR-10), and kept the same rows but for 0.2 to 2.8 %
    of them.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_axes)
        Every row's coordinates along every row's leading axes, centred on
        every row's mean.
    energy : ndarray of shape (n_samples,)
        Every row's squared distance to the span of those axes.
    """

    def __init__(self, codes, energy):
        self.codes = codes
        self.energy = energy
        # each row's squared distance to every row's mean
        self._squared_norms = energy + np.einsum("ij,ij->i", codes, codes)
        self._last = None  # (support, decomposition): a step's, read again by the next
        # Every row's decomposition needs no solver: the codes are every row's
        # coordinates along its own principal axes, so their covariance is
        # diagonal (to the float32 decomposition's precision) and its
        # eigenvectors are the coordinate axes.
        mean = codes.mean(axis=0)
        centred = codes - mean
        variances = np.einsum("ij,ij->j", centred, centred) / max(len(codes) - 1, 1)
        order = np.argsort(-variances, kind="stable")
        self._every_row = variances[order], np.eye(len(variances))[:, order], mean

    def _decomposition(self, support):
        """Descending eigenvalues, eigenvectors and mean of the support's codes."""
        if support.all():
            return self._every_row
        if self._last is not None and np.array_equal(self._last[0], support):
            return self._last[1]
        codes = self.codes[support]
        mean = codes.mean(axis=0)
        centred = codes - mean
        covariance = centred.T @ centred / max(len(codes) - 1, 1)
        result = (*_selection_eigh(covariance), mean)
        self._last = support.copy(), result
        return result

    def ppca_terms(self, support, n_components):
        """Every row's code on the support's ``n_components`` leading axes, and residual.

        As ``StandardizedRows.ppca_terms``, with the support's axes taken
        within the span.
        """
        _, vectors, mean = self._decomposition(support)
        vectors = vectors[:, :n_components]
        # about the support's mean, without a centred copy of every code
        codes = self.codes @ vectors
        codes -= mean @ vectors
        squared = self._squared_norms - 2.0 * (self.codes @ mean) + mean @ mean
        return codes, np.maximum(squared - np.einsum("ij,ij->i", codes, codes), 0.0)

    def n_components_for(self, fraction, support):
        """Fewest of the support's axes explaining ``fraction`` of its variance.

        The variance outside the span counts in the total; where the span's
        axes cannot explain ``fraction`` of it, one more than they number.
        """
        variances = np.maximum(self._decomposition(support)[0], 0.0)
        explained = np.cumsum(variances)
        total = explained[-1] + float(self.energy[support].mean())
        if not total > 0:
            return 1
        if explained[-1] < fraction * total:
            return len(variances) + 1
        return int(np.searchsorted(explained / total, fraction) + 1)


def ppca_support(rows, n_components, support_fraction=None, variance_fraction=None):
    """Rows that a robust probabilistic PCA keeps, or None.

    The model of each concentration step is PCA of the support's rows with
    ``n_components`` axes, its codes' Gaussian and its isotropic residual
    noise; a row's outlyingness is the squared Mahalanobis distance of its
    code (along the support's axes, a sum over them of the code's square
    over their variance: ``_axes_coordinates``) plus its squared residual
    norm over the noise variance. The steps fit it within the span of
    every row's ``_REDUCED_AXES_FACTOR * n_components`` leading axes
    (``ReducedRows``); the lone rows return after the reweighting
    (``_with_lone_rows``). None when there are too few rows to fit it on
    half of them.

    With ``variance_fraction``, ``n_components`` is only where the number of
    axes starts: it is then read again from the kept rows' own variance, and
    the fit is repeated with fewer axes while they need fewer. Anomalies that
    spread along a direction of their own (a tight group far from the rest)
    give it a principal axis when the axes are counted on every row, and
    that axis lets them fit; counted on the kept rows, it is gone. The count
    never grows again (the first count bounds it), so the repetitions end.

    Parameters
    ----------
    rows : StandardizedRows
        The standardized rows.
    n_components : int
        Number of principal axes (with ``variance_fraction``: at most).
    support_fraction : float or None, default=None
        See ``robust_support``.
    variance_fraction : float or None, default=None
        Share of the kept rows' variance that the axes explain, as in
        ``StandardizedRows.n_components_for``; None keeps ``n_components``
        fixed.

    Returns
    -------
    support : ndarray of shape (n_samples,), dtype bool, or None
    """
    n_samples, n_features = rows.n_samples, rows.n_features
    fraction = support_fraction or _SUPPORT_FRACTION
    if fraction == 1 or n_samples * fraction <= n_components + 1 or n_components >= n_features:
        return None  # fewer axes later only make the fit easier: checked once
    n_axes = min(_REDUCED_AXES_FACTOR * n_components, n_samples, n_features)
    reduced = ReducedRows(*rows.ppca_terms(np.ones(n_samples, dtype=bool), n_axes))
    while True:
        support = _ppca_support(reduced, n_features, n_components, support_fraction)
        if variance_fraction is None:
            return support
        fewer = reduced.n_components_for(variance_fraction, support)
        if fewer >= n_components:
            return support
        n_components = fewer


def _ppca_support(rows, n_features, n_components, support_fraction):
    """``ppca_support`` with a fixed number of axes, on ``ReducedRows``."""

    def points(support):
        return _axes_coordinates(*rows.ppca_terms(support, n_components), support, n_discarded)

    def terms(support):
        coordinates = points(support)
        return np.einsum("ij,ij->i", coordinates, coordinates)

    n_discarded = n_features - n_components
    return robust_support(terms, len(rows.codes), support_fraction, points)


def _axes_coordinates(codes, energy, support, n_discarded):
    """``_model_coordinates`` of codes along the support's principal axes, about its mean.

    Over the support such codes are uncorrelated: their covariance is
    diagonal, each axis's variance (ridged as ``_gaussian`` ridges it), and
    a code's coordinates are its own divided by their standard deviations,
    without the covariance's inverse and eigendecomposition. The robust
    PCA's decompositions are float32's, so the covariance is diagonal to
    about 1e-7 of its largest entry: its off-diagonal entries only move the
    rows' ranks where they tie to that precision. With it, and every row's
    decomposition read from the codes (``ReducedRows``), every file and
    synthetic set of the detection benchmark scored as with the full
    covariance and the solver (random_state=0: the same ROC-AUC, but for
    one synthetic set moved by 1e-6), and on the MVTec-AD and 20
    newsgroups files the robust PCA kept the same rows in 26 to 35 % less
    time (0.9 to 10.9 ms).
    """
    kept = codes[support]
    variances = np.einsum("ij,ij->j", kept, kept) / max(len(kept) - 1, 1)
    ridge = 1e-9 * max(variances.sum(), 1.0)
    noise = _noise_variance(energy, support, n_discarded)
    return np.column_stack([codes / np.sqrt(variances + ridge), np.sqrt(energy / noise)])


class LatentModel(NamedTuple):
    """Robust probabilistic PCA over codes and residuals, with a neighbour density.

    ``fit_latent_model`` fits one; the estimator keeps its fields as fitted
    attributes and rebuilds it to score. ``references=None`` (models saved
    before the neighbour density) scores by the Mahalanobis distance alone,
    and ``huber_threshold=None`` (models saved before Huber's rho) by
    Gaussian terms.

    Attributes
    ----------
    mean, precision : ndarray
        Mean and inverse covariance of the support's codes.
    noise_variance : float
        Mean squared residual of the support's rows per discarded dimension.
    references : ndarray of shape (n_references, n_components) or None
        Support codes for the neighbour density, evenly spaced.
    n_neighbors : int
        The neighbour whose distance measures the density.
    log_radius, median_distance : float
        The support's median log neighbour distance and median code
        distance (``code_distance``): they put the density on the
        distance's scale.
    huber_threshold : float or None
        Where Huber's rho takes over from the square (see ``huber``).
    """

    mean: np.ndarray
    precision: np.ndarray
    noise_variance: float
    references: np.ndarray | None = None
    n_neighbors: int = 1
    log_radius: float = 0.0
    median_distance: float = 0.0
    huber_threshold: float | None = None

    def squared_norm(self, squared):
        """Sum over each row of its coordinates' squared deviations, or of their Huber's rho.

        ``squared``: the squared deviations in standard deviations, an
        ndarray or a torch tensor of shape (n_rows, n_coordinates).
        """
        if self.huber_threshold is not None:
            squared = huber(squared, self.huber_threshold)
        return squared.sum(axis=1)

    def code_distance(self, codes, whiten=None):
        """Squared Mahalanobis distance of each code, coordinate by coordinate as ``squared_norm``.

        The coordinates are the code's along the principal axes of the
        codes' covariance, in standard deviations (``_whitening``, or
        ``whiten`` when already computed).
        """
        if self.huber_threshold is None:
            return mahalanobis(codes, self.mean, self.precision)
        if whiten is None:
            whiten = _whitening(self.precision)
        return self.squared_norm(((codes - self.mean) @ whiten) ** 2)

    def residual_term(self, squared):
        """The residual's term of rows whose squared residual coordinates are ``squared``.

        Each coordinate in units of the noise variance, summed by
        ``squared_norm``: for ndarrays and torch tensors alike.
        """
        return self.squared_norm(squared / self.noise_variance)

    def _log_radius(self, codes, whiten=None):
        """Log Mahalanobis distance from each code to its ``n_neighbors``-th reference."""
        if whiten is None:
            whiten = _whitening(self.precision)
        k = min(self.n_neighbors, len(self.references)) - 1
        radius = np.empty(len(codes))
        for start, chunk in _squared_distances(codes, self.references, whiten):
            chunk.partition(k, axis=1)
            radius[start : start + len(chunk)] = chunk[:, k]
        with np.errstate(divide="ignore"):  # a duplicate of k references: log 0
            return 0.5 * np.log(np.maximum(radius, 0.0))

    def code_term(self, codes):
        """The code's outlyingness: the larger of its distance and neighbour terms."""
        whiten = None if self.huber_threshold is None else _whitening(self.precision)
        distance = self.code_distance(codes, whiten)
        if self.references is None:
            return distance
        return self._larger_term(distance, self._log_radius(codes, whiten), codes.shape[1])

    def _larger_term(self, distance, log_radius, n_components):
        """``code_term`` from codes' ``code_distance`` and ``_log_radius``."""
        density = 2 * n_components * (log_radius - self.log_radius)
        return np.maximum(distance, density + self.median_distance)

    def terms(self, codes, residual):
        """Each row's outlyingness: ``-2`` times its log-likelihood, up to a constant.

        ``residual`` is the rows' ``residual_term``.
        """
        return self.code_term(codes) + residual


def fit_latent_model(codes, energy, n_discarded, support_fraction=None, support=None):
    """The robust ``LatentModel`` of training ``codes`` and squared residual norms ``energy``.

    ``n_discarded`` is the residual's dimensions less the code's;
    ``support_fraction`` as in ``robust_support``. The robust fit ranks the
    rows by Gaussian terms, and the lone rows return (``_with_lone_rows``);
    the model scores with Huber's rho. A given
    ``support`` (a boolean mask of the rows) is used as it is, without a
    robust fit: the one-scale member's is the network member's. Returns the
    model, its support (the training rows its statistics were estimated on)
    and the training codes' ``code_term``, read from the whitening and the
    distances the fit computed (for their ``terms``, add their residuals').
    """

    if support is None:
        support = robust_support(
            lambda support: _outlyingness(codes, energy, support, n_discarded),
            len(codes),
            support_fraction,
            lambda support: _model_coordinates(codes, energy, support, n_discarded),
        )
    mean, precision = _gaussian(codes, support)
    noise_variance = _noise_variance(energy, support, n_discarded)
    model = LatentModel(mean, precision, noise_variance, huber_threshold=_HUBER_THRESHOLD)
    rows = _reference_rows(support)
    model = model._replace(
        references=codes[rows], n_neighbors=max(1, int(np.ceil(np.sqrt(len(rows)))))
    )
    whiten = _whitening(precision)
    distance = model.code_distance(codes, whiten)
    radius = model._log_radius(codes, whiten)
    log_radius = float(np.median(radius[support]))
    if not np.isfinite(log_radius):  # most rows repeat: no density to measure
        return model._replace(references=None), support, distance
    model = model._replace(
        log_radius=log_radius, median_distance=float(np.median(distance[support]))
    )
    return model, support, model._larger_term(distance, radius, codes.shape[1])


def _reference_rows(mask):
    """The rows where ``mask`` is True, ``_MAX_REFERENCE_ROWS`` at most, evenly spaced."""
    rows = np.flatnonzero(mask)
    if len(rows) > _MAX_REFERENCE_ROWS:
        rows = rows[np.linspace(0, len(rows) - 1, _MAX_REFERENCE_ROWS).astype(np.intp)]
    return rows


def _squared_distances(queries, references, transform=None):
    """Squared distances from ``queries`` to ``references``, a chunk of queries at a time.

    Yields ``(start, chunk)``: the distances of queries ``start`` to
    ``start + len(chunk)``, one row per query, after both are multiplied by
    ``transform`` (None: as they are). The chunk is one buffer, overwritten
    by the next: use it, in place if need be, before asking for the next.
    """
    if transform is not None:
        references = references @ transform
    squared_norms = np.einsum("ij,ij->i", references, references)
    rows = max(1, _QUERY_CHUNK_SIZE // len(references))
    # one buffer for every chunk, filled and partitioned in place: with a
    # fresh distance matrix per chunk, and np.partition's copy of it, 5300
    # codes against 2000 references took four times as long on a machine
    # where new memory is slow to map
    squared = np.empty((min(rows, len(queries)), len(references)))
    cross = -2.0 * references.T
    for start in range(0, len(queries), rows):
        chunk_queries = queries[start : start + rows]
        if transform is not None:
            chunk_queries = chunk_queries @ transform
        chunk = squared[: len(chunk_queries)]
        np.matmul(chunk_queries, cross, out=chunk)
        chunk += np.einsum("ij,ij->i", chunk_queries, chunk_queries)[:, None]
        chunk += squared_norms
        yield start, chunk


def _with_lone_rows(support, points):
    """``support`` with the rows it left out that are near the inliers and not in a group.

    See the module's docstring (Lone rows). ``points`` are every row's
    coordinates under the model fitted on ``support``; their squared norms
    are the rows' outlyingness. A left-out row returns where its
    ``robust_z`` is at most ``_REWEIGHT_ROBUST_Z`` and most of its
    ``_LONE_NEIGHBORS`` nearest rows are support rows, among (at most
    ``_MAX_REFERENCE_ROWS`` of) the training rows, evenly spaced.
    """
    terms = np.einsum("ij,ij->i", points, points)
    near = ~support & (robust_z(terms, *cube_root_location(terms)) <= _REWEIGHT_ROBUST_Z)
    if not near.any():
        return support
    rows = _reference_rows(np.ones(len(points), dtype=bool))
    k = min(_LONE_NEIGHBORS, len(rows) - 1)
    candidates = np.flatnonzero(near)
    # a candidate among the references is not its own neighbour
    position = np.minimum(np.searchsorted(rows, candidates), len(rows) - 1)
    itself = rows[position] == candidates
    votes = np.empty(len(candidates), dtype=np.intp)
    for start, chunk in _squared_distances(points[candidates], points[rows]):
        stop = start + len(chunk)
        repeated = np.flatnonzero(itself[start:stop])
        chunk[repeated, position[start + repeated]] = np.inf
        nearest = np.argpartition(chunk, k - 1, axis=1)[:, :k]
        votes[start:stop] = support[rows][nearest].sum(axis=1)
    support = support.copy()
    support[candidates[2 * votes > k]] = True
    return support


def _whitening(precision):
    """A matrix ``W`` with ``W @ W.T == precision``: its eigenvectors, scaled.

    The eigenvectors scaled by the square roots of their eigenvalues (zero
    for a negative one, from rounding): ``codes @ W`` gives the codes'
    coordinates along the principal axes of their covariance, in standard
    deviations, which Huber's rho reads one by one.
    """
    values, vectors = np.linalg.eigh(precision)
    return vectors * np.sqrt(np.clip(values, 0.0, None))


class OneScaleModel(NamedTuple):
    """Probabilistic PCA of the training rows in one scale: the likelihood score's second member.

    ``fit_one_scale_model`` fits one; the estimator keeps its fields as
    fitted attributes. Rows are centred on ``mean`` and every feature is
    divided by the one number ``scale``; their codes are their coordinates
    along ``components``, and their residual is what those leave, measured
    along ``residual_axes`` (None: along every feature), as the network's
    is along ``residual_axes_``. ``latent`` models the codes and residuals
    as the network's ``LatentModel`` does, neighbour density included.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
        Mean of the support's rows, in X's units.
    scale : float
        The one divisor of every feature.
    components : ndarray of shape (n_components, n_features)
        Leading principal axes of the support's scaled rows.
    residual_axes : ndarray of shape (n_residual_axes, n_features) or None
        The axes that follow them, or None.
    latent : LatentModel
        The codes' Gaussian and neighbour density, and the residual's noise
        variance.
    """

    mean: np.ndarray
    scale: float
    components: np.ndarray
    residual_axes: np.ndarray | None
    latent: LatentModel

    def coordinates(self, rows):
        """Codes and residual coordinates of rows centred on ``mean`` and divided by ``scale``."""
        codes = rows @ self.components.T
        if self.residual_axes is not None:
            return codes, rows @ self.residual_axes.T
        return codes, rows - codes @ self.components

    def terms(self, rows):
        """``LatentModel.terms`` of rows centred on ``mean`` and divided by ``scale``."""
        codes, residual = self.coordinates(rows)
        return self.latent.terms(codes, self.latent.residual_term(residual**2))


def fit_one_scale_model(
    rows, support, origin, scale, n_components, n_residual_axes=None, hold_residuals=False
):
    """The ``OneScaleModel`` of the ``support`` rows of ``rows`` and every row's terms, or None.

    ``rows`` is the ``StandardizedRows`` of ``(X - origin) / scale``, for a
    single number ``scale``. The code has ``n_components`` axes, an int, or
    as many as explain that share of the support's variance, a float; at
    most the support's rank less one (a residual is left) and its size less
    two (the codes' covariance is estimated). With ``n_residual_axes``, the
    residual is measured within that many leading axes (at least one past
    the code's, at most the rank). None where the support spans fewer than
    two directions, and where one feature holds at least
    ``_MAX_FEATURE_SHARE`` of their variance. With ``hold_residuals``, the
    squared residual coordinates of the pass that measures their energy are
    kept for the terms, at most the rows' own size in memory, instead of
    computed again.
    """
    centre, variances, axes, basis = rows.pca(support)
    if axes is None:  # each feature's variance: the Gram route's centred rows
        feature_variances = np.einsum("ij,ij->j", basis[0], basis[0])
    else:  # the covariance's diagonal, from its eigendecomposition
        feature_variances = variances @ axes**2
    if not feature_variances.max(initial=0.0) < _MAX_FEATURE_SHARE * feature_variances.sum():
        return None
    # null axes are zero (see _decomposition); the Gram route forms the
    # axes it needs only, from the support's rows
    rank = int(np.count_nonzero(basis[1].any(axis=0) if axes is None else axes.any(axis=1)))
    if isinstance(n_components, float):
        n_components = rows.n_components_for(n_components, support)
    n_components = min(n_components, rank - 1, int(support.sum()) - 2)
    if n_components < 1:
        return None
    width = None
    if n_residual_axes is not None:
        width = max(n_components + 1, min(n_residual_axes, rank))
    if axes is None:
        centred, vectors = basis
        axes = (centred.T @ vectors[:, : width or n_components]).T
    model = OneScaleModel(
        origin + scale * centre,
        scale,
        axes[:n_components],
        None if width is None else axes[n_components:width],
        None,
    )
    codes, energy = np.empty((rows.n_samples, n_components)), np.empty(rows.n_samples)
    held, start = [], 0
    for chunk in rows.chunks():
        stop = start + len(chunk)
        codes[start:stop], residual = model.coordinates(chunk - centre)
        energy[start:stop] = np.einsum("ij,ij->i", residual, residual)
        if hold_residuals:
            held.append(residual**2)
        start = stop
    n_discarded = (rows.n_features if width is None else width) - n_components
    latent, _, code_terms = fit_latent_model(codes, energy, n_discarded, support=support)
    squares = held or (model.coordinates(chunk - centre)[1] ** 2 for chunk in rows.chunks())
    residual = np.concatenate([latent.residual_term(square) for square in squares])
    return model._replace(latent=latent), code_terms + residual


def cube_root_location(terms):
    """Median and robust spread of the cube roots of training rows' ``terms``.

    The spread is 1.4826 times the median absolute deviation, or 1 where
    that is zero. See ``robust_z``.
    """
    roots = np.cbrt(terms)
    median = float(np.median(roots))
    spread = float(1.4826 * np.median(np.abs(roots - median)))
    return median, spread if spread > 0 else 1.0


def robust_z(terms, location, spread):
    """``terms`` put on a common scale: their cube roots' robust z-scores.

    A sum of squared Gaussian deviations is chi-squared, and its cube root
    is close to normal (Wilson and Hilferty, 1931), whatever the number of
    coordinates: on that scale the median and 1.4826 times the median
    absolute deviation of the training rows measure every member of the
    score in the same units, robust standard deviations.
    """
    return (np.cbrt(terms) - location) / spread


def combined_score(members, location, spread):
    """The likelihood score of rows: minus the mean over the members of their ``robust_z``.

    ``members`` holds each member's terms of the rows; ``location`` and
    ``spread`` its training rows' ``cube_root_location``.
    """
    z = [robust_z(t, c, s) for t, c, s in zip(members, location, spread, strict=True)]
    return -np.mean(z, axis=0)
