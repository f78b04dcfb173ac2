"""Batched inference: the fitted module applied to rows, chunk by chunk.

``_InferenceMixin._map_rows`` is the one loop every output goes through
(codes, reconstructions, errors, scores): rows are validated, standardized
and moved to the device one chunk at a time, in float32 for float32 input
and float64 otherwise, so memory stays bounded whatever the number of rows
and results do not depend on it.
"""

import copy
import weakref

import numpy as np
import torch

from ._data import issparse
from ._losses import elementwise_loss, output_link, reconstruction
from ._threads import threads_for, work_threads
from ._validation import check_is_fitted


def _overflow_error(dtype_name):
    """The error of an inference whose ``dtype_name`` arithmetic overflowed."""
    return ValueError(
        f"The model's output overflowed ({dtype_name} arithmetic) on some rows of X: they "
        "hold values far beyond the range seen during fit. Rescale them"
        + (", or pass float64 data." if dtype_name == "float32" else ".")
    )


# Copies of fitted modules in another floating-point type, kept while the
# module lives and its parameters and buffers are unchanged. Copying a small
# module costs about 3 ms of Python work, most of the time of scoring a few
# float64 rows; a copy above _MAX_KEPT_COPY_BYTES is made at each call
# instead, not held beside the model for its lifetime.
_KEPT_COPIES = weakref.WeakKeyDictionary()
_MAX_KEPT_COPY_BYTES = 8 * 2**20


def _module_in(module, dtype):
    """``module`` with parameters of ``dtype``: itself, or a copy, reused while unchanged.

    A copy is reused only while every tensor of ``module`` is the same object
    at the same version (torch counts each in-place change, such as an
    optimizer's step or ``load_state_dict``), so ``partial_fit`` or a warm
    start is seen by the next call.
    """
    parameters = list(module.parameters())
    if not parameters or dtype == parameters[0].dtype:
        return module
    tensors = [*parameters, *module.buffers()]
    state = [(tensor, tensor._version) for tensor in tensors]
    kept = _KEPT_COPIES.get(module)
    if kept is not None and kept[0] == dtype and _same_state(kept[1], state):
        return kept[2]
    copied = copy.deepcopy(module).to(dtype)
    size = sum(t.numel() for t in tensors) * torch.finfo(dtype).bits // 8
    if size <= _MAX_KEPT_COPY_BYTES:
        _KEPT_COPIES[module] = (dtype, state, copied)
    return copied


def _same_state(kept, state):
    return len(kept) == len(state) and all(
        a is b and u == v for (a, u), (b, v) in zip(kept, state, strict=True)
    )


class _InferenceMixin:
    """Encoding, decoding and reconstruction errors of a fitted estimator."""

    def _map_rows(self, X, fn, n_out, out_dtype, *, standardize=True):
        """Apply ``fn(module, rows)`` to ``X`` by chunks of rows, in eval mode.

        The computation runs in float32 for float32 ``X`` and in float64
        otherwise (on a float64 copy of the module, made once while the module is
        unchanged: ``_module_in``), so results do not depend on
        the number of rows per call. The output is preallocated and the rows are
        standardized chunk by chunk in the compute dtype, so memory beyond the
        output stays bounded by one chunk whatever the size of ``X``.
        """
        compute = torch.float32 if X.dtype == np.float32 else torch.float64
        module = self.net_.module_
        module = getattr(module, "_orig_mod", module)  # compiled: infer eagerly
        module = _module_in(module, compute)
        module.eval()
        device = self.net_.device
        if standardize:
            # copies: a memory-mapped model's arrays are read-only
            mean = torch.tensor(self.mean_, dtype=compute, device=device)
            scale = torch.tensor(self.scale_, dtype=compute, device=device)
        out = np.empty((X.shape[0], n_out), dtype=out_dtype)
        step = self._chunk_rows(max(X.shape[1], n_out))
        threads = threads_for(min(step, X.shape[0]), module)
        with torch.inference_mode(), work_threads(threads, wait=False):
            for start in range(0, X.shape[0], step):
                rows = X[start : start + step]
                rows = rows.toarray() if issparse(rows) else np.ascontiguousarray(rows)
                if not rows.flags.writeable:  # torch only wraps writeable arrays
                    rows = rows.copy()
                rows = torch.from_numpy(rows).to(device=device, dtype=compute)
                if standardize:
                    rows = (rows - mean) / scale
                result = fn(module, rows)
                if not torch.isfinite(result).all():
                    raise _overflow_error(str(compute).removeprefix("torch."))
                out[start : start + len(rows)] = result.cpu().numpy()
        return out

    def _validated(self, X):
        check_is_fitted(self)
        return self._validate_rows(X)

    def _encode(self, X):
        return self._map_rows(X, lambda m, x: m.encode(x), self.n_components_, X.dtype)

    def _errors(self, X, per_feature=False):
        """Reconstruction errors (the per-element ``loss``) in scaled units, float64."""
        loss = self.net_.criterion_.loss

        def error(module, x):
            output = reconstruction(module, x)
            err = elementwise_loss(loss, output.double(), x.double())
            return err if per_feature else err.mean(dim=1, keepdim=True)

        width = X.shape[1] if per_feature else 1
        errors = self._map_rows(X, error, width, np.float64)
        return errors if per_feature else errors[:, 0]

    def _decode(self, Z):
        """Rows in original units decoded from codes ``Z``, of ``Z``'s dtype."""
        loss = self.net_.criterion_.loss
        decoded = self._map_rows(
            Z,
            lambda m, z: output_link(loss, m.decode(z)),
            self.n_features_in_,
            Z.dtype,
            standardize=False,
        )
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below
            decoded *= self.scale_.astype(Z.dtype)
            decoded += self.mean_.astype(Z.dtype)
        if not np.all(np.isfinite(decoded)):
            raise _overflow_error(Z.dtype.name)
        return decoded

    def reconstruction_error(self, X, per_feature=False):
        """Error of the reconstruction of each row, measured with ``loss``.

        Errors are measured in the units ``standardize`` sets: proportional
        to the input's own units with the default ``"global"`` (the units in
        which ``PCA`` is judged), with every feature weighing the same with
        ``"feature"``. With the default
        ``loss="squared_error"`` they are squared errors.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to reconstruct.
        per_feature : bool, default=False
            Whether to return the error of every feature rather than the mean
            over features. Large entries show which features a row failed to
            reconstruct.

        Returns
        -------
        errors : ndarray of shape (n_samples,) or (n_samples, n_features)
            Float64 errors.
        """
        return self._errors(self._validated(X), per_feature=per_feature)
