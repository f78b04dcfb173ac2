"""Thread counts, restored after: torch's from the work and the free cores, BLAS's at one.

On a machine doing other work, torch's thread pool spins and waits for cores
that are busy: a network then trains several times slower with two threads than
with one. ``work_threads`` sets, for the duration of a fit or an inference, the
smaller of two counts, and restores the previous count afterwards, also when
the work raises:

- what the work needs (``threads_for``): one thread per ``_WORK_PER_THREAD``
  multiply-adds per step, at least one, at most torch's default;
- the cores that are free (``free_cores``): the CPUs this process may run on
  less those that other processes keep busy, measured from the CPUs' busy time
  (``/proc/stat``) less this process's own CPU time over a short interval.

A fit re-measures the free cores between epochs (``adapt``), so that it follows
other work that starts or stops while it runs.

The count is process-wide. Calls that overlap, from several Python threads,
share it: while any is running the count is the largest any of them asked for
(bounded by the free cores), and the last to finish restores the count the first
one found.

An explicit choice is obeyed: nothing is changed when ``OMP_NUM_THREADS`` or
``MKL_NUM_THREADS`` is set (joblib's workers and ``inner_max_num_threads`` set
them), or when the count differs from the one torch had when this module was
imported (``torch.set_num_threads``, ``threadpoolctl.threadpool_limits``).

numpy's and scipy's BLAS. The estimators' own numpy work (the detector's
robust PCA and score statistics, the wide-row PCA) is many short calls on
matrices a few hundred to a few thousand wide, between torch's. Their BLAS
threads spin between calls and take the cores that torch and the next call
need: with two cores and no thread setting, the detector's fit and score
of 501 rows of 512 features took 324 ms with them and 103 ms on one BLAS
thread (beside another busy process, 691 and 111 ms; 5000 rows: 1.40 s and
0.90 s). ``one_blas_thread`` runs the block on one BLAS thread, shared
by overlapping calls as above, and restores the counts after. It obeys an
explicit choice too: nothing is changed when ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set, or when the BLAS
counts differ from those found at its first use (``threadpoolctl``).
"""

import collections
import contextlib
import functools
import os
import threading
import time

import threadpoolctl
import torch

# Multiply-adds per training step (rows of a batch times the module's
# parameters) that one thread handles: below twice it, one thread.
_WORK_PER_THREAD = 2**23

# The other processes' load is measured over at least _MIN_INTERVAL seconds
# (the kernel counts CPU time in ticks of 10 ms); a measure whose interval
# started more than _MAX_AGE seconds ago says little about now.
_MIN_INTERVAL = 0.05
_MAX_AGE = 1.0

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


# The free cores -------------------------------------------------------------


def _cpus():
    """The CPUs this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def _snapshot(cpus):
    """``(wall s, this process's CPU s, busy s of the CPUs cpus or None)``.

    The busy time of a CPU is all but its idle and I/O-wait time (time stolen
    by a hypervisor counts as busy). None where ``/proc/stat`` cannot be read.
    """
    wall, own = time.monotonic(), sum(os.times()[:2])
    wanted = {f"cpu{cpu}".encode() for cpu in cpus}
    try:
        busy = 0
        with open("/proc/stat", "rb") as f:
            for line in f:
                if not line.startswith(b"cpu"):
                    break
                name, *ticks = line.split()
                if name in wanted:
                    ticks = [int(t) for t in ticks[:8]]
                    busy += sum(ticks) - ticks[3] - ticks[4]
        busy /= os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        busy = None
    return wall, own, busy


class _Load:
    """CPUs that other processes keep busy, from two snapshots at least ``_MIN_INTERVAL`` apart."""

    def __init__(self):
        self.last = None  # the snapshot that starts the next interval
        self.value = 0.0  # the last measure

    def others(self, cpus, wait):
        """The other processes' busy CPUs since the last measure.

        Within ``_MIN_INTERVAL`` of it, the last measure. With ``wait``, when
        there is no snapshot of the last ``_MAX_AGE`` seconds, one is taken and
        the interval waited for; without, the measure then covers the longer
        interval (no snapshot at all: 0, nothing known).
        """
        now = _snapshot(cpus)
        if self.last is None or now[0] - self.last[0] > _MAX_AGE:
            if not wait:
                if self.last is None:
                    self.last = now
                    return 0.0
            else:
                self.last = now
                time.sleep(_MIN_INTERVAL)
                now = _snapshot(cpus)
        elif now[0] - self.last[0] < _MIN_INTERVAL:
            return self.value
        (wall0, own0, busy0), (wall1, own1, busy1) = self.last, now
        self.last = now
        if busy0 is None or busy1 is None:
            self.value = _load_average(own1 - own0, wall1 - wall0)
        else:
            self.value = max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)
        return self.value


def _load_average(own, wall):
    """Without ``/proc/stat``: the 1-minute load average less this process's share, or 0."""
    try:
        return max(0.0, os.getloadavg()[0] - own / wall)
    except (AttributeError, OSError):  # Windows
        return 0.0


_LOAD = _Load()


def _others_busy(cpus, wait):
    """CPUs among ``cpus`` kept busy by other processes (see ``_Load.others``)."""
    return _LOAD.others(cpus, wait)


def free_cores(wait=False):
    """The CPUs this process may run on, less those other processes keep busy (rounded).

    At least one. ``wait``: measure afresh if no measure is recent (``_Load.others``).
    """
    cpus = _cpus()
    return max(1, len(cpus) - int(_others_busy(cpus, wait) + 0.5))


# Setting the count ------------------------------------------------------------


def _target(wait):
    """The count for the calls under way: the largest asked for, at most the free cores."""
    wanted = max(_ACTIVE)
    return wanted if wanted == 1 else min(wanted, free_cores(wait))


@contextlib.contextmanager
def work_threads(count, *, wait=True):
    """Run the block with torch's thread count at ``count``, or fewer, unless a choice was made.

    Fewer when fewer cores are free (``free_cores``; ``wait`` as there, for a
    fit: inference passes False rather than wait). See the module's docstring
    for how overlapping calls share the count.
    """
    with _LOCK:
        if not _ACTIVE and not _explicit():
            _SAVED.append(torch.get_num_threads())
        _ACTIVE[count] += 1
        if _SAVED:
            torch.set_num_threads(_target(wait))
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE[count] -= 1
            if not _ACTIVE[count]:
                del _ACTIVE[count]
            if _SAVED:
                torch.set_num_threads(_target(False) if _ACTIVE else _SAVED.pop())


def adapt():
    """Between epochs: follow the free cores, if the count is the package's to set."""
    with _LOCK:
        if _SAVED and _ACTIVE:
            count = _target(False)
            if count != torch.get_num_threads():
                torch.set_num_threads(count)


# numpy's and scipy's BLAS ------------------------------------------------------

_BLAS_ENVIRONMENT = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_BLAS = {"controller": None, "counts": None, "active": 0, "limiter": None}


def _blas_controller():
    """The ``ThreadpoolController`` of the loaded BLAS libraries and their counts at first use."""
    if _BLAS["controller"] is None:
        controller = threadpoolctl.ThreadpoolController().select(user_api="blas")
        _BLAS["counts"] = [lib.num_threads for lib in controller.lib_controllers]
        _BLAS["controller"] = controller
    return _BLAS["controller"]


def _blas_explicit(controller):
    """Whether the user (or a parent process) chose the BLAS thread counts."""
    if any(os.environ.get(name) for name in _BLAS_ENVIRONMENT):
        return True
    return [lib.num_threads for lib in controller.lib_controllers] != _BLAS["counts"]


@contextlib.contextmanager
def one_blas_thread():
    """Run the block with numpy's and scipy's BLAS on one thread, unless a choice was made.

    See the module's docstring; overlapping calls share the setting, and the
    last to finish restores the counts the first one found.
    """
    with _LOCK:
        if not _BLAS["active"]:
            controller = _blas_controller()
            if not _blas_explicit(controller):
                _BLAS["limiter"] = controller.limit(limits=1)
        _BLAS["active"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _BLAS["active"] -= 1
            if not _BLAS["active"] and _BLAS["limiter"] is not None:
                _BLAS["limiter"].restore_original_limits()
                _BLAS["limiter"] = None


def on_one_blas_thread(method):
    """Decorate ``method`` to run under ``one_blas_thread``."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return method(*args, **kwargs)

    return wrapper
