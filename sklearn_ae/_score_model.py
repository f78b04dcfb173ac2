"""The detector's score: its statistics, fitted after training and read back to score rows.

``_ScoreModelMixin`` gives ``AutoencoderOutlierDetector`` its
``score_samples`` (``_scores``) and the statistics it reads, fitted on the
training rows once the network is trained (``_fit_score_model``). The
models themselves are ``_scoring``'s, in numpy: the network's member, a
``LatentModel`` of the network's codes and residuals, and the one-scale
member, a ``OneScaleModel``. Here they are fed the network's codes and
residuals and kept as the estimator's fitted attributes (``latent_mean_``,
``one_scale_mean_``, ...), from which they are rebuilt to score, so that a
saved model needs no pickled object of this package's but the estimator.
"""

import numpy as np
import torch

from ._data import issparse
from ._inference import _overflow_error
from ._losses import elementwise_loss, output_link
from ._pca import PrincipalAxes
from ._robust_rows import _DEFAULT_VARIANCE_FRACTION, _MAX_RESIDUAL_AXES_WIDTH
from ._scoring import (
    LatentModel,
    OneScaleModel,
    combined_score,
    cube_root_location,
    fit_latent_model,
    fit_one_scale_model,
)
from ._threads import on_one_blas_thread

# With fewer than this many training rows per feature, the likelihood score
# measures residuals within the leading n_samples // _ROWS_PER_RESIDUAL_AXIS
# principal axes of the training rows only (see _residual_axes).
_ROWS_PER_RESIDUAL_AXIS = 4

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


class _ScoreModelMixin:
    """The score's statistics of ``AutoencoderOutlierDetector`` (see the module)."""

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
    def _fit_score_model(self, X):
        """Fit the score's statistics on validated training rows ``X``; return their scores."""
        self.residual_axes_ = self._residual_axes(X)
        width = self._residual_width()
        # dense rows only: sparse rows' residuals would be their dense copy
        held = self._holds_rows(X, self.n_components_ + width)
        codes, residuals = self._codes_and_residuals(X, squares=held)
        energy = residuals.sum(axis=1) if held else residuals
        with np.errstate(over="ignore", invalid="ignore"):  # reported by _finite
            model, self.support_, code_terms = fit_latent_model(
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
                members = [code_terms + residual]
            del codes, residuals, residual, code_terms  # before the second member's
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
        return scores

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


def _finite(scores):
    """``scores``, or the overflow error where one is not finite."""
    if not np.all(np.isfinite(scores)):
        raise _overflow_error("float64")
    return scores
