"""Export of fitted estimators to ONNX, for inference without Python or PyTorch."""

import copy
import warnings

import numpy as np
import torch
from torch import nn

from ._losses import reconstruction
from ._scoring import _whitening
from ._validation import check_is_fitted

#: The first torch whose ``torch.onnx.export`` takes ``dynamo=True``.
_MIN_TORCH_VERSION = (2, 5)

#: Inputs and outputs of each exportable part: ``(input name, output name)``.
_PARTS = {
    "encoder": ("X", "codes"),
    "decoder": ("codes", "X_reconstructed"),
    "autoencoder": ("X", "X_reconstructed"),
    "score_samples": ("X", "scores"),
}


def _float32(array):
    return torch.as_tensor(np.asarray(array), dtype=torch.float32)


class _ExportedPart(nn.Module):
    """One part of a fitted estimator, standardization included, as a torch module.

    ``forward`` maps raw rows (or codes, for the decoder) to what the
    estimator's method returns: ``transform`` for ``"encoder"``,
    ``inverse_transform`` for ``"decoder"``, their composition for
    ``"autoencoder"`` and the detector's ``score_samples`` for
    ``"score_samples"`` (``score`` is its ``anomaly_score``).
    """

    def __init__(self, estimator, module, part):
        super().__init__()
        self.module = module
        self.part = part
        self.score = getattr(estimator, "anomaly_score", None)
        # (De)standardization runs in float32, as ``transform`` and
        # ``inverse_transform`` do on float32 rows. (Not named "mean": torch
        # 2.5's exporter also names a node after the ``mean`` operation.)
        self.register_buffer("feature_mean", _float32(estimator.mean_))
        self.register_buffer("feature_scale", _float32(estimator.scale_))
        if part == "score_samples" and self.score == "likelihood":
            self.latent = _ExportedLatent(estimator._latent_model())
            axes = getattr(estimator, "residual_axes_", None)
            self.register_buffer("residual_axes", None if axes is None else _float32(axes))
            one_scale = estimator._one_scale_model()
            self.one_scale = None if one_scale is None else _ExportedOneScale(one_scale)
            location = getattr(estimator, "score_location_", None)  # None: saved before it
            self.register_buffer("location", None if location is None else _float32(location))
            spread = None if location is None else estimator.score_spread_
            self.register_buffer("spread", None if spread is None else _float32(spread))

    def forward(self, x):
        if self.part == "decoder":
            return self.module.decode(x) * self.feature_scale + self.feature_mean
        if self.part == "score_samples":
            return self._score_samples(x)
        x = (x - self.feature_mean) / self.feature_scale
        codes = self.module.encode(x)
        if self.part == "encoder":
            return codes
        return self.module.decode(codes) * self.feature_scale + self.feature_mean

    def _score_samples(self, rows):
        """``AutoencoderOutlierDetector._scores`` of raw rows, in torch."""
        x = (rows - self.feature_mean) / self.feature_scale
        if self.score == "reconstruction":
            return -((reconstruction(self.module, x) - x) ** 2).mean(dim=1)
        codes = self.module.encode(x)
        residual = self.module.decode(codes) - x
        if self.residual_axes is not None:
            residual = residual @ self.residual_axes.T
        members = [self.latent.terms(codes, residual**2)]
        if self.location is None:
            return -0.5 * members[0]
        if self.one_scale is not None:
            members.append(self.one_scale.terms(rows))
        # ``_scoring.robust_z``: the terms are non-negative
        terms = torch.stack(members, dim=1).clamp(min=0.0)
        return -((terms ** (1.0 / 3.0) - self.location) / self.spread).mean(dim=1)


class _ExportedLatent(nn.Module):
    """``_scoring.LatentModel.terms`` in torch, for the exported graph.

    The codes are read along the principal axes of their covariance, in
    standard deviations (``_whitening``): Huber's rho and the neighbour
    density read them so.
    """

    def __init__(self, latent):
        super().__init__()
        self.latent = latent  # its squared norms, on tensors
        self.register_buffer("latent_mean", _float32(latent.mean))
        whiten = _whitening(latent.precision)
        self.register_buffer("whiten", _float32(whiten))
        self.neighbors = latent.references is not None
        if self.neighbors:
            self.register_buffer("references", _float32(latent.references @ whiten))
            self.n_neighbors = min(latent.n_neighbors, len(latent.references))
            self.log_radius = latent.log_radius
            self.median_distance = latent.median_distance

    def terms(self, codes, residual_squares):
        """Each row's code term plus residual term."""
        code_term = self.latent.squared_norm(((codes - self.latent_mean) @ self.whiten) ** 2)
        if self.neighbors:
            queries = codes @ self.whiten
            squared = ((queries[:, None, :] - self.references[None]) ** 2).sum(dim=2)
            radius = torch.topk(squared, self.n_neighbors, dim=1, largest=False).values[:, -1]
            log_radius = 0.5 * torch.log(radius)
            density = 2 * codes.shape[1] * (log_radius - self.log_radius)
            code_term = torch.maximum(code_term, density + self.median_distance)
        return code_term + self.latent.residual_term(residual_squares)


class _ExportedOneScale(nn.Module):
    """``_scoring.OneScaleModel.terms`` of raw rows in torch, for the exported graph."""

    def __init__(self, model):
        super().__init__()
        self.register_buffer("one_scale_mean", _float32(model.mean))
        self.scale = float(model.scale)
        self.register_buffer("components", _float32(model.components))
        axes = model.residual_axes
        self.register_buffer("residual_axes", None if axes is None else _float32(axes))
        self.latent = _ExportedLatent(model.latent)

    def terms(self, rows):
        """Each raw row's terms under the one-scale member."""
        z = (rows - self.one_scale_mean) / self.scale
        codes = z @ self.components.T
        if self.residual_axes is None:
            residual = z - codes @ self.components
        else:
            residual = z @ self.residual_axes.T
        return self.latent.terms(codes, residual**2)


def to_onnx(estimator, part="encoder", *, path=None, opset_version=None):
    """Export a part of a fitted autoencoder to an ONNX model.

    The exported graph includes the estimator's standardization, so it maps
    raw rows to what the estimator's methods return, for any number of rows.
    It computes in float32: feed it float32 arrays. It needs the ``onnx`` and
    ``onnxscript`` packages (``pip install sklearn_ae[onnx]``, which also
    installs ``onnxruntime`` to run it).

    Parameters
    ----------
    estimator : AutoencoderTransformer or AutoencoderOutlierDetector
        A fitted estimator.
    part : {"encoder", "decoder", "autoencoder", "score_samples"}, \
default="encoder"
        What to export:

        - ``"encoder"``: input ``"X"`` of shape ``(n_samples, n_features_in_)``,
          output ``"codes"``, as ``transform``;
        - ``"decoder"``: input ``"codes"`` of shape ``(n_samples, n_components_)``,
          output ``"X_reconstructed"`` in original units, as
          ``inverse_transform``;
        - ``"autoencoder"``: input ``"X"``, output ``"X_reconstructed"``, as
          ``inverse_transform(transform(X))``;
        - ``"score_samples"``: input ``"X"``, output ``"scores"`` of shape
          (n_samples,), as ``score_samples`` of an
          ``AutoencoderOutlierDetector`` (whichever its ``anomaly_score``).

    path : str or path-like, default=None
        Where to write the model as well (a ``.onnx`` file); None only returns it.
    opset_version : int, default=None
        ONNX operator set to target; None uses the exporter's default.

    Returns
    -------
    model : onnx.ModelProto
        The exported model. ``model.SerializeToString()`` gives the bytes that
        ``onnxruntime.InferenceSession`` accepts.

    Raises
    ------
    ImportError
        If ``onnx`` or ``onnxscript`` is not installed, or torch is older than
        2.5 (the first with ``torch.onnx.export(dynamo=True)``).

    Notes
    -----
    The export traces the estimator's module with ``torch.onnx.export``
    (``dynamo=True``); a custom module must therefore be traceable by
    ``torch.export``. Outputs match the estimator's on float32 input up to
    float32 rounding: the graph runs in float32, as ``transform`` does on
    float32 rows. The decision threshold
    ``offset_`` of an ``AutoencoderOutlierDetector`` is not part of the graph:
    compare the exported scores with it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ae import AutoencoderTransformer
    >>> from sklearn_ae.export import to_onnx
    >>> X = np.random.RandomState(0).normal(size=(100, 5)).astype(np.float32)
    >>> ae = AutoencoderTransformer(n_components=2, max_iter=5, random_state=0).fit(X)
    >>> model = to_onnx(ae, part="encoder")  # doctest: +SKIP
    >>> import onnxruntime  # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession(model.SerializeToString())  # doctest: +SKIP
    >>> codes = session.run(None, {"X": X})[0]  # doctest: +SKIP
    >>> bool(np.allclose(codes, ae.transform(X), atol=1e-5))  # doctest: +SKIP
    True
    """
    check_is_fitted(estimator)
    if part not in _PARTS:
        raise ValueError(f"part must be one of {sorted(_PARTS)}, got {part!r}.")
    if part == "score_samples" and not hasattr(estimator, "decision_function"):
        raise ValueError('part="score_samples" needs an AutoencoderOutlierDetector.')
    if _torch_version() < _MIN_TORCH_VERSION:
        raise ImportError(
            f"Exporting to ONNX needs torch>={'.'.join(map(str, _MIN_TORCH_VERSION))}, "
            f"found {torch.__version__}."
        )
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch's exporter needs it)
    except ImportError as exc:
        raise ImportError(
            "Exporting to ONNX needs the onnx and onnxscript packages: "
            "pip install onnx onnxscript onnxruntime (or sklearn_ae[onnx])."
        ) from exc
    from . import __version__

    module = copy.deepcopy(estimator.net_.module_).to("cpu", torch.float32).eval()
    exported = _ExportedPart(estimator, module, part).eval()
    input_name, output_name = _PARTS[part]
    width = estimator.n_components_ if part == "decoder" else estimator.n_features_in_
    example = torch.zeros(2, width)  # two rows: a batch of one could be specialised
    with warnings.catch_warnings():
        # torch's exporter warns about its own internals; nothing a user can act on
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        program = torch.onnx.export(
            exported,
            (example,),
            dynamo=True,
            verbose=False,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_shapes=({0: torch.export.Dim("n_samples")},),
            opset_version=opset_version,
        )
    model = program.model_proto
    model.producer_name = "sklearn_ae"
    model.producer_version = __version__
    model.doc_string = f"{type(estimator).__name__} {part}"
    onnx.helper.set_model_props(model, {"sklearn_ae.part": part})
    if path is not None:
        onnx.save(model, path)
    return model


def _torch_version():
    """torch's (major, minor) version."""
    return tuple(int(part) for part in torch.__version__.split(".")[:2])


__all__ = ["to_onnx"]
