import pytest
import torch

from sklearn_ae._testing import load_adbench

# The tests fit many tiny networks, for which one thread is fastest; on a busy
# machine two spinning threads per process slow them down many times over.
torch.set_num_threads(1)


@pytest.fixture
def adbench():
    """Loader of an ADBench data set that skips the test when the folder is absent."""

    def load(name):
        data = load_adbench(name)
        if data is None:
            pytest.skip(f"ADBench data set {name!r} not available")
        return data

    return load
