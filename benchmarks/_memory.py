"""Resident memory of the benchmark's own process, read from ``/proc`` (Linux)."""


def status_bytes(field):
    """A ``/proc/self/status`` field (``VmRSS``, ``VmHWM``, ...), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak():
    """Reset the peak resident set size (``VmHWM``) to the current one."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
