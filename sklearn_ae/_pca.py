"""PCA of standardized training rows, computed in torch from their covariance.

The built-in modules start from PCA's solution (``init="pca"``) and
``n_components=None`` takes PCA's size for a share of the variance. Both need
only the rows' mean and covariance, which one pass over chunks of rows gives,
on the device the rows are on and in torch's own thread pool: no copy of the
data, bounded memory on a memmap read by blocks, and no second pool of BLAS
threads competing with training for the cores. Fewer rows than features
(embeddings of a few hundred images or texts) take less memory than their
covariance: they are held, and the axes read from their Gram matrix.

The covariance matrix holds ``n_features ** 2`` numbers: 3.2 GB of float64 at
20 000 features. Beyond ``_MAX_COVARIANCE_BYTES`` (2048 features) only the
leading axes are computed, by randomized subspace iteration on the covariance
seen as an operator: each product of the covariance with a block of vectors is
one pass over the rows, and memory grows with ``n_features`` times the number
of axes. The total variance, the denominator of every fraction of variance, is
the covariance's trace, the sum of the per-feature variances: exact whatever
the number of axes computed.
"""

import itertools

import numpy as np
import torch

_OVERFLOW = (
    "X has values too large for float32 training: the variance of the training rows "
    "overflows float32. Keep standardize on (not False), rescale X or init='random'."
)

# The covariance matrix (float64) is formed while it takes at most this much
# memory, up to 2048 features; wider rows get their leading axes only.
_MAX_COVARIANCE_BYTES = 32 * 2**20

# Extra vectors of the randomized subspace iteration beyond the axes wanted, as
# in scikit-learn's ``randomized_svd``.
_OVERSAMPLES = 10

# A fraction of variance on wide rows grows the computed axes from this many,
# doubling, up to the number whose float64 values take _MAX_COVARIANCE_BYTES.
_FIRST_AXES = 32


def max_covariance_width():
    """The widest rows whose covariance matrix ``PrincipalAxes`` forms."""
    return int(np.sqrt(_MAX_COVARIANCE_BYTES / 8))


class PrincipalAxes:
    """Mean, variances and principal axes of rows given in chunks.

    Up to ``max_covariance_width()`` features, computes each chunk's mean and
    scatter matrix in float64 and merges them (the pairwise update of Chan,
    Golub and LeVeque): memory grows with ``n_features ** 2``, not with the
    number of rows. Float64 even for float32 rows: the last axes of nearly
    full-rank data carry little variance, and float32 scatter matrices
    misplace them enough that a model starting from them reconstructs
    held-out rows measurably worse than ``PCA``. The axes are the eigenvectors of the
    covariance matrix, signed as scikit-learn's ``PCA`` signs its components.
    Fewer rows than features are held whole instead (fewer numbers than their
    covariance) and the axes computed from the eigenvectors of their Gram
    matrix, at ``n_samples ** 3`` rather than ``n_features ** 3``.

    Wider rows never form the covariance matrix: ``components(k)`` computes the
    leading ``k`` axes by randomized subspace iteration (Halko, Martinsson and
    Tropp, 2011) on the covariance as an operator, a pass over the rows per
    product, in float64, from a fixed seed; the result is deterministic and,
    for the leading axes of data whose spectrum decays, equal to PCA's to a
    few digits. ``n_components_for(fraction)`` divides by the exact total
    variance (the covariance's trace) and computes 32 axes, then 64, ... until
    they explain ``fraction``, up to as many axes as fit in the memory of the
    largest covariance formed (``max_axes``, 209 at 20 000 features).

    Parameters
    ----------
    chunks : iterable of torch.Tensor of shape (n_rows, n_features), or callable
        The rows, chunk by chunk; at least one row in all. Wide rows need
        several passes: a callable returning a fresh iterable each call, or a
        list.
    moments : callable or None, default=None
        For wide rows, ``moments()`` returns ``(n_samples, mean, total_variance)``
        (the trace of the covariance, with ``n_samples - 1`` degrees of freedom)
        instead of a pass over ``chunks``.
    gram : callable or None, default=None
        For wide rows, ``gram(V)`` returns ``A.T @ (A @ V)`` for the centred
        rows ``A`` and a float64 ndarray ``V`` of shape (n_features, k), as a
        float64 ndarray, instead of a pass over ``chunks``: sparse rows compute
        it without densifying.

    Attributes
    ----------
    n_samples : int
        Number of rows.
    mean : ndarray of shape (n_features,)
        Mean of the rows, float64.
    variances : ndarray of shape (n_axes,)
        Variance along each computed axis (``PCA``'s ``explained_variance_``),
        in decreasing order, float64. For narrow rows, all ``n_features``
        axes, or ``n_samples`` for fewer rows than features (zero axes past
        the rank); on wide rows, those computed so far.
    axes : ndarray of shape (n_axes, n_features)
        The computed principal axes as orthonormal rows (``PCA``'s
        ``components_``), float64: all for narrow rows, except with fewer rows
        than features, where like wide rows those computed so far.
    total_variance : float
        Sum of the variances along all the axes (the covariance's trace).
    truncated : bool
        Whether only leading axes are computed (wide rows).
    capped : bool
        Whether ``max_axes`` stopped ``n_components_for`` short of its fraction.
    """

    def __init__(self, chunks, *, moments=None, gram=None):
        self._chunks = chunks if callable(chunks) else lambda: chunks
        self._gram_of = gram
        self._basis = None
        first = None
        if moments is None:
            iterator = iter(self._chunks())
            first = next(iterator)
            n_features = first.shape[1]
        else:
            n, mean, total = moments()
            n_features = len(mean)
        self.truncated = n_features > max_covariance_width()
        self.capped = False
        if not self.truncated:
            if first is None:
                iterator = iter(self._chunks())
                first = next(iterator)
            self._covariance(first, iterator)
            return
        if moments is None:
            n, mean, total = self._moments(first, iterator)
        if not np.isfinite(total):
            raise ValueError(_OVERFLOW)
        self.n_samples, self.mean, self.total_variance = n, mean, float(total)
        self.variances = np.zeros(0)
        self.axes = np.zeros((0, n_features))

    @classmethod
    def from_decomposition(cls, n_samples, mean, variances, axes=None, basis=None):
        """The PCA of rows already decomposed elsewhere, without a pass over them.

        ``mean`` and ``variances`` (descending) as the attributes; either
        ``axes``, the principal axes as rows, or for fewer rows than features
        ``basis = (centred, vectors)``: the centred rows and the eigenvectors
        of their Gram matrix each divided by the square root of its
        eigenvalue (zero past the rank), as ``_from_gram`` keeps them. Float64
        ndarrays; the basis is kept in float32, as the decomposition it comes
        from was computed (the detector's robust PCA, see
        ``_scoring._SELECTION_DTYPE``): a float64 product of float32
        eigenvectors would add no digits to the axes, and take twice the time.
        """
        self = cls.__new__(cls)
        self._chunks = self._gram_of = None
        self.truncated = self.capped = False
        if axes is None:
            self._basis = tuple(torch.from_numpy(a.astype(np.float32)) for a in basis)
            axes = np.zeros((0, len(mean)))
        else:
            self._basis = None
        self._set(n_samples, *(torch.from_numpy(np.asarray(a)) for a in (mean, variances, axes)))
        return self

    # -- narrow rows: the covariance matrix ------------------------------------

    def _covariance(self, first, rest):
        # Fewer rows than features: the rows take less memory than their
        # covariance matrix, and the eigenvectors of their Gram matrix give
        # the same axes at rows ** 3 instead of features ** 3.
        n_features, held, count = first.shape[1], [], 0
        chunks = itertools.chain([first], rest)
        for x in chunks:
            held.append(x)
            count += len(x)
            if count >= n_features:
                break
        else:
            return self._from_gram(torch.cat(held).double())
        n, mean, scatter = 0, None, None
        for x in itertools.chain(held, chunks):  # one chunk held at a time
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
        self._set(n, mean, variances.flip(0), axes.flip(1).T)

    def _from_gram(self, x):
        """Fewer rows than features: the variances from the eigenvalues of their Gram matrix.

        An axis is the centred rows times an eigenvector over the square
        root of its eigenvalue; ``_compute`` forms the leading ones when
        they are asked for. Null directions (past the rank, at most
        ``n - 1``) are left zero.
        """
        n, mean = len(x), x.mean(dim=0)
        centred = x - mean
        gram = centred @ centred.T
        if not torch.isfinite(gram).all():
            raise ValueError(_OVERFLOW)
        values, vectors = torch.linalg.eigh(gram)
        values, vectors = values.flip(0), vectors.flip(1)
        positive = values > values[0] * n * torch.finfo(torch.float64).eps
        vectors = torch.where(positive, vectors, 0.0) / torch.where(positive, values, 1.0).sqrt()
        self._basis = centred, vectors
        self._set(n, mean, values / max(n - 1, 1), torch.zeros((0, x.shape[1])))

    def _set(self, n, mean, variances, axes):
        """Store the moments and axes (descending variances) computed in torch."""
        self.n_samples = n
        self.mean, self.variances, self.axes = (
            t.cpu().numpy() for t in (mean, variances.clamp(min=0), axes)
        )
        self.axes = _signed(self.axes)
        self.total_variance = float(self.variances.sum())

    # -- wide rows: leading axes only -------------------------------------------

    @staticmethod
    def _moments(first, rest):
        """``(n, mean, trace of the covariance)`` in one pass (Chan's merge, per feature)."""
        n, mean, m2 = 0, None, None
        for x in itertools.chain([first], rest):  # one chunk held at a time
            chunk_mean = x.mean(dim=0)
            chunk_m2 = (x - chunk_mean).square().sum(dim=0).double()
            chunk_mean = chunk_mean.double()
            if mean is None:
                mean, m2 = chunk_mean, chunk_m2
            else:
                delta = chunk_mean - mean
                weight = len(x) / (n + len(x))
                m2 += chunk_m2 + delta.square() * (n * weight)
                mean += delta * weight
            n += len(x)
        return n, mean.cpu().numpy(), float(m2.sum()) / max(n - 1, 1)

    def _gram(self, V):
        """``A.T @ (A @ V)`` for the centred rows ``A``: one pass over the chunks."""
        if self._gram_of is not None:
            return self._gram_of(V)
        out = v = mean = None
        for x in self._chunks():
            if out is None:
                v, mean = (torch.from_numpy(a).to(x.device) for a in (V, self.mean))
                out = torch.zeros_like(v)
            centred = x.double() - mean
            out += centred.T @ (centred @ v)
        return out.cpu().numpy()

    @property
    def max_axes(self):
        """The most axes a fraction of variance computes on wide rows."""
        return max(1, _MAX_COVARIANCE_BYTES // (8 * len(self.mean)))

    def _compute(self, n_axes):
        """Compute the leading ``n_axes`` axes (and, on wide rows, their variances)."""
        if self._basis is not None:  # fewer rows than features (see _from_gram)
            # only the axes not formed yet: the network's start asks for the
            # code's, the detector's residual axes for more
            centred, vectors = self._basis
            more = (centred.T @ vectors[:, len(self.axes) : n_axes]).T.cpu().numpy()
            self.axes = np.concatenate([self.axes, _signed(more.astype(np.float64))])
            return
        n_features = len(self.mean)
        size = min(n_axes + _OVERSAMPLES, n_features)
        # scikit-learn's randomized_svd: more power iterations for few axes
        n_iter = 7 if n_axes < 0.1 * n_features else 4
        Q = np.random.default_rng(0).standard_normal((n_features, size))
        for _ in range(n_iter + 1):
            Q = np.linalg.qr(self._gram(Q))[0]
        product = self._gram(Q)
        if not np.all(np.isfinite(product)):
            raise ValueError(_OVERFLOW)
        small = Q.T @ product
        values, vectors = np.linalg.eigh((small + small.T) / 2)
        order = np.argsort(values)[::-1][:n_axes]
        self.variances = np.clip(values[order], 0, None) / max(self.n_samples - 1, 1)
        self.axes = _signed((Q @ vectors[:, order]).T)

    def components(self, n_components):
        """The first ``n_components`` axes, the mean and the axes' variances, float32.

        Axes beyond the number of rows (which the data cannot determine) are
        zero rows, with zero variances.
        """
        n_features = len(self.mean)
        n_available = min(n_components, self.n_samples, n_features)
        if len(self.axes) < n_available:
            self._compute(n_available)
        components = np.zeros((n_components, n_features), dtype=np.float32)
        components[:n_available] = self.axes[:n_available]
        variances = np.zeros(n_components, dtype=np.float32)
        with np.errstate(over="ignore"):  # reported just below
            variances[:n_available] = self.variances[:n_available]
        if not np.all(np.isfinite(variances)):
            raise ValueError(_OVERFLOW)
        return components, self.mean.astype(np.float32), variances

    def n_components_for(self, fraction):
        """How many axes ``PCA(n_components=fraction)`` keeps: the fewest explaining it.

        On wide rows, at most ``max_axes``; ``capped`` tells whether that bound
        stopped the count short of ``fraction``.
        """
        total = self.total_variance
        if total <= 0:  # constant rows: one axis explains all there is
            return 1
        if self.truncated:
            largest = min(self.n_samples, len(self.mean))
            n_axes = max(len(self.axes), min(_FIRST_AXES, largest, self.max_axes))
            while True:
                if len(self.axes) < n_axes:
                    self._compute(n_axes)
                if self.variances.sum() >= fraction * total or n_axes >= largest:
                    break
                if n_axes >= self.max_axes:
                    self.capped = True
                    return n_axes
                n_axes = min(2 * n_axes, largest, self.max_axes)
        ratio = np.cumsum(self.variances) / total
        return int(min(np.searchsorted(ratio, fraction, side="right") + 1, len(ratio)))


def _signed(axes):
    """scikit-learn's sign convention: the largest entry of each axis is positive."""
    largest = np.take_along_axis(axes, np.abs(axes).argmax(axis=1)[:, None], axis=1)
    return axes * np.where(largest < 0, -1.0, 1.0)
