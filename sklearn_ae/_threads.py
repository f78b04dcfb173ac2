"""Torch's intra-op thread count, chosen from the size of the work and restored after it.

On a machine doing other work, torch's thread pool spins and waits for cores
that are busy: a small network then trains several times slower with two
threads than with one. ``work_threads`` sets, for the duration of a fit or an
inference, as many threads as the work needs (``_WORK_PER_THREAD``
multiply-adds per step and thread, at least one, at most torch's default), and
restores the previous count afterwards, also when the work raises.

The count is process-wide. Calls that overlap, from several Python threads,
share it: while any is running the count is the largest any of them asked for,
and the last to finish restores the count the first one found.

An explicit choice is obeyed: nothing is changed when ``OMP_NUM_THREADS`` or
``MKL_NUM_THREADS`` is set (joblib's workers and ``inner_max_num_threads`` set
them), or when the count differs from the one torch had when this module was
imported (``torch.set_num_threads``, ``threadpoolctl.threadpool_limits``).
"""

import collections
import contextlib
import os
import threading

import torch

# Multiply-adds per training step (rows of a batch times the module's
# parameters) that one thread handles: below it, one thread.
_WORK_PER_THREAD = 2**24

_DEFAULT = torch.get_num_threads()
_LOCK = threading.Lock()
_ACTIVE = collections.Counter()  # counts asked for by the calls under way
_SAVED = []  # the count found by the first call under way; empty: left alone


def _explicit():
    """Whether the user (or a parent process) chose torch's thread count."""
    if os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS"):
        return True
    return torch.get_num_threads() != _DEFAULT


def threads_for(rows, module):
    """Threads for steps on ``rows`` rows through ``module``: one per ``_WORK_PER_THREAD``."""
    work = rows * sum(p.numel() for p in module.parameters())
    return min(_DEFAULT, max(1, work // _WORK_PER_THREAD))


@contextlib.contextmanager
def work_threads(count):
    """Run the block with torch's thread count at ``count``, unless a choice was made.

    See the module's docstring for how overlapping calls share the count.
    """
    with _LOCK:
        if not _ACTIVE and not _explicit():
            _SAVED.append(torch.get_num_threads())
        _ACTIVE[count] += 1
        if _SAVED:
            torch.set_num_threads(max(_ACTIVE))
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE[count] -= 1
            if not _ACTIVE[count]:
                del _ACTIVE[count]
            if _SAVED:
                torch.set_num_threads(max(_ACTIVE) if _ACTIVE else _SAVED.pop())
