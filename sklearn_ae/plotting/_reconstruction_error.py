"""``ReconstructionErrorDisplay``: the distribution of reconstruction errors."""

import numpy as np

from .._validation import check_is_fitted
from ._common import _axes, _check_matplotlib, _style


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
            scale), which suits heavy-tailed errors. It needs positive errors:
            reconstruction errors, not the detector's likelihood score, a
            robust z-score centred on the training rows' median.

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
            if not low > 0:
                raise ValueError(
                    "log_scale=True needs positive errors; the smallest is "
                    f"{low:.3g}. Plot the likelihood score with log_scale=False."
                )
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
