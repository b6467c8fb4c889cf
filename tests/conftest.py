import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def clean_registry():
    """Tests that register losses leave the registry (and whether entry points were read) as they found it."""
    from lsis_robust import registry

    saved, loaded = dict(registry._REGISTRY), registry._ENTRY_POINTS_LOADED
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)
    registry._ENTRY_POINTS_LOADED = loaded
