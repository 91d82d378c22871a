"""Fixtures of the Python binding tests: the package from bindings/python,
the library from FLEETRES_LIB (meson sets it to the built libfleetres.so),
engines on memory and on a temp SQLite file with a manual clock."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
if "FLEETRES_LIB" not in os.environ and os.path.isdir(os.path.join(ROOT, "build", "lib")):
    os.environ["FLEETRES_LIB"] = os.path.join(ROOT, "build", "lib")

import fleetres  # noqa: E402

T0 = "2030-01-01T08:00:00Z"


@pytest.fixture
def clock():
    return fleetres.ManualClock(T0)


@pytest.fixture(params=["memory", "sqlite"])
def engine(request, clock, tmp_path):
    uri = ":memory:" if request.param == "memory" else str(tmp_path / "fleet.db")
    with fleetres.Engine(uri, clock=clock) as e:
        yield e


@pytest.fixture
def pool(engine):
    return engine.create_pool(fleet_id="depot", name="Bays", resource_type="charging_bay",
                              total_capacity=2)
