"""Table-level regression: read a table, build features, fit, summarise, plot.

:func:`regress` is the one function behind ``matsight regress``: it reads a
CSV or a bundled dataset, takes feature columns and/or composition
descriptors computed from a formula column, drops rows with missing values
(with a warning and a note), fits :class:`OLSRegression` or
:class:`PowerLawRegression`, and returns a :class:`RegressionRun` whose
``to_dict()`` is the ``--json`` output.

When the data is the bundled ``band_gaps`` compilation, the rows are first
reduced to one gap per binary compound (:func:`prepare_band_gaps`) and the
target defaults to ``band_gap_eV``: the seed workflow "band gap against
electronegativity difference".
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MatsightError
from ._regression import OLSRegression, OLSResult, PowerLawRegression, PowerLawResult

__all__ = ["RegressionRun", "regress", "is_band_gaps_source"]


def is_band_gaps_source(data) -> bool:
    """True if ``data`` names the bundled ``band_gaps`` dataset (not a file path)."""
    from .. import datasets

    if not isinstance(data, str) or Path(data).exists():
        return False
    return datasets.is_dataset(data) and datasets.resolve(data).name == "band_gaps"


def _fmt(x: float) -> str:
    return f"{x:.4g}" if x is not None and math.isfinite(x) else "nan"


@dataclass
class RegressionRun:
    """A fitted regression together with the data it saw.

    Attributes
    ----------
    result : OLSResult or PowerLawResult
    estimator : OLSRegression or PowerLawRegression
        Fitted.
    X : pandas.DataFrame (n, p)
        The features used (after dropping rows with missing values).
    y : pandas.Series (n,)
    labels : pandas.Series (n,) or None
        Formulas of the rows when a formula column was used.
    source : str
    n_rows_read, n_rows_dropped : int
        Rows in the input table (after any band-gap aggregation) and rows
        dropped for missing values or, for the band-gap power law, a
        non-positive descriptor.
    notes : list of str
        Everything done to the data beyond the fit, in words.
    preparation : dict or None
        The band-gap aggregation summary (:meth:`BandGapData.to_dict`).
    predictions : list of dict
        Predictions for new formulas (see :meth:`predict_formulas`).
    """

    result: OLSResult | PowerLawResult
    estimator: OLSRegression
    X: "pandas.DataFrame"  # noqa: F821
    y: "pandas.Series"  # noqa: F821
    labels: "pandas.Series | None"  # noqa: F821
    source: str
    n_rows_read: int
    n_rows_dropped: int
    descriptors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preparation: dict | None = None
    predictions: list[dict] = field(default_factory=list)

    @property
    def power_law(self) -> bool:
        return isinstance(self.estimator, PowerLawRegression)

    def to_dict(self) -> dict:
        d = self.result.to_dict()
        d.update({
            "source": self.source,
            "n_rows_read": int(self.n_rows_read),
            "n_rows_dropped": int(self.n_rows_dropped),
            "descriptors": list(self.descriptors),
            "notes": list(self.notes),
            "preparation": self.preparation,
            "predictions": list(self.predictions),
        })
        return d

    def equation(self) -> str:
        """The fitted relation in words, e.g. ``band_gap_eV = 0.32 + 1.9 * en_difference``."""
        r = self.result
        if isinstance(r, PowerLawResult):
            terms = " * ".join(f"{k}^{_fmt(v.value)}" for k, v in r.exponents.items())
            return f"{r.target} = {_fmt(r.prefactor.value)} * {terms}"
        terms = " ".join(f"{'-' if v.value < 0 else '+'} {_fmt(abs(v.value))} * {k}" for k, v in r.coefficients.items())
        return f"{r.target} = {_fmt(r.intercept.value)} {terms}"

    def predict_formulas(self, formulas) -> list[dict]:
        """Predict the target for new formulas (descriptor-only models).

        Returns one dict per formula: ``formula``, the descriptor values,
        ``value`` and the ``pi_low``/``pi_high`` prediction interval and
        ``ci_low``/``ci_high`` confidence interval at the fit's level.
        The result is also stored in :attr:`predictions`.
        """
        import pandas as pd

        if not self.descriptors or list(self.X.columns) != list(self.descriptors):
            raise MatsightError("predicting for a formula needs a model whose features are all descriptors (--descriptor)")
        formulas = [str(f) for f in formulas]
        if not formulas:
            return []
        Xn = pd.DataFrame({d: _descriptor(d, formulas) for d in self.descriptors})
        value, pi_lo, pi_hi = self.estimator.predict(Xn, interval="prediction")
        _, ci_lo, ci_hi = self.estimator.predict(Xn, interval="confidence")
        out = []
        for i, f in enumerate(formulas):
            row = {"formula": f, **{d: float(Xn[d].iloc[i]) for d in self.descriptors}}
            row.update(value=float(value[i]), pi_low=float(pi_lo[i]), pi_high=float(pi_hi[i]),
                       ci_low=float(ci_lo[i]), ci_high=float(ci_hi[i]))
            out.append(row)
        self.predictions = out
        return out

    def plot_fit(self, path, title: str | None = None, max_labels: int = 12,
                 xlabel: str | None = None, ylabel: str | None = None) -> Path:
        """Data, fitted line, confidence and prediction bands (one feature only); axis labels default to the column names."""
        from ..report._plots import fit_plot

        if self.X.shape[1] != 1:
            raise MatsightError(
                f"a fit plot needs exactly one feature, this model has {self.X.shape[1]}; use the parity plot instead"
            )
        name = str(self.X.columns[0])
        x = self.X[name].to_numpy(float)
        if self.power_law:
            grid = np.geomspace(x.min(), x.max(), 200)
        else:
            pad = 0.03 * (x.max() - x.min())
            grid = np.linspace(x.min() - pad, x.max() + pad, 200)
        import pandas as pd

        G = pd.DataFrame({name: grid})
        mean, c_lo, c_hi = self.estimator.predict(G, interval="confidence")
        _, p_lo, p_hi = self.estimator.predict(G, interval="prediction")
        r = self.result
        if self.power_law:
            text = f"{self.equation()}\nR² (log) = {r.r2:.3f}, LOO MAE = {_fmt(r.loo_mae)}"
        else:
            text = f"{self.equation()}\nR² = {r.r2:.3f}, LOO MAE = {_fmt(r.loo_mae)}"
        return fit_plot(
            path, x, self.y.to_numpy(float), grid, mean, (c_lo, c_hi), (p_lo, p_hi),
            xlabel=xlabel or name, ylabel=ylabel or r.target, title=title, level=r.confidence,
            labels=None if self.labels is None else self.labels.to_numpy(), max_labels=max_labels,
            log=self.power_law, text=text,
        )

    def plot_parity(self, path, title: str | None = None, max_labels: int = 10, units: str = "") -> Path:
        """Leave-one-out prediction against observation; ``units`` is appended to the axis labels."""
        from ..report._plots import parity_plot

        r = self.result
        return parity_plot(
            path, self.y.to_numpy(float), self.estimator.loo_predictions_,
            xlabel=f"observed {r.target}{units}", ylabel=f"leave-one-out predicted {r.target}{units}", title=title,
            labels=None if self.labels is None else self.labels.to_numpy(), max_labels=max_labels,
            text=f"LOO MAE = {_fmt(r.loo_mae)}\nn = {r.n}", log=self.power_law,
        )


def _descriptor(name: str, formulas) -> np.ndarray:
    from ..composition import compute_descriptor

    return np.asarray(compute_descriptor(name, list(formulas)), dtype=float)


def _numeric_column(df, col: str, what: str):
    import pandas as pd

    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    conv = pd.to_numeric(s, errors="coerce")
    bad = s[conv.isna() & s.notna()]
    if len(bad):
        raise MatsightError(
            f"{what} column {col!r} is not numeric ({len(bad)} of {len(s)} values are not numbers, e.g. {str(bad.iloc[0])!r})"
        )
    return conv


def regress(
    data,
    target: str | None = None,
    features=(),
    descriptors=(),
    formula_column: str = "formula",
    power_law: bool = False,
    confidence: float = 0.95,
    aggregate_band_gaps: bool = True,
    room_temperature_K: tuple[float, float] = (250.0, 350.0),
    predict_formulas=(),
) -> RegressionRun:
    """Fit ``target`` against feature columns and/or composition descriptors.

    Parameters
    ----------
    data : str, path-like or pandas.DataFrame
        A CSV/Parquet file or a bundled dataset name (``matsight data list``).
    target : str, optional
        Response column. Defaults to ``band_gap_eV`` for the ``band_gaps`` dataset.
    features : sequence of str
        Numeric columns used as regressors.
    descriptors : sequence of str
        Composition descriptors (e.g. ``"en_difference"``) computed from
        ``formula_column`` by :func:`matsight.composition.compute_descriptor`.
    power_law : bool
        Fit ``y = a * prod x ** b`` instead of a linear model.
    confidence : float
        Interval level.
    aggregate_band_gaps : bool
        For the bundled ``band_gaps`` dataset, reduce to one gap per binary
        compound first (see :func:`prepare_band_gaps`). Ignored otherwise.
    room_temperature_K : (float, float)
        The room-temperature window of that aggregation, in kelvin.
    predict_formulas : sequence of str
        New formulas to predict with prediction intervals (descriptor models).

    Returns
    -------
    RegressionRun

    Notes
    -----
    Rows with a missing value in the target or a feature are dropped with a
    :class:`UserWarning` and a note (the estimators themselves refuse NaN).
    For the band-gap power law, compounds whose descriptor is not positive
    (``en_difference = 0``, e.g. ReSi2) are dropped with a note; on any other
    data, non-positive values make the power-law fit fail with the column name.
    """
    import pandas as pd

    from ..io import read_table, require_columns

    features, descriptors = list(features or ()), list(descriptors or ())
    notes: list[str] = []
    preparation = None
    is_bg = is_band_gaps_source(data)
    band_gaps = is_bg and aggregate_band_gaps
    if is_bg and target is None:
        target = "band_gap_eV"
    source = str(data) if not isinstance(data, pd.DataFrame) else "<DataFrame>"
    if band_gaps:
        from ._bandgap import prepare_band_gaps

        prep = prepare_band_gaps(room_temperature_K=room_temperature_K)
        df = prep.table
        preparation = prep.to_dict()
        notes.append(prep.summary())
        formula_column = "formula"
    else:
        df = read_table(data)
    if target is None:
        raise MatsightError(f"no target column given for {source!r}; name the response with --target COLUMN")
    if not features and not descriptors:
        raise MatsightError("no regressor given; add at least one --feature COLUMN or --descriptor NAME")
    dup = sorted({c for c in features + descriptors if (features + descriptors).count(c) > 1})
    if dup:
        raise MatsightError(f"regressor {', '.join(map(repr, dup))} given more than once")
    if target in features:
        raise MatsightError(f"the target {target!r} cannot also be a feature")
    require_columns(df, [target, *features] + ([formula_column] if descriptors else []), repr(source))
    n_read = len(df)

    y = _numeric_column(df, target, "target")
    X = pd.DataFrame(index=df.index)
    for c in features:
        X[c] = _numeric_column(df, c, "feature")
    if descriptors:
        formulas = df[formula_column]
        n_missing_formula = int(formulas.isna().sum())
        ok = formulas.notna()
        for d in descriptors:
            vals = np.full(len(df), np.nan)
            if ok.any():
                vals[ok.to_numpy()] = _descriptor(d, formulas[ok].astype(str).tolist())
            X[d] = vals
        if n_missing_formula:
            notes.append(f"{n_missing_formula} row(s) have no formula in {formula_column!r}")

    keep = y.notna() & X.notna().all(axis=1)
    n_drop = int((~keep).sum())
    if n_drop:
        cols = [c for c in [target, *X.columns] if (y if c == target else X[c]).isna().any()]
        msg = f"dropped {n_drop} of {n_read} rows with missing values (in {', '.join(map(repr, cols))})"
        warnings.warn(msg, UserWarning, stacklevel=2)
        notes.append(msg)
    if band_gaps and power_law:
        pos = (X > 0).all(axis=1) & keep
        n_np = int((keep & ~pos).sum())
        if n_np:
            names = df.loc[keep & ~pos, "formula"].astype(str).tolist()
            notes.append(
                f"power law: dropped {n_np} compound(s) with a non-positive descriptor ({', '.join(names[:8])}"
                f"{' ...' if len(names) > 8 else ''}); log(0) is undefined"
            )
            n_drop += n_np
            keep = pos
    X, y = X[keep].reset_index(drop=True), y[keep].reset_index(drop=True)
    y.name = target
    if len(X) == 0:
        raise MatsightError(f"no rows of {source!r} remain after dropping missing values")
    labels = df.loc[keep, formula_column].astype(str).reset_index(drop=True) if formula_column in df.columns else None

    est = PowerLawRegression(confidence=confidence) if power_law else OLSRegression(confidence=confidence)
    est.fit(X, y)
    run = RegressionRun(
        result=est.result(), estimator=est, X=X, y=y, labels=labels, source=source, n_rows_read=n_read,
        n_rows_dropped=n_drop, descriptors=descriptors, notes=notes, preparation=preparation,
    )
    if predict_formulas:
        run.predict_formulas(predict_formulas)
    return run
