"""PCA of standardized training rows, computed in torch from their covariance.

The built-in modules start from PCA's solution (``init="pca"``) and
``n_components=None`` takes PCA's size for a share of the variance. Both need
only the rows' mean and covariance, which one pass over chunks of rows gives,
on the device the rows are on and in torch's own thread pool: no copy of the
data, bounded memory on a memmap read by blocks, and no second pool of BLAS
threads competing with training for the cores.
"""

import numpy as np
import torch

_OVERFLOW = (
    "X has values too large for float32 training: the variance of the training rows "
    "overflows float32. Keep standardize on (not False), rescale X or init='random'."
)


class PrincipalAxes:
    """Mean, variances and principal axes of rows given in chunks.

    Computes each chunk's mean and scatter matrix in float64 and merges them
    (the pairwise update of Chan, Golub and LeVeque). Float64 even for float32
    rows: the last axes of nearly full-rank data carry little variance, and
    float32 scatter matrices misplace them enough that a model starting from
    them reconstructs held-out rows measurably worse than ``PCA``. Memory
    grows with ``n_features ** 2``, not with the number of rows. The axes are the
    eigenvectors of the covariance matrix, signed as scikit-learn's ``PCA``
    signs its components.

    Parameters
    ----------
    chunks : iterable of torch.Tensor of shape (n_rows, n_features)
        The rows, chunk by chunk; at least one row in all.

    Attributes
    ----------
    n_samples : int
        Number of rows.
    mean : ndarray of shape (n_features,)
        Mean of the rows, float64.
    variances : ndarray of shape (n_features,)
        Variance along each axis (``PCA``'s ``explained_variance_``), in
        decreasing order, float64.
    axes : ndarray of shape (n_features, n_features)
        The principal axes as orthonormal rows (``PCA``'s ``components_``), float64.
    """

    def __init__(self, chunks):
        n, mean, scatter = 0, None, None
        for x in chunks:
            # in float64, each chunk centred on its own mean, then merged
            x = x.double()
            chunk_mean = x.mean(dim=0)
            centred = x - chunk_mean
            chunk_scatter = centred.T @ centred
            if mean is None:
                mean, scatter = chunk_mean, chunk_scatter
            else:
                delta = chunk_mean - mean
                weight = len(x) / (n + len(x))
                scatter += chunk_scatter + torch.outer(delta, delta) * (n * weight)
                mean += delta * weight
            n += len(x)
        if not torch.isfinite(scatter).all():
            raise ValueError(_OVERFLOW)
        variances, axes = torch.linalg.eigh(scatter / max(n - 1, 1))
        variances, axes = variances.flip(0).clamp(min=0), axes.flip(1).T
        # scikit-learn's sign convention: the largest entry of each axis is positive
        largest = axes.gather(1, axes.abs().argmax(dim=1, keepdim=True))
        axes *= torch.where(largest < 0, -1.0, 1.0)
        self.n_samples = n
        self.mean, self.variances, self.axes = (t.cpu().numpy() for t in (mean, variances, axes))

    def components(self, n_components):
        """The first ``n_components`` axes, the mean and the axes' variances, float32.

        Axes beyond the number of rows (which the data cannot determine) are
        zero rows, with zero variances.
        """
        n_features = len(self.mean)
        n_available = min(n_components, self.n_samples, n_features)
        components = np.zeros((n_components, n_features), dtype=np.float32)
        components[:n_available] = self.axes[:n_available]
        variances = np.zeros(n_components, dtype=np.float32)
        with np.errstate(over="ignore"):  # reported just below
            variances[:n_available] = self.variances[:n_available]
        if not np.all(np.isfinite(variances)):
            raise ValueError(_OVERFLOW)
        return components, self.mean.astype(np.float32), variances

    def n_components_for(self, fraction):
        """How many axes ``PCA(n_components=fraction)`` keeps: the fewest explaining it."""
        total = self.variances.sum()
        if total <= 0:  # constant rows: one axis explains all there is
            return 1
        ratio = np.cumsum(self.variances) / total
        return int(min(np.searchsorted(ratio, fraction, side="right") + 1, len(ratio)))
