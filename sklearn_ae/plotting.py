"""Plots of fitted autoencoders, in scikit-learn's Display API.

Each Display is built with ``from_estimator`` (which computes what to draw) or
from precomputed values with its constructor, and draws with ``plot(ax=...)``.
After plotting it holds the matplotlib artists it drew, the axes as ``ax_`` and
the figure as ``figure_``, as ``sklearn.metrics.RocCurveDisplay`` does.

matplotlib is optional: install it with ``pip install sklearn_ae[plot]``.
"""

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.utils.multiclass import type_of_target

from ._validation import _validate_style_kwargs, check_is_fitted

__all__ = [
    "CompressionCurveDisplay",
    "LatentSpaceDisplay",
    "LossCurveDisplay",
    "ReconstructionErrorDisplay",
]


def _check_matplotlib(caller):
    """Raise an ImportError naming the extra to install when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, which is not installed. Install it with "
            "`pip install sklearn_ae[plot]` (or `pip install matplotlib`)."
        ) from exc


def _axes(ax):
    """``ax``, or the axes of a new figure when ``ax`` is None."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _style(defaults, user):
    return {**defaults, **_validate_style_kwargs(defaults, user or {})}


class LossCurveDisplay:
    """Training and validation loss per epoch.

    The curves show whether training converged (a flat tail), stopped early
    (the validation loss turning up) or needs more epochs (still falling).
    Prefer :meth:`from_estimator` to build it.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss at the end of each epoch, as the ``loss_curve_``
        attribute.

    validation_loss_curve : array-like of shape (n_epochs,) or None, default=None
        Loss of the held-out rows at each epoch (minus ``validation_scores_``);
        None when training did not hold rows out.

    estimator_name : str or None, default=None
        Name of the model, shown in the title.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The training loss curve.

    validation_line_ : matplotlib Line2D or None
        The validation loss curve; None without ``validation_loss_curve``.

    ax_ : matplotlib Axes
        Axes holding the curves.

    figure_ : matplotlib Figure
        Figure holding the axes.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores versus training size.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ae import AutoencoderTransformer
    >>> from sklearn_ae.plotting import LossCurveDisplay
    >>> X = np.random.RandomState(0).normal(size=(100, 4))
    >>> ae = AutoencoderTransformer(max_iter=5, early_stopping=True, random_state=0)
    >>> display = LossCurveDisplay.from_estimator(ae.fit(X))
    >>> display.ax_.get_xlabel()
    'Epoch'
    >>> len(display.line_.get_xdata()) == ae.n_iter_
    True
    """

    def __init__(self, *, loss_curve, validation_loss_curve=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, log_scale=False, line_kwargs=None, validation_line_kwargs=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.

        log_scale : bool, default=False
            Whether the loss axis is logarithmic.

        line_kwargs : dict, default=None
            Keyword arguments of ``ax.plot`` for the training curve.

        validation_line_kwargs : dict, default=None
            Keyword arguments of ``ax.plot`` for the validation curve.

        Returns
        -------
        display : LossCurveDisplay
            This object, holding the artists.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        ax = _axes(ax)
        epochs = np.arange(1, len(self.loss_curve) + 1)
        (self.line_,) = ax.plot(
            epochs, self.loss_curve, **_style({"label": "Training loss"}, line_kwargs)
        )
        self.validation_line_ = None
        if self.validation_loss_curve is not None:
            (self.validation_line_,) = ax.plot(
                epochs,
                self.validation_loss_curve,
                **_style({"label": "Validation loss"}, validation_line_kwargs),
            )
        if log_scale:
            ax.set_yscale("log")
        ax.set(xlabel="Epoch", ylabel="Loss (mean squared error)")
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, log_scale=False, **kwargs):
        """Plot the loss curves of a fitted autoencoder.

        Parameters
        ----------
        estimator : AutoencoderTransformer or AutoencoderOutlierDetector
            A fitted estimator. The validation curve is drawn when it was fitted
            with ``early_stopping=True``.

        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.

        name : str or None, default=None
            Title of the plot; None uses the estimator's class name.

        log_scale : bool, default=False
            Whether the loss axis is logarithmic.

        **kwargs : dict
            ``line_kwargs`` and ``validation_line_kwargs``, passed to :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
            The display, holding the artists.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        scores = estimator.validation_scores_
        display = cls(
            loss_curve=np.asarray(estimator.loss_curve_),
            validation_loss_curve=None if scores is None else -np.asarray(scores),
            estimator_name=type(estimator).__name__ if name is None else name,
        )
        return display.plot(ax=ax, log_scale=log_scale, **kwargs)


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


class ReconstructionErrorDisplay:
    """Histogram of reconstruction errors (or anomaly scores), with the detector's threshold.

    The histogram shows ``-score_samples(X)``, the quantity the detector
    thresholds, so that larger means more abnormal: the mean squared
    reconstruction error for an ``AutoencoderTransformer`` or a detector with
    ``anomaly_score="reconstruction"``, the likelihood-based anomaly score for
    a detector with ``anomaly_score="likelihood"``. The threshold line stands
    at ``-offset_``: the rows right of it are exactly those ``predict`` labels
    -1. Prefer :meth:`from_estimator` to build it.

    Parameters
    ----------
    errors : array-like of shape (n_samples,)
        Reconstruction error (or anomaly score) of each row; larger is more
        abnormal.

    threshold : float or None, default=None
        Value above which rows are outliers (``-offset_``); None draws no line.

    y : array-like of shape (n_samples,) or None, default=None
        Known labels of the rows (for example 1 for anomalies, 0 for normal
        rows): one histogram per label, on shared bins. None draws one
        histogram.

    estimator_name : str or None, default=None
        Name of the model, shown in the title.

    error_name : str, default="Reconstruction error (mean squared)"
        Label of the x axis.

    Attributes
    ----------
    hists_ : list of matplotlib BarContainer
        One histogram per label of ``y`` (one in all without ``y``).

    threshold_line_ : matplotlib Line2D or None
        Vertical line at ``threshold``; None without a threshold.

    ax_ : matplotlib Axes
        Axes holding the histograms.

    figure_ : matplotlib Figure
        Figure holding the axes.

    See Also
    --------
    sklearn_ae.AutoencoderOutlierDetector : The detector whose threshold is drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ae import AutoencoderOutlierDetector
    >>> from sklearn_ae.plotting import ReconstructionErrorDisplay
    >>> X = np.random.RandomState(0).normal(size=(200, 4))
    >>> detector = AutoencoderOutlierDetector(max_iter=5, contamination=0.05,
    ...                                       anomaly_score="reconstruction",
    ...                                       random_state=0).fit(X)
    >>> display = ReconstructionErrorDisplay.from_estimator(detector, X)
    >>> bool(display.threshold_line_.get_xdata()[0] == -detector.offset_)
    True
    >>> display.ax_.get_xlabel()
    'Reconstruction error (mean squared)'
    """

    def __init__(
        self,
        *,
        errors,
        threshold=None,
        y=None,
        estimator_name=None,
        error_name="Reconstruction error (mean squared)",
    ):
        self.errors = errors
        self.threshold = threshold
        self.y = y
        self.estimator_name = estimator_name
        self.error_name = error_name

    def plot(self, ax=None, *, bins=50, log_scale=False, hist_kwargs=None, line_kwargs=None):
        """Draw the histograms and the threshold.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.

        bins : int, default=50
            Number of bins, shared by every histogram.

        log_scale : bool, default=False
            Whether the error axis is logarithmic (bins of equal width in log
            scale), which suits heavy-tailed errors.

        hist_kwargs : dict, default=None
            Keyword arguments of ``ax.hist``.

        line_kwargs : dict, default=None
            Keyword arguments of ``ax.axvline`` for the threshold.

        Returns
        -------
        display : ReconstructionErrorDisplay
            This object, holding the artists.
        """
        _check_matplotlib(f"{type(self).__name__}.plot")
        ax = _axes(ax)
        errors = np.asarray(self.errors, dtype=np.float64)
        low, high = errors.min(), errors.max()
        if log_scale:
            low = max(low, np.finfo(np.float64).tiny)
            edges = np.geomspace(low, max(high, low * 1.001), bins + 1)
            ax.set_xscale("log")
        else:
            edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
        if self.y is None:
            groups = [(None, errors)]
        else:
            y = np.asarray(self.y)
            groups = [(f"y = {label}", errors[y == label]) for label in np.unique(y)]
        self.hists_ = []
        for label, values in groups:
            style = _style({"alpha": 0.6 if len(groups) > 1 else 0.9, "label": label}, hist_kwargs)
            self.hists_.append(ax.hist(values, bins=edges, **style)[2])
        self.threshold_line_ = None
        if self.threshold is not None:
            style = _style(
                {"color": "black", "linestyle": "--", "label": f"threshold {self.threshold:.3g}"},
                line_kwargs,
            )
            self.threshold_line_ = ax.axvline(self.threshold, **style)
        ax.set(xlabel=self.error_name, ylabel="Number of rows")
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        if len(groups) > 1 or self.threshold_line_ is not None:
            ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, ax=None, name=None, **kwargs):
        """Plot ``-estimator.score_samples(X)`` and the detector's threshold.

        Parameters
        ----------
        estimator : AutoencoderOutlierDetector or AutoencoderTransformer
            A fitted estimator. A detector's threshold ``-offset_`` is drawn; a
            transformer has none. The x axis is the reconstruction error, or the
            anomaly score of a detector with ``anomaly_score="likelihood"``.

        X : array-like of shape (n_samples, n_features)
            Rows whose errors are plotted.

        y : array-like of shape (n_samples,) or None, default=None
            Known labels of the rows, one histogram per label.

        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure.

        name : str or None, default=None
            Title of the plot; None uses the estimator's class name.

        **kwargs : dict
            ``bins``, ``log_scale``, ``hist_kwargs`` and ``line_kwargs``, passed
            to :meth:`plot`.

        Returns
        -------
        display : ReconstructionErrorDisplay
            The display, holding the artists.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        offset = getattr(estimator, "offset_", None)
        if getattr(estimator, "anomaly_score", "reconstruction") == "reconstruction":
            error_name = "Reconstruction error (mean squared)"
        else:
            error_name = f"Anomaly score ({estimator.anomaly_score}, -score_samples)"
        return cls(
            errors=-estimator.score_samples(X),
            threshold=None if offset is None else -offset,
            y=y,
            estimator_name=type(estimator).__name__ if name is None else name,
            error_name=error_name,
        ).plot(ax=ax, **kwargs)


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
