"""``LatentSpaceDisplay``: rows drawn at their codes."""

import numpy as np
from sklearn.utils.multiclass import type_of_target

from .._validation import check_is_fitted
from ._common import _axes, _check_matplotlib, _style


class LatentSpaceDisplay:
    """Scatter plot of two latent components, coloured by an optional target.

    Classes that the autoencoder separates without ever seeing their labels
    show as separate clouds. Prefer :meth:`from_estimator` to build it.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, 2)
        The two latent components to plot, one row per sample.

    y : array-like of shape (n_samples,) or None, default=None
        Values colouring the points: class labels get a legend, continuous
        values a colour bar. None draws every point alike.

    component_names : tuple of str, default=("latent 0", "latent 1")
        Axis labels.

    Attributes
    ----------
    scatter_ : matplotlib PathCollection
        The points.

    legend_ : matplotlib Legend or None
        Legend of the classes when ``y`` holds class labels, else None.

    colorbar_ : matplotlib Colorbar or None
        Colour bar when ``y`` is continuous, else None.

    ax_ : matplotlib Axes
        Axes holding the scatter plot.

    figure_ : matplotlib Figure
        Figure holding the axes.

    See Also
    --------
    sklearn.decomposition.PCA : The linear counterpart of the latent space.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_ae import AutoencoderTransformer
    >>> from sklearn_ae.plotting import LatentSpaceDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=2, max_iter=5, random_state=0).fit(X)
    >>> display = LatentSpaceDisplay.from_estimator(ae, X, y)
    >>> display.scatter_.get_offsets().shape
    (150, 2)
    >>> [text.get_text() for text in display.legend_.get_texts()]
    ['0', '1', '2']
    """

    def __init__(self, *, codes, y=None, component_names=("latent 0", "latent 1")):
        self.codes = codes
        self.y = y
        self.component_names = component_names

    def plot(self, ax=None, *, scatter_kwargs=None):
        """Draw the scatter plot.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.

        scatter_kwargs : dict, default=None
            Keyword arguments of ``ax.scatter``.

        Returns
        -------
        display : LatentSpaceDisplay
            This object, holding the artists.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        ax = _axes(ax)
        codes = np.asarray(self.codes)
        if codes.ndim != 2 or codes.shape[1] != 2:
            raise ValueError(f"codes must have shape (n_samples, 2), got {codes.shape}.")
        style = _style({"s": 12, "alpha": 0.8}, scatter_kwargs)
        self.legend_ = self.colorbar_ = None
        if self.y is None:
            self.scatter_ = ax.scatter(codes[:, 0], codes[:, 1], **style)
        else:
            y = np.asarray(self.y)
            if type_of_target(y) in ("binary", "multiclass"):
                classes, index = np.unique(y, return_inverse=True)
                style = {"cmap": "tab10" if len(classes) <= 10 else "viridis", **style}
                self.scatter_ = ax.scatter(codes[:, 0], codes[:, 1], c=index, **style)
                handles, _ = self.scatter_.legend_elements(num=len(classes))
                self.legend_ = ax.legend(handles, [str(c) for c in classes], title="y")
            else:
                self.scatter_ = ax.scatter(codes[:, 0], codes[:, 1], c=y, **style)
                self.colorbar_ = ax.figure.colorbar(self.scatter_, ax=ax, label="y")
        ax.set(xlabel=self.component_names[0], ylabel=self.component_names[1])
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, components=(0, 1), ax=None, **kwargs):
        """Encode ``X`` and plot two of its latent components.

        Parameters
        ----------
        estimator : AutoencoderTransformer or AutoencoderOutlierDetector
            A fitted estimator with ``n_components_ >= 2``.

        X : array-like of shape (n_samples, n_features)
            Rows to encode.

        y : array-like of shape (n_samples,) or None, default=None
            Values colouring the points (class labels or continuous values).

        components : tuple of two int, default=(0, 1)
            Indices of the latent components on the x and y axes.

        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.

        **kwargs : dict
            ``scatter_kwargs``, passed to :meth:`plot`.

        Returns
        -------
        display : LatentSpaceDisplay
            The display, holding the artists.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if estimator.n_components_ < 2:
            raise ValueError(
                "A latent space plot needs two components, but the estimator has "
                f"n_components_={estimator.n_components_}."
            )
        components = list(components)
        codes = estimator.transform(X)
        names = estimator.get_feature_names_out()
        return cls(
            codes=np.asarray(codes)[:, components],
            y=y,
            component_names=tuple(names[components]),
        ).plot(ax=ax, **kwargs)
