import pytest
import torch

from sklearn_ae._testing import load_adbench

# The tests fit many tiny networks, for which one thread is fastest; on a busy
# machine two spinning threads per process slow them down many times over.
torch.set_num_threads(1)

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the property tests skip themselves
    pass
else:
    # The property tests draw the same examples on every run by default, so
    # that a run passes or fails the same way twice (CI's among them).
    # ``pytest --hypothesis-profile=explore`` draws many fresh examples
    # instead: to look for failures not yet found, not to gate a change.
    _COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
    settings.register_profile("repeatable", max_examples=50, derandomize=True, **_COMMON)
    settings.register_profile("explore", max_examples=2000, **_COMMON)
    settings.load_profile("repeatable")


@pytest.fixture
def adbench():
    """Loader of an ADBench data set that skips the test when the folder is absent."""

    def load(name):
        data = load_adbench(name)
        if data is None:
            pytest.skip(f"ADBench data set {name!r} not available")
        return data

    return load
