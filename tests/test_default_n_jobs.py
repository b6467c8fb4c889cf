"""The default worker count: the environment variable wins, else the usable cores (affinity and cgroup quota)."""
import pytest

from lsis_robust.studies._grid import N_JOBS_ENV, default_n_jobs


def test_environment_variable_sets_the_count(monkeypatch):
    monkeypatch.setenv(N_JOBS_ENV, "3")
    assert default_n_jobs() == 3


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_bad_environment_value_is_refused(monkeypatch, bad):
    monkeypatch.setenv(N_JOBS_ENV, bad)
    with pytest.raises(ValueError, match=N_JOBS_ENV):
        default_n_jobs()


def test_without_the_variable_the_usable_cores_count(monkeypatch):
    import joblib

    monkeypatch.delenv(N_JOBS_ENV, raising=False)
    monkeypatch.setattr(joblib, "cpu_count", lambda: 5)
    assert default_n_jobs() == 5
