"""Classic binary-response data sets of robust logistic regression.

The CSV files live in the repository's ``datasets/`` folder (provenance in
``datasets/README.md``) and ship inside the package as ``lsis_robust/data``
when installed; each loader returns the customary transformed covariates.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Dataset", "load_vaso", "load_foodstamp", "load_leukemia", "load_breast_cancer", "load_dataset",
           "DATASETS", "standardise"]


@dataclass(frozen=True)
class Dataset:
    """A design matrix X (DataFrame, no intercept column), a 0/1 response y and a description."""

    name: str
    X: pd.DataFrame
    y: np.ndarray
    description: str

    def __iter__(self):  # allows ``X, y, desc = load_vaso()``
        return iter((self.X, self.y, self.description))


def _data_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "data", here.parent / "datasets"):
        if (candidate / "vaso.csv").exists():
            return candidate
    raise FileNotFoundError(f"the data files were not found in {here / 'data'} or {here.parent / 'datasets'}")


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(_data_dir() / f"{name}.csv")


def load_vaso() -> Dataset:
    """Finney (1947) vaso-constriction data, 39 rows: Y ~ log(Volume) + log(Rate).

    Observations 4 and 18 (1-based) are the influential points; without them
    the data are almost separable.
    """
    df = _read("vaso")
    X = pd.DataFrame({"log(Volume)": np.log(df["Volume"]), "log(Rate)": np.log(df["Rate"])})
    return Dataset("vaso", X, df["Y"].to_numpy(dtype=int),
                   "Finney (1947) vaso-constriction of the skin; robustbase::vaso 0.95-0")


def load_foodstamp() -> Dataset:
    """Kunsch, Stefanski and Carroll (1989) food-stamp data, 150 rows:
    participation ~ tenancy + suppl.income + log(income + 1).

    Observation 5 has income 0, a leverage point on the log scale.
    """
    df = _read("foodstamp")
    X = pd.DataFrame({"tenancy": df["tenancy"].astype(float), "suppl.income": df["suppl.income"].astype(float),
                      "log(income + 1)": np.log1p(df["income"])})
    return Dataset("foodstamp", X, df["participation"].to_numpy(dtype=int),
                   "Kunsch, Stefanski & Carroll (1989) food-stamp participation; robustbase::foodstamp 0.95-0")


def load_leukemia() -> Dataset:
    """Cook and Weisberg (1982) leukaemia survival data, 33 rows: y ~ ag + log(wbc).

    Observation 15 (wbc 100000, survived) is the classic outlier.
    """
    df = _read("leukemia")
    X = pd.DataFrame({"ag": df["ag"].astype(float), "log(wbc)": np.log(df["wbc"])})
    return Dataset("leukemia", X, df["y"].to_numpy(dtype=int),
                   "Cook & Weisberg (1982) leukaemia survival beyond 52 weeks; robust::leuk.dat 0.7-1")


def standardise(X: pd.DataFrame) -> pd.DataFrame:
    """Each column centred and scaled to unit (population, ddof = 0) standard deviation."""
    return (X - X.mean()) / X.std(ddof=0)


def load_breast_cancer() -> Dataset:
    """scikit-learn's Wisconsin diagnostic breast-cancer data (569 rows, 30 standardised covariates).

    Covariates are standardised so that coefficients are comparable; y = 1 is malignant.
    """
    from sklearn.datasets import load_breast_cancer as _load

    raw = _load(as_frame=True)
    X = standardise(raw.data)
    y = (raw.target.to_numpy() == 0).astype(int)  # sklearn codes malignant as 0
    return Dataset("breast_cancer", X, y, "Wisconsin diagnostic breast cancer (scikit-learn), standardised")


DATASETS = {"vaso": load_vaso, "foodstamp": load_foodstamp, "leukemia": load_leukemia,
            "breast_cancer": load_breast_cancer}


def load_dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; available: {', '.join(DATASETS)}")
    return DATASETS[name]()
