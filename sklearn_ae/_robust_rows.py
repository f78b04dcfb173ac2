"""The detector's units and training rows: robust scaling and a robust PCA's support.

``_RobustRowsMixin`` gives ``AutoencoderOutlierDetector`` two steps of
``_BaseAutoencoder._fit`` of its own, so that the anomalies among the
training rows neither set the units nor get learned:

- ``_update_statistics``: with ``standardize="robust"``, each feature's
  median and interquartile range instead of its mean and standard
  deviation;
- ``_training_rows``: the rows that a robust probabilistic PCA keeps
  (``_scoring.ppca_support``), and their PCA, which the network starts
  from (``_kept_rows_pca``).

The score's statistics (``_score_model``) use two of its helpers:
``_rows_for_pca``, for the rows their one-scale member decomposes, and
``_holds_rows``, for what they hold in memory.
"""

import functools
import math

import numpy as np

from ._data import column_extremes, column_percentiles, column_std, issparse
from ._pca import PrincipalAxes, max_covariance_width
from ._scoring import StandardizedRows, ppca_support

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

# The robust PCA before training standardizes dense rows once (float64) while
# they take at most this much memory, and reads them a chunk at a time at each
# of its dozen passes; larger or sparse rows are standardized at every pass.
# The score's statistics hold dense training rows' squared residuals within
# the same bound, and read them by a second pass past it or for sparse rows.
_MAX_HELD_BYTES = 2**28

# The robust PCA, and the score's residual axes and one-scale member, need the
# covariance of the features: computed up to this width.
_MAX_RESIDUAL_AXES_WIDTH = 4096

# The share of the variance that sets the code size of the robust PCA which
# picks the training rows, when n_components is None (the detector's default):
# read on every row, then again on the rows kept (see ppca_support).
_DEFAULT_VARIANCE_FRACTION = 0.95


class _RobustRowsMixin:
    """Robust units and training rows for ``AutoencoderOutlierDetector`` (see the module)."""

    def _update_statistics(self, X, first_call):
        """With ``standardize="robust"``, ``(median, scale ** 2, n_samples)`` of ``X``.

        The scale is each feature's IQR over 1.349 (see the parameter). Any
        other ``standardize`` is ``_BaseAutoencoder``'s.
        """
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
        The network's PCA start is read from the robust PCA's float32
        decomposition of the rows it keeps (``_kept_rows_pca``): one
        decomposition of the full rows, as the robust PCA counts their axes
        within the span of every row's leading axes (``ReducedRows``). Where
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
