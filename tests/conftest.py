import pytest

from sklearn_ae._testing import load_adbench


@pytest.fixture
def adbench():
    """Loader of an ADBench data set that skips the test when the folder is absent."""

    def load(name):
        data = load_adbench(name)
        if data is None:
            pytest.skip(f"ADBench data set {name!r} not available")
        return data

    return load
