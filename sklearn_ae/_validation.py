"""The one place that imports scikit-learn's private helpers.

Keeping them here means a change of scikit-learn internals is fixed in one file.
"""

from numbers import Integral

from sklearn.base import _fit_context
from sklearn.preprocessing._data import _handle_zeros_in_scale
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    RealNotInt,
    StrOptions,
)
from sklearn.utils._plotting import _validate_style_kwargs
from sklearn.utils.extmath import _incremental_mean_and_var
from sklearn.utils.validation import check_is_fitted, validate_data


class IntervalNotBool(Interval):
    """``Interval(Integral, ...)`` that rejects booleans.

    ``bool`` is a subclass of ``int``, so scikit-learn's integer intervals admit
    ``True`` and ``False``; a size given as a boolean is a mistake, reported with
    scikit-learn's own ``InvalidParameterError``.
    """

    def __init__(self, left, right, *, closed):
        super().__init__(Integral, left, right, closed=closed)

    def is_satisfied_by(self, val):
        return not isinstance(val, bool) and super().is_satisfied_by(val)


__all__ = [
    "Interval",
    "IntervalNotBool",
    "InvalidParameterError",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "_handle_zeros_in_scale",
    "_incremental_mean_and_var",
    "_validate_style_kwargs",
    "check_is_fitted",
    "validate_data",
]
