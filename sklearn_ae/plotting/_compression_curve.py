"""``CompressionCurveDisplay``: reconstruction error against the code size, with PCA's."""

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA

from ._common import _axes, _check_matplotlib, _style


class CompressionCurveDisplay:
    """Reconstruction error versus code size, for the autoencoder and for PCA.

    The error falls as ``n_components`` grows; where the curve flattens (its
    "elbow"), a larger code buys little, which suggests a code size. The PCA
    curve beside it shows what the non-linearity gains at each size. Prefer
    :meth:`from_estimator` to build it.

    Parameters
    ----------
    n_components : array-like of shape (n_sizes,)
        Code sizes.

    errors : array-like of shape (n_sizes,)
        Mean squared reconstruction error of the autoencoder at each size.

    pca_errors : array-like of shape (n_sizes,) or None, default=None
        Mean squared reconstruction error of PCA at each size, in the same
        units; None draws no PCA curve.

    estimator_name : str or None, default=None
        Legend label of the autoencoder's curve.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The autoencoder's curve.

    pca_line_ : matplotlib Line2D or None
        PCA's curve; None without ``pca_errors``.

    ax_ : matplotlib Axes
        Axes holding the curves.

    figure_ : matplotlib Figure
        Figure holding the axes.

    See Also
    --------
    sklearn.model_selection.ValidationCurveDisplay : Scores versus any parameter.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_ae import AutoencoderTransformer
    >>> from sklearn_ae.plotting import CompressionCurveDisplay
    >>> X, _ = load_diabetes(return_X_y=True)
    >>> ae = AutoencoderTransformer(max_iter=5, random_state=0)
    >>> display = CompressionCurveDisplay.from_estimator(ae, X, n_components=[1, 2, 4])
    >>> display.line_.get_xdata().tolist()
    [1, 2, 4]
    >>> bool(display.errors[-1] < display.errors[0])
    True
    """

    def __init__(self, *, n_components, errors, pca_errors=None, estimator_name=None):
        self.n_components = n_components
        self.errors = errors
        self.pca_errors = pca_errors
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, log_scale=False, line_kwargs=None, pca_line_kwargs=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.

        log_scale : bool, default=False
            Whether the error axis is logarithmic.

        line_kwargs : dict, default=None
            Keyword arguments of ``ax.plot`` for the autoencoder's curve.

        pca_line_kwargs : dict, default=None
            Keyword arguments of ``ax.plot`` for PCA's curve.

        Returns
        -------
        display : CompressionCurveDisplay
            This object, holding the artists.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        ax = _axes(ax)
        name = "Autoencoder" if self.estimator_name is None else self.estimator_name
        (self.line_,) = ax.plot(
            self.n_components, self.errors, **_style({"marker": "o", "label": name}, line_kwargs)
        )
        self.pca_line_ = None
        if self.pca_errors is not None:
            (self.pca_line_,) = ax.plot(
                self.n_components,
                self.pca_errors,
                **_style({"marker": "s", "linestyle": "--", "label": "PCA"}, pca_line_kwargs),
            )
        if log_scale:
            ax.set_yscale("log")
        ax.set(xlabel="n_components (code size)", ylabel="Reconstruction error (mean squared)")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, *, n_components, X_test=None, pca=True, ax=None, name=None, **kwargs
    ):
        """Fit a copy of ``estimator`` at each code size and plot the errors.

        The estimator itself is left untouched: each size fits a clone with
        ``n_components`` set. PCA is fitted on the same rows, standardized as
        the estimator standardizes them, so both curves are in the same units.

        Parameters
        ----------
        estimator : AutoencoderTransformer or AutoencoderOutlierDetector
            The model to evaluate, fitted or not (its parameters are used).

        X : array-like of shape (n_samples, n_features)
            Training rows.

        n_components : array-like of int
            Code sizes to try, each at most ``n_features``.

        X_test : array-like of shape (n_test, n_features) or None, default=None
            Rows on which errors are measured; None measures them on ``X``.
            Held-out rows show overfitting that training errors hide.

        pca : bool, default=True
            Whether to draw PCA's curve beside the autoencoder's.

        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.

        name : str or None, default=None
            Legend label of the autoencoder's curve; None uses the estimator's
            class name.

        **kwargs : dict
            ``log_scale``, ``line_kwargs`` and ``pca_line_kwargs``, passed to
            :meth:`plot`.

        Returns
        -------
        display : CompressionCurveDisplay
            The display, holding the artists.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        sizes = [int(k) for k in n_components]
        X_eval = X if X_test is None else X_test
        errors, pca_errors = [], []
        for k in sizes:
            fitted = clone(estimator).set_params(n_components=k).fit(X)
            errors.append(float(np.mean(fitted.reconstruction_error(X_eval))))
            if pca:
                # the fitted statistics standardize exactly as the estimator does
                X_std = (np.asarray(X, dtype=np.float64) - fitted.mean_) / fitted.scale_
                X_eval_std = (np.asarray(X_eval, dtype=np.float64) - fitted.mean_) / fitted.scale_
                model = PCA(n_components=k).fit(X_std)
                restored = model.inverse_transform(model.transform(X_eval_std))
                pca_errors.append(float(np.mean((restored - X_eval_std) ** 2)))
        return cls(
            n_components=sizes,
            errors=errors,
            pca_errors=pca_errors if pca else None,
            estimator_name=type(estimator).__name__ if name is None else name,
        ).plot(ax=ax, **kwargs)
