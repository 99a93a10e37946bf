"""Ordinary least squares and power-law regression with honest uncertainties.

:class:`OLSRegression` fits ``y = b0 + sum_j b_j x_j`` and reports every
coefficient with a t-distribution confidence interval, the coefficient of
determination, the leave-one-out mean absolute error (closed form, no refits)
and confidence / prediction intervals for new inputs.
:class:`PowerLawRegression` fits ``y = a * prod_j x_j ** b_j`` by ordinary
least squares on ``log y = log a + sum_j b_j log x_j``.

Both follow the scikit-learn estimator contract (``fit`` returns ``self``,
learned attributes end in ``_``) and summarise themselves as small result
dataclasses whose ``to_dict()`` feeds ``matsight regress --json``.

References
----------
N. R. Draper and H. Smith, *Applied Regression Analysis*, 3rd ed., Wiley (1998),
ch. 2-3 (t intervals, prediction intervals) and ch. 8 (the hat matrix).
D. A. Belsley, E. Kuh and R. E. Welsch, *Regression Diagnostics*, Wiley (1980):
the deleted residual ``e_i / (1 - h_ii)`` equals the leave-one-out error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from ..errors import MatsightError

__all__ = ["Estimate", "OLSRegression", "OLSResult", "PowerLawRegression", "PowerLawResult"]


@dataclass(frozen=True)
class Estimate:
    """A fitted value with its confidence interval (same units as the value)."""

    value: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict:
        return {"value": float(self.value), "ci_low": float(self.ci_low), "ci_high": float(self.ci_high)}


@dataclass
class OLSResult:
    """Summary of an ordinary least-squares fit.

    Attributes
    ----------
    target : str
        Name of the response.
    features : list of str
        Names of the regressors, in column order.
    n : int
        Number of rows fitted.
    r2, adj_r2 : float
        Coefficient of determination and its degrees-of-freedom adjusted form.
    loo_mae : float
        Leave-one-out mean absolute error, in the target's units.
    loo_mae_baseline : float
        The same for the no-feature model (predict the mean of the other rows).
    rmse : float
        In-sample root mean square residual, in the target's units.
    sigma : float
        Residual standard error ``sqrt(SSE / (n - p - 1))``, in the target's units.
    dof : int
        Residual degrees of freedom ``n - p - 1``.
    confidence : float
        Level of every interval (e.g. 0.95).
    intercept : Estimate
    coefficients : dict of str to Estimate
    std_errors : dict of str to float
        Standard errors, keyed by feature name and ``"intercept"``.
    """

    target: str
    features: list[str]
    n: int
    r2: float
    adj_r2: float
    loo_mae: float
    rmse: float
    sigma: float
    dof: int
    confidence: float
    intercept: Estimate
    coefficients: dict[str, Estimate]
    std_errors: dict[str, float] = field(default_factory=dict)
    loo_mae_baseline: float = float("nan")

    def to_dict(self) -> dict:
        return {
            "model": "ols",
            "target": self.target,
            "features": list(self.features),
            "n": int(self.n),
            "r2": float(self.r2),
            "adj_r2": float(self.adj_r2),
            "loo_mae": float(self.loo_mae),
            "loo_mae_baseline": float(self.loo_mae_baseline),
            "rmse": float(self.rmse),
            "sigma": float(self.sigma),
            "dof": int(self.dof),
            "confidence": float(self.confidence),
            "intercept": self.intercept.to_dict(),
            "coefficients": {k: v.to_dict() for k, v in self.coefficients.items()},
            "std_errors": {k: float(v) for k, v in self.std_errors.items()},
        }


@dataclass
class PowerLawResult:
    """Summary of a power-law fit ``y = prefactor * prod_j x_j ** exponent_j``.

    Attributes
    ----------
    r2 : float
        Coefficient of determination **in log space** (of ``log y``).
    loo_mae : float
        Leave-one-out mean absolute error in the target's own units, with the
        back-transformed prediction ``exp(log-space LOO prediction)`` (a
        geometric-mean / median estimate).
    loo_mae_log : float
        The same in log space (natural log), dimensionless.
    sigma_log : float
        Residual standard error of ``log y`` (natural log).
    prefactor : Estimate
        ``a`` with interval ``exp`` of the log-intercept interval, in the units
        that make ``a * prod x ** b`` carry the target's units.
    exponents : dict of str to Estimate
        Dimensionless exponents ``b_j``.
    log_prefactor : Estimate
        ``log a`` with its t interval.
    """

    target: str
    features: list[str]
    n: int
    r2: float
    loo_mae: float
    loo_mae_log: float
    sigma_log: float
    dof: int
    confidence: float
    prefactor: Estimate
    exponents: dict[str, Estimate]
    log_prefactor: Estimate
    loo_mae_baseline: float = float("nan")

    def to_dict(self) -> dict:
        return {
            "model": "power_law",
            "target": self.target,
            "features": list(self.features),
            "n": int(self.n),
            "r2": float(self.r2),
            "r2_space": "log",
            "loo_mae": float(self.loo_mae),
            "loo_mae_space": "original",
            "loo_mae_log": float(self.loo_mae_log),
            "loo_mae_baseline": float(self.loo_mae_baseline),
            "sigma_log": float(self.sigma_log),
            "dof": int(self.dof),
            "confidence": float(self.confidence),
            "prefactor": self.prefactor.to_dict(),
            "exponents": {k: v.to_dict() for k, v in self.exponents.items()},
            "log_prefactor": self.log_prefactor.to_dict(),
        }


# --------------------------------------------------------------------------- input checks


class _NotFittedError(MatsightError, NotFittedError):
    """Raised by ``predict`` before ``fit``: a :class:`MatsightError` and scikit-learn's ``NotFittedError``."""


def _feature_names(X, n_cols: int) -> list[str]:
    cols = getattr(X, "columns", None)
    if cols is not None and all(isinstance(c, str) for c in cols):
        return list(cols)
    return [f"x{j}" for j in range(n_cols)]


def _numeric_series(s, label: str):
    """``s`` as float, refusing non-numbers with a count and an example; ``label`` names it."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and not pd.api.types.is_complex_dtype(s):
        return s.astype(float)
    conv = pd.to_numeric(s, errors="coerce")
    bad = s[conv.isna() & s.notna()]
    if len(bad):
        raise MatsightError(f"{label} is not numeric ({len(bad)} non-numeric values, e.g. {str(bad.iloc[0])!r})")
    return conv.astype(float)


def _check_finite(values: np.ndarray, label: str, verb: str = "fitting") -> None:
    n_bad = int((~np.isfinite(values)).sum())
    if n_bad:
        raise MatsightError(f"{label} has {n_bad} missing or infinite values; drop or impute those rows before {verb}")


def _named_frame_checks(X, verb: str):
    """For a DataFrame: every column numeric and finite, with messages naming the column."""
    import pandas as pd

    if isinstance(X, pd.Series):
        X = X.to_frame()
    if not isinstance(X, pd.DataFrame):
        return X
    out = pd.DataFrame(index=X.index)
    for name, col in zip(_feature_names(X, X.shape[1]), X.columns):
        s = _numeric_series(X[col], f"X column {name!r}")
        _check_finite(s.to_numpy(), f"X column {name!r}", verb)
        out[col] = s
    return out


def _named_target_checks(y):
    """Return ``(y, name)`` with pandas targets made numeric and finite, messages naming the column."""
    import pandas as pd

    if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        name = "y" if y.name is None else str(y.name)
        y = _numeric_series(y, f"target {name!r}")
        _check_finite(y.to_numpy(), f"target {name!r}")
        return y, name
    if y is not None and isinstance(y, np.ndarray) and y.dtype.kind in "fiu":
        _check_finite(y, "target 'y'")
    return y, "y"


def _sk_validate(est, X, y=None, reset: bool = True):
    """scikit-learn's structural validation, its ValueErrors re-raised as :class:`MatsightError`."""
    from sklearn.utils.validation import validate_data

    try:
        if y is None and not reset:
            return validate_data(est, X, reset=False, dtype=np.float64)
        return validate_data(est, X, y, reset=reset, dtype=np.float64, y_numeric=True)
    except MatsightError:
        raise
    except ValueError as exc:
        raise MatsightError(str(exc).strip().replace("\n", " ")) from None


def _check_confidence(confidence) -> float:
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise MatsightError(f"confidence must be a number between 0 and 1, got {confidence!r}") from None
    if not 0.0 < c < 1.0:
        raise MatsightError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return c


# --------------------------------------------------------------------------- OLS core


def _ols_fit(X: np.ndarray, y: np.ndarray, names: list[str], target: str) -> dict:
    """Least squares via a thin QR factorisation of ``[1, X]``; returns the fitted pieces."""
    from scipy.linalg import solve_triangular

    n, p = X.shape
    k = p + 1
    if n <= k:
        raise MatsightError(
            f"too few rows (n_samples = {n}) for {p} feature(s) and an intercept; ordinary least squares with "
            f"confidence intervals needs at least {k + 1} rows (n > p + 1)"
        )
    for j, name in enumerate(names):
        if np.ptp(X[:, j]) == 0.0:
            raise MatsightError(
                f"feature {name!r} is constant (every row is {X[0, j]:g}), so its coefficient cannot be separated from the intercept"
            )
    if np.ptp(y) == 0.0:
        raise MatsightError(f"target {target!r} is constant (every row is {y[0]:g}); there is nothing to regress")
    A = np.column_stack([np.ones(n), X])
    scale = np.linalg.norm(A, axis=0)
    if np.linalg.matrix_rank(A / scale) < k:
        raise MatsightError(
            f"features {', '.join(repr(s) for s in names)} are linearly dependent (collinear with each other "
            "or the intercept); drop a redundant one"
        )
    Q, R = np.linalg.qr(A, mode="reduced")
    beta = solve_triangular(R, Q.T @ y)
    R_inv = solve_triangular(R, np.eye(k))
    xtx_inv = R_inv @ R_inv.T
    hat = np.einsum("ij,ij->i", Q, Q)
    resid = y - A @ beta
    sse = float(resid @ resid)
    sst = float(((y - y.mean()) ** 2).sum())
    dof = n - k
    with np.errstate(divide="ignore", invalid="ignore"):
        loo_resid = np.where(hat < 1.0 - 1e-10, resid / (1.0 - hat), np.nan)
    return {
        "beta": beta, "xtx_inv": xtx_inv, "hat": hat, "resid": resid, "sse": sse, "sst": sst,
        "dof": dof, "loo_resid": loo_resid, "n": n, "p": p,
    }


class OLSRegression(RegressorMixin, BaseEstimator):
    """Ordinary least squares with an intercept, t intervals and closed-form LOO error.

    Parameters
    ----------
    confidence : float, default 0.95
        Level of the coefficient, confidence and prediction intervals.

    Attributes
    ----------
    coef_ : ndarray (n_features,)
        Slopes, in target units per feature unit.
    intercept_ : float
    coef_ci_ : ndarray (n_features, 2)
        Lower and upper confidence limits of each slope (t distribution, ``n - p - 1`` dof).
    intercept_ci_ : ndarray (2,)
    coef_se_ : ndarray (n_features,)
    intercept_se_ : float
    sigma_ : float
        Residual standard error.
    dof_ : int
        Residual degrees of freedom ``n - p - 1``.
    r2_ : float
    loo_predictions_ : ndarray (n_samples,)
        Leave-one-out predictions ``y_i - e_i / (1 - h_ii)`` (NaN where ``h_ii = 1``).
    loo_mae_ : float
    loo_mae_baseline_ : float
        Leave-one-out MAE of the no-feature model (predict the mean of the other
        rows): the number ``loo_mae_`` should beat.
    hat_ : ndarray (n_samples,)
        Leverages, the diagonal of the hat matrix.
    xtx_inv_ : ndarray (n_features + 1, n_features + 1)
        ``(A^T A)^-1`` of the design ``A = [1, X]``; ``sigma_**2 * xtx_inv_`` is the parameter covariance.
    n_features_in_, feature_names_in_ :
        As in scikit-learn (names only when fitted on a DataFrame with string columns).
    target_name_ : str

    Notes
    -----
    Inputs with missing or infinite values are refused (:class:`matsight.MatsightError`);
    the table-level :func:`matsight.learn.regress` drops such rows with a warning instead.
    The leave-one-out residual of row ``i`` is ``e_i / (1 - h_ii)`` exactly
    (Belsley, Kuh and Welsch 1980), so no refit is needed.
    """

    def __init__(self, confidence: float = 0.95):
        self.confidence = confidence

    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,); returns ``self``."""
        Xa, ya, names, target = self._validate_fit(X, y)
        return self._fit_arrays(Xa, ya, names, target)

    def _validate_fit(self, X, y):
        _check_confidence(self.confidence)
        X = _named_frame_checks(X, "fitting")
        y, target = _named_target_checks(y)
        Xa, ya = _sk_validate(self, X, y, reset=True)
        return Xa, ya, _feature_names(X, Xa.shape[1]), target

    def _fit_arrays(self, Xa: np.ndarray, ya: np.ndarray, names: list[str], target: str):
        conf = _check_confidence(self.confidence)
        f = _ols_fit(Xa, ya, names, target)
        from scipy import stats

        beta, dof = f["beta"], f["dof"]
        sigma = math.sqrt(f["sse"] / dof)
        se = np.sqrt(np.diag(f["xtx_inv"])) * sigma
        tq = float(stats.t.ppf(0.5 + conf / 2.0, dof))
        self.intercept_ = float(beta[0])
        self.coef_ = beta[1:].copy()
        self.intercept_se_ = float(se[0])
        self.coef_se_ = se[1:].copy()
        self.intercept_ci_ = np.array([beta[0] - tq * se[0], beta[0] + tq * se[0]])
        self.coef_ci_ = np.column_stack([beta[1:] - tq * se[1:], beta[1:] + tq * se[1:]])
        self.sigma_ = sigma
        self.dof_ = int(dof)
        self.t_quantile_ = tq
        self.r2_ = 1.0 - f["sse"] / f["sst"]
        self.adj_r2_ = 1.0 - (1.0 - self.r2_) * (f["n"] - 1) / dof
        self.rmse_ = math.sqrt(f["sse"] / f["n"])
        self.hat_ = f["hat"]
        self.residuals_ = f["resid"]
        self.loo_predictions_ = ya - f["loo_resid"]
        finite = np.isfinite(f["loo_resid"])
        self.loo_mae_ = float(np.mean(np.abs(f["loo_resid"][finite]))) if finite.any() else float("nan")
        n = f["n"]
        self.loo_baseline_predictions_ = (ya.sum() - ya) / (n - 1)
        self.loo_mae_baseline_ = float(np.mean(np.abs(ya - self.loo_baseline_predictions_)))
        self.xtx_inv_ = f["xtx_inv"]
        self.n_samples_ = int(f["n"])
        self.feature_names_ = list(names)
        self.target_name_ = target
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise _NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X, y) first")

    def _design(self, X) -> np.ndarray:
        self._check_fitted()
        return _sk_validate(self, _named_frame_checks(X, "predicting"), reset=False)

    def predict(self, X, interval: str | None = None, confidence: float | None = None):
        """Predict ``y`` for ``X`` (n, n_features).

        Parameters
        ----------
        interval : {None, "confidence", "prediction"}
            ``"confidence"``: interval of the mean response at ``X``;
            ``"prediction"``: interval for one new observation at ``X`` (adds
            the residual variance: ``sigma^2 (1 + a^T (A^T A)^-1 a)``).
        confidence : float, optional
            Interval level (default: the estimator's ``confidence``).

        Returns
        -------
        ndarray (n,) when ``interval`` is None, else a tuple
        ``(prediction, lower, upper)`` of three ndarrays (n,).
        """
        return self._predict_arrays(self._design(X), interval, confidence)

    def _predict_arrays(self, Xa: np.ndarray, interval, confidence):
        mean = self.intercept_ + Xa @ self.coef_
        if interval is None:
            return mean
        if interval not in ("confidence", "prediction"):
            raise MatsightError(f"interval must be 'confidence' or 'prediction', got {interval!r}")
        from scipy import stats

        conf = _check_confidence(self.confidence if confidence is None else confidence)
        tq = float(stats.t.ppf(0.5 + conf / 2.0, self.dof_))
        A = np.column_stack([np.ones(len(Xa)), Xa])
        lev = np.einsum("ij,jk,ik->i", A, self.xtx_inv_, A)
        var = self.sigma_**2 * (lev + (1.0 if interval == "prediction" else 0.0))
        half = tq * np.sqrt(var)
        return mean, mean - half, mean + half

    def result(self) -> OLSResult:
        """The fit as an :class:`OLSResult`."""
        self._check_fitted()
        names = self.feature_names_
        coefs = {n: Estimate(self.coef_[j], *self.coef_ci_[j]) for j, n in enumerate(names)}
        se = {"intercept": self.intercept_se_, **{n: float(self.coef_se_[j]) for j, n in enumerate(names)}}
        return OLSResult(
            target=self.target_name_, features=list(names), n=self.n_samples_, r2=self.r2_, adj_r2=self.adj_r2_,
            loo_mae=self.loo_mae_, rmse=self.rmse_, sigma=self.sigma_, dof=self.dof_,
            confidence=float(self.confidence), intercept=Estimate(self.intercept_, *self.intercept_ci_),
            coefficients=coefs, std_errors=se, loo_mae_baseline=self.loo_mae_baseline_,
        )


def _check_positive(arr: np.ndarray, names: list[str], what: str) -> None:
    for j, name in enumerate(names):
        bad = int((arr[:, j] <= 0).sum())
        if bad:
            raise MatsightError(
                f"power-law fit needs positive values, but {what} {name!r} has {bad} non-positive "
                f"row(s) out of {arr.shape[0]} (minimum {arr[:, j].min():g}); drop them or fit a linear model"
            )


class PowerLawRegression(OLSRegression):
    """Power law ``y = a * prod_j x_j ** b_j``, fitted by least squares in log space.

    Ordinary least squares on ``log y = log a + sum_j b_j log x_j`` (natural
    logs), i.e. multiplicative, log-normal scatter. Every ``x_j`` and ``y``
    must be positive; non-positive values are refused with the column name and
    the number of offending rows.

    Parameters
    ----------
    confidence : float, default 0.95

    Attributes
    ----------
    exponents_ : ndarray (n_features,)
        ``b_j`` (dimensionless); also ``coef_``.
    exponents_ci_ : ndarray (n_features, 2)
    prefactor_ : float
        ``a = exp(intercept_)``.
    prefactor_ci_ : ndarray (2,)
        ``exp`` of the t interval of ``log a`` (asymmetric around ``a``).
    r2_ : float
        R^2 of ``log y`` (log space).
    loo_predictions_ : ndarray (n_samples,)
        Back-transformed leave-one-out predictions ``exp(log-space LOO prediction)``.
    loo_mae_ : float
        Mean absolute LOO error in the target's units.
    loo_mae_log_ : float
        Mean absolute LOO error of ``log y``.
    loo_mae_baseline_ : float
        LOO MAE, in the target's units, of the no-feature model (geometric mean of the other rows).
    Plus every attribute of :class:`OLSRegression`, in log space.

    References
    ----------
    Draper and Smith (1998), ch. 13 (intrinsically linear models).
    """

    def fit(self, X, y):
        """Fit on positive ``X`` (n_samples, n_features) and positive ``y``; returns ``self``."""
        Xa, ya, names, target = self._validate_fit(X, y)
        _check_positive(Xa, names, "feature")
        _check_positive(ya[:, None], [target], "target")
        self._fit_arrays(np.log(Xa), np.log(ya), names, target)
        self.exponents_ = self.coef_
        self.exponents_ci_ = self.coef_ci_
        self.prefactor_ = math.exp(self.intercept_)
        self.prefactor_ci_ = np.exp(self.intercept_ci_)
        log_loo = self.loo_predictions_
        self.loo_mae_log_ = self.loo_mae_
        self.loo_predictions_ = np.exp(log_loo)
        finite = np.isfinite(log_loo)
        self.loo_mae_ = float(np.mean(np.abs(ya[finite] - self.loo_predictions_[finite]))) if finite.any() else float("nan")
        self.loo_baseline_predictions_ = np.exp(self.loo_baseline_predictions_)
        self.loo_mae_baseline_ = float(np.mean(np.abs(ya - self.loo_baseline_predictions_)))
        return self

    def predict(self, X, interval: str | None = None, confidence: float | None = None):
        """Predict ``a * prod x ** b`` (the median under log-normal scatter).

        With ``interval`` ("confidence" or "prediction") returns
        ``(prediction, lower, upper)``: the log-space t intervals, exponentiated.
        ``score`` (from scikit-learn's ``RegressorMixin``) is R^2 of this
        back-transformed prediction, in the original space.
        """
        Xa = self._design(X)
        _check_positive(Xa, self.feature_names_, "feature")
        out = self._predict_arrays(np.log(Xa), interval, confidence)
        if interval is None:
            return np.exp(out)
        return tuple(np.exp(a) for a in out)

    def result(self) -> PowerLawResult:  # type: ignore[override]
        """The fit as a :class:`PowerLawResult`."""
        self._check_fitted()
        names = self.feature_names_
        return PowerLawResult(
            target=self.target_name_, features=list(names), n=self.n_samples_, r2=self.r2_,
            loo_mae=self.loo_mae_, loo_mae_log=self.loo_mae_log_, sigma_log=self.sigma_, dof=self.dof_,
            confidence=float(self.confidence),
            prefactor=Estimate(self.prefactor_, *self.prefactor_ci_),
            exponents={n: Estimate(self.exponents_[j], *self.exponents_ci_[j]) for j, n in enumerate(names)},
            log_prefactor=Estimate(self.intercept_, *self.intercept_ci_),
            loo_mae_baseline=self.loo_mae_baseline_,
        )
