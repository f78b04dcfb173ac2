"""How rows reach a batch: in-memory tensors, blocks of a memmap, sparse rows.

This file holds the data layer and imports neither skorch nor scikit-learn's
estimators: the skorch glue (``_net.py``) imports it, never the reverse.

In memory
---------

``fit`` on an ordinary array standardizes it once into a float32 tensor.
``_Rows`` is a view of its rows (all, or the training or validation side of
the seeded split of ``_split_indices``, as index tensors: no copy), and
``_BatchIterator`` yields its mini-batches, in order or shuffled by a seeded
generator.

Blocks of a memmap
------------------

A ``numpy.memmap`` may be larger than memory, so it is
never copied whole: every pass (statistics, PCA initialisation, each training
epoch) reads it in contiguous blocks of rows, standardizes one block at a time
and moves it to the device. A training epoch visits the blocks in a seeded
random order and shuffles the rows inside each block, so the disk is read
sequentially while mini-batches still mix rows.

Peak memory is a few copies of one block (about ``_CHUNK_BYTES`` of float64
rows), whatever the number of rows.

Sparse rows
-----------

Validation turns any scipy.sparse matrix or array into CSR. Standardization
centres every feature, so the rows the network sees are dense: a sparse
matrix is never densified whole, only the rows a step needs.

- Per-feature statistics (mean and variance, or the robust scaling's
  quantiles) are computed on the sparse structure, implicit zeros counted.
- ``_SparseRows`` stands where the in-memory path holds one tensor of
  standardized rows. Training takes slices and gathers of it, so the
  validation split and the shuffled mini-batches are those of a fit on the
  dense rows; each batch is densified and standardized when it is drawn.
- PCA (``init="pca"``, ``n_components`` as a fraction) forms the covariance
  matrix from densified chunks of rows up to 2048 features; wider rows get
  their leading axes from products of the sparse matrix with a few dense
  vectors, centring and scaling applied implicitly (see ``PrincipalAxes``).
- Inference densifies one chunk of rows at a time (``_map_rows``).

Memory beyond the sparse matrix itself is that of one batch or chunk of dense
rows, whatever the number of rows.

Standardized rows
-----------------

``standardized`` maps raw rows to ``(X - mean) / scale`` chunk by chunk;
``standardized_rows`` gives what training reads for validated X (a tensor,
or ``_SparseRows``); ``chunks_of`` and ``training_chunks`` walk any of the
three kinds chunk by chunk (all rows, or the training side of the split),
and ``principal_axes_of`` gives the PCA of those chunks.

A new data source goes here: an object with ``shape``, ``__len__``, slices
and ``index_select`` like ``_SparseRows`` reuses ``_Rows`` and
``_BatchIterator``; one read by blocks like ``_Blocks`` brings its own
iterator.
"""

import math

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.sparsefuncs import incr_mean_variance_axis

from ._pca import PrincipalAxes

# -- in memory ------------------------------------------------------------------


class _Rows:
    """Rows of a 2-D tensor, optionally a subset given by an index tensor (no copy).

    Parameters
    ----------
    data : torch.Tensor or _SparseRows of shape (n_samples, n_features)
        The full data; ``_SparseRows`` densify only the rows taken.
    indices : torch.Tensor of int64 or None
        The rows in view, in this order; None for all rows.
    """

    def __init__(self, data, indices=None):
        self.data = data
        self.indices = indices

    def __len__(self):
        return len(self.data) if self.indices is None else len(self.indices)

    def take(self, positions):
        """Rows at ``positions`` of this view (a slice or an index tensor)."""
        if self.indices is not None:
            positions = self.indices[positions]
        if isinstance(positions, slice):
            return self.data[positions]
        return self.data.index_select(0, positions.to(self.data.device))


class _BatchIterator:
    """Batches of a ``_Rows`` view: in order, or shuffled by a ``torch.Generator``."""

    def __init__(self, rows, batch_size, generator=None):
        self.rows = rows
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self):
        return math.ceil(len(self.rows) / self.batch_size)

    def __iter__(self):
        n, size = len(self.rows), self.batch_size
        if self.generator is None:
            for start in range(0, n, size):
                yield self.rows.take(slice(start, start + size))
        else:
            order = torch.randperm(n, generator=self.generator)
            for start in range(0, n, size):
                yield self.rows.take(order[start : start + size])


def _split_indices(n_samples, validation_fraction, seed):
    """Seeded train/validation index tensors, sized as ``train_test_split`` sizes them."""
    n_valid = math.ceil(validation_fraction * n_samples)
    n_train = n_samples - n_valid
    if n_valid == 0 or n_train == 0:
        raise ValueError(
            f"With n_samples={n_samples} and validation_fraction={validation_fraction}, "
            "the training or the validation split would be empty. Use more samples, "
            "another validation_fraction or early_stopping=False."
        )
    order = torch.randperm(n_samples, generator=torch.Generator().manual_seed(seed))
    return order[:n_train], order[n_train:]


# -- blocks of a memmap -----------------------------------------------------------


class _Blocks:
    """Standardized float32 rows of a 2-D array, produced one block at a time.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features)
        The rows, typically a ``numpy.memmap``; never copied whole.
    standardize : callable
        Maps a block of rows of ``data`` to a new float32 array of standardized rows.
    block_rows : int
        Rows per block (the last block may be shorter).
    device : torch.device
        Where the blocks are moved.
    part : {None, "train", "valid"}, default=None
        None for all rows; otherwise one side of a seeded split of every block.
    validation_fraction : float or None, default=None
        Fraction of each block's rows on the validation side (rounded up).
    seed : int, default=0
        Seed of the split; block ``b`` is split by a generator seeded ``seed + b``.
    """

    def __init__(
        self,
        data,
        standardize,
        block_rows,
        device,
        *,
        part=None,
        validation_fraction=None,
        seed=0,
    ):
        self.data = data
        self.standardize = standardize
        self.block_rows = block_rows
        self.device = device
        self.part = part
        self.validation_fraction = validation_fraction
        self.seed = seed

    @property
    def shape(self):
        return (len(self), self.data.shape[1])

    @property
    def n_blocks(self):
        return math.ceil(len(self.data) / self.block_rows)

    def _block_size(self, block):
        """Rows of block ``block`` in this view."""
        n = min(self.block_rows, len(self.data) - block * self.block_rows)
        if self.part is None:
            return n
        n_valid = math.ceil(self.validation_fraction * n)
        return n_valid if self.part == "valid" else n - n_valid

    def __len__(self):
        return sum(self._block_size(b) for b in range(self.n_blocks))

    def block(self, block):
        """The standardized rows of block ``block`` in this view, as a tensor on ``device``."""
        start = block * self.block_rows
        rows = self.standardize(self.data[start : start + self.block_rows])
        if self.part is not None:
            generator = torch.Generator().manual_seed(self.seed + block)
            order = torch.randperm(len(rows), generator=generator).numpy()
            n_train = len(rows) - math.ceil(self.validation_fraction * len(rows))
            kept = order[n_train:] if self.part == "valid" else order[:n_train]
            rows = rows[np.sort(kept)]
        return torch.from_numpy(rows).to(self.device)

    def split(self, validation_fraction, seed):
        """``(train, valid)`` views; ``valid`` is None without a validation fraction."""
        if not validation_fraction:
            return self, None
        train, valid = (
            _Blocks(
                self.data,
                self.standardize,
                self.block_rows,
                self.device,
                part=part,
                validation_fraction=validation_fraction,
                seed=seed,
            )
            for part in ("train", "valid")
        )
        if len(train) == 0 or len(valid) == 0:
            raise ValueError(
                f"With n_samples={len(self)} and validation_fraction={validation_fraction}, "
                "the training or the validation split would be empty. Use more samples, "
                "another validation_fraction or early_stopping=False."
            )
        return train, valid


class _BlockIterator:
    """Mini-batches of a ``_Blocks`` view, block by block.

    In training the blocks come in a seeded random order and the rows of each
    block are shuffled; otherwise everything is in order.
    """

    def __init__(self, rows, batch_size, generator=None):
        self.rows = rows
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self):
        return sum(
            math.ceil(self.rows._block_size(b) / self.batch_size)
            for b in range(self.rows.n_blocks)
        )

    def __iter__(self):
        blocks = range(self.rows.n_blocks)
        if self.generator is not None:
            blocks = torch.randperm(len(blocks), generator=self.generator).tolist()
        for block in blocks:
            yield from _BatchIterator(
                _Rows(self.rows.block(block)), self.batch_size, self.generator
            )


# -- sparse rows --------------------------------------------------------------------


# Stored values per block when the sparse structure is read by blocks of rows
# (statistics in float64, products with dense vectors): about 8 MiB of float64.
_BLOCK_NONZEROS = 2**20


def issparse(X):
    """Whether ``X`` is a scipy.sparse matrix or array."""
    return sp.issparse(X)


def _row_blocks(X, max_rows=None):
    """CSR row slices of ``X`` of at most ``_BLOCK_NONZEROS`` stored values (or one row each)."""
    n_samples = X.shape[0]
    bounds = np.searchsorted(X.indptr, np.arange(_BLOCK_NONZEROS, X.nnz, _BLOCK_NONZEROS))
    if max_rows is not None:
        bounds = np.union1d(bounds, np.arange(max_rows, n_samples, max_rows))
    bounds = np.unique(np.concatenate([[0], bounds, [n_samples]]))
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        yield X[start:stop]


def mean_and_variance(X, last_mean, last_var, last_n):
    """Per-feature mean and variance of CSR rows ``X`` merged with earlier ones, float64.

    The counterpart of ``_incremental_mean_and_var`` for sparse rows: implicit
    zeros count as values, and the sums run in float64 whatever the dtype of
    ``X`` (block by block, so float32 data are never copied whole).

    Returns
    -------
    mean, var : ndarray of shape (n_features,)
    n : int
    """
    n_features = X.shape[1]
    # copies: scikit-learn's update works in place on the running statistics
    mean = np.array(np.broadcast_to(last_mean, n_features), dtype=np.float64)
    var = np.array(np.broadcast_to(last_var, n_features), dtype=np.float64)
    n = np.full(n_features, last_n, dtype=np.float64)
    for block in _row_blocks(X):
        mean, var, n = incr_mean_variance_axis(
            block.astype(np.float64), axis=0, last_mean=mean, last_var=var, last_n=n
        )
    return mean, var, int(n[0]) if n_features else int(last_n) + X.shape[0]


def column_extremes(X):
    """The least and greatest value of every column, implicit zeros included, float64.

    Returns an ndarray of shape (2, n_features): whatever is computed from
    rows elementwise and monotonically (standardization) overflows on some
    row of ``X`` exactly when it overflows on these two.
    """
    extremes = (X.min(axis=0), X.max(axis=0))
    if issparse(X):
        extremes = tuple(e.toarray() for e in extremes)
    return np.vstack([np.asarray(e, dtype=np.float64).ravel() for e in extremes])


def column_percentiles(X, q):
    """``np.percentile(X, q, axis=0)`` by one sort of each column; sparse ``X`` never densified.

    Reads each order statistic from the sorted columns and interpolates
    linearly as ``numpy.percentile`` does, to the last bit. Dense ``X``: a
    sort of every column is 2 to 3 times faster than the partitions
    ``numpy.percentile`` makes for three quartiles, and sorting the rows of
    a contiguous copy of ``X.T`` instead of the strided columns of ``X``
    another 1.6 to 4 times on a few hundred to 5000 rows of 512 features
    (a copy of ``X``'s size). Sparse ``X``: the stored
    values of each column are sorted (from a CSC copy: the size of the sparse
    matrix), the implicit zeros sitting between the negative and the
    non-negative ones.

    Returns
    -------
    percentiles : ndarray of shape (len(q), n_features)
        Float64.
    """
    n_samples, n_features = X.shape
    if not issparse(X):
        columns = np.asarray(X).T.astype(np.float64, order="C")  # one copy
        columns.sort(axis=1)
        ordered = columns.T

        def order_statistic(rank):
            """The value of rank ``rank`` (0-based) in each sorted column."""
            return np.take_along_axis(ordered, rank, axis=0)

    else:
        X = sp.csc_matrix(X, dtype=np.float64)
        X.sum_duplicates()
        counts = np.diff(X.indptr)
        columns = np.repeat(np.arange(n_features), counts)
        values = np.append(X.data[np.lexsort((X.data, columns))], 0.0)  # a pad for empty columns
        negatives = np.bincount(columns[X.data < 0], minlength=n_features)
        zeros = n_samples - counts
        start = X.indptr[:-1]

        def order_statistic(rank):
            """The value of rank ``rank`` (0-based) in each sorted column."""
            explicit = np.where(rank < negatives, rank, rank - zeros)
            stored = values[np.clip(start + explicit, 0, len(values) - 1)]
            implicit = (rank >= negatives) & (rank < negatives + zeros)
            return np.where(implicit, 0.0, stored)

    q = np.asarray(q, dtype=np.float64)[:, None] / 100
    position = q * (n_samples - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, n_samples - 1)
    fraction = position - below
    a = order_statistic(np.broadcast_to(below, (len(q), n_features)))
    b = order_statistic(np.broadcast_to(above, (len(q), n_features)))
    difference = b - a  # numpy's linear interpolation, from the nearer end
    return np.where(fraction >= 0.5, b - difference * (1 - fraction), a + difference * fraction)


def column_std(X):
    """Per-column standard deviation of sparse ``X`` (as ``np.std``), implicit zeros included."""
    X = sp.csr_matrix(X)
    return np.sqrt(mean_and_variance(X, 0.0, 0.0, 0)[1])


class _SparseRows:
    """Standardized float32 rows of a CSR matrix, densified on demand.

    Parameters
    ----------
    data : scipy.sparse CSR matrix or array of shape (n_samples, n_features)
        The rows; never densified whole.
    mean, scale : ndarray of shape (n_features,)
        The standardization: ``standardize(rows)`` is ``(rows - mean) / scale``.
    standardize : callable
        Maps CSR rows of ``data`` to a new float32 ndarray of standardized rows.
    device : torch.device
        Where the densified rows are moved.
    """

    def __init__(self, data, mean, scale, standardize, device):
        self.data = data
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.standardize = standardize
        self.device = device

    @property
    def shape(self):
        return self.data.shape

    def __len__(self):
        return self.data.shape[0]

    def _tensor(self, rows):
        return torch.from_numpy(self.standardize(rows)).to(self.device)

    def __getitem__(self, rows):
        """The standardized rows of a slice, as a tensor on ``device``."""
        return self._tensor(self.data[rows])

    def index_select(self, dim, index):
        """The standardized rows at ``index`` (a tensor), as ``torch.Tensor.index_select``."""
        assert dim == 0
        return self._tensor(self.data[index.cpu().numpy()])

    def subset(self, index):
        """The rows at ``index`` (an integer array), standardized alike."""
        return _SparseRows(self.data[index], self.mean, self.scale, self.standardize, self.device)

    def chunks(self, rows):
        """The standardized rows, ``rows`` at a time."""
        for start in range(0, len(self), rows):
            yield self[start : start + rows]

    def principal_axes(self, rows):
        """``PrincipalAxes`` of the standardized rows.

        Narrow rows: the covariance matrix of densified chunks of ``rows`` rows
        (what a dense fit computes); wide rows: products of the sparse matrix
        with dense vectors, never densifying.
        """
        return PrincipalAxes(lambda: self.chunks(rows), moments=self._moments, gram=self._gram)

    def _moments(self):
        """``(n, mean, total variance)`` of the standardized rows (see ``PrincipalAxes``)."""
        n = len(self)
        mean, var, _ = mean_and_variance(self.data, 0.0, 0.0, 0)
        self._raw_mean = mean
        total = float(np.sum(var / self.scale**2)) * n / max(n - 1, 1)
        return n, (mean - self.mean) / self.scale, total

    def _gram(self, V):
        """``A.T @ (A @ V)`` for the centred standardized rows ``A``, never densified.

        With ``X`` the raw rows, ``c`` their mean and ``S`` the diagonal of
        scales, ``A = (X - c) S⁻¹``: ``A @ V = X @ W - c @ W`` for
        ``W = S⁻¹ V``, and ``A.T @ Y = S⁻¹ (X.T @ Y - c ⊗ sum(Y))``. Blocks of
        rows bound the dense ``A @ V``.
        """
        W = V / self.scale[:, None]
        centre = self._raw_mean
        shift = centre @ W
        out = np.zeros_like(V)
        max_rows = max(1, _BLOCK_NONZEROS // max(V.shape[1], 1))
        for block in _row_blocks(self.data, max_rows):
            block = block.astype(np.float64)
            product = block @ W - shift
            out += block.T @ product - np.outer(centre, product.sum(axis=0))
        return out / self.scale[:, None]


def standardized(X, mean, scale, dtype, rows):
    """``(X - mean) / scale`` as a new C-contiguous array of ``dtype``, ``rows`` at a time.

    Sparse ``X`` is densified one chunk at a time.
    """
    out = np.empty(X.shape, dtype=dtype)
    for start in range(0, X.shape[0], rows):
        chunk = slice(start, start + rows)
        part = X[chunk]
        out[chunk] = ((part.toarray() if issparse(part) else part) - mean) / scale
    return out


def standardized_rows(X, mean, scale, device, rows):
    """Standardized float32 rows of validated ``X`` on ``device``, for training and PCA.

    A tensor for an array; a ``_SparseRows`` for sparse ``X``, densified a
    batch or ``rows`` rows at a time.
    """
    if issparse(X):

        def standardize(part):
            return standardized(part, mean, scale, np.float32, rows)

        return _SparseRows(X, mean, scale, standardize, device)
    return torch.from_numpy(standardized(X, mean, scale, np.float32, rows)).to(device)


def chunks_of(X_std, rows):
    """Standardized rows chunk by chunk: the blocks of a ``_Blocks``, else slices of a tensor.

    ``_SparseRows`` are densified ``rows`` at a time, at the bounds of a tensor's slices.
    """
    if isinstance(X_std, _Blocks):
        return (X_std.block(b) for b in range(X_std.n_blocks))
    if isinstance(X_std, _SparseRows):
        return X_std.chunks(rows)
    return torch.split(X_std, rows)


def training_chunks(X_std, validation_fraction, seed, rows):
    """The training side of the net's seeded split of ``X_std``, chunk by chunk.

    All rows without a validation fraction; the same rows the net trains on
    otherwise (``_split_indices``, or the training part of each block).
    """
    if isinstance(X_std, _Blocks):
        return chunks_of(X_std.split(validation_fraction, seed)[0], rows)
    if not validation_fraction:
        return chunks_of(X_std, rows)
    train = _split_indices(len(X_std), validation_fraction, seed)[0].sort().values
    return (X_std.index_select(0, index.to(X_std.device)) for index in torch.split(train, rows))


def principal_axes_of(X_std, rows, validation_fraction=None, seed=0):
    """``PrincipalAxes`` of standardized rows (a tensor, ``_Blocks`` or ``_SparseRows``).

    With a ``validation_fraction``, of the training side of the net's seeded
    split only (see ``training_chunks``); read ``rows`` rows at a time.
    """
    if isinstance(X_std, _SparseRows):
        if validation_fraction:
            train = _split_indices(len(X_std), validation_fraction, seed)[0]
            X_std = X_std.subset(train.sort().values.numpy())
        return X_std.principal_axes(rows)
    return PrincipalAxes(lambda: training_chunks(X_std, validation_fraction, seed, rows))
