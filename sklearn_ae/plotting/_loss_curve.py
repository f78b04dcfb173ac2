"""``LossCurveDisplay``: training and validation loss per epoch."""

import numpy as np

from .._validation import check_is_fitted
from ._common import _axes, _check_matplotlib, _style


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
