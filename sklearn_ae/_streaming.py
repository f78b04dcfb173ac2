"""Training on arrays read in contiguous blocks of rows, with bounded memory.

``fit`` on an ordinary array standardizes it once into a float32 tensor and
trains on slices of it. A ``numpy.memmap`` may be larger than memory, so it is
never copied whole: every pass (statistics, PCA initialisation, each training
epoch) reads it in contiguous blocks of rows, standardizes one block at a time
and moves it to the device. A training epoch visits the blocks in a seeded
random order and shuffles the rows inside each block, so the disk is read
sequentially while mini-batches still mix rows.

Peak memory is a few copies of one block (about ``_CHUNK_BYTES`` of float64
rows), whatever the number of rows.
"""

import math

import numpy as np
import torch


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
        from ._net import _BatchIterator, _Rows

        blocks = range(self.rows.n_blocks)
        if self.generator is not None:
            blocks = torch.randperm(len(blocks), generator=self.generator).tolist()
        for block in blocks:
            yield from _BatchIterator(
                _Rows(self.rows.block(block)), self.batch_size, self.generator
            )
