"""What every Display shares: the matplotlib check, the axes and the style keywords."""

from .._validation import _validate_style_kwargs


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
    """The default style ``defaults`` updated with the user's validated keywords."""
    return {**defaults, **_validate_style_kwargs(defaults, user or {})}
