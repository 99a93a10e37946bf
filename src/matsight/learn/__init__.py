"""Learning on tabular materials data.

Regression with honest intervals (OLS, power law), the band-gap seed data,
k-NN classification with one-pass leave-one-out, and DBSCAN composition
families. Sub-modules are listed in alphabetical order; each contributes its
public names.
"""
from ._alloys import CompositionTable, read_compositions, superalloy_compositions, wt_to_at_percent
from ._bandgap import BandGapData, prepare_band_gaps
from ._classify import ClassificationResult, classify, composition_features, plot_accuracy_vs_k, plot_confusion
from ._clustering import (
    DISTANCES,
    ClusteringResult,
    ClusterSummary,
    CompositionDBSCAN,
    adjusted_rand_vs,
    check_distance_matrix,
    clr,
    cluster_compositions,
    composition_distances,
    dbscan_precomputed,
    kdistances,
    knee_eps,
    mds_embedding,
    multiplicative_replacement,
    plot_clustering,
)
from ._neighbors import fold_weights, loo_kneighbors, loo_predict, tie_ambiguous, tie_winners, vote
from ._regress_table import RegressionRun, regress
from ._regression import Estimate, OLSRegression, OLSResult, PowerLawRegression, PowerLawResult

__all__ = [
    # _alloys
    "CompositionTable",
    "read_compositions",
    "superalloy_compositions",
    "wt_to_at_percent",
    # _bandgap
    "BandGapData",
    "prepare_band_gaps",
    # _classify
    "ClassificationResult",
    "classify",
    "composition_features",
    "plot_accuracy_vs_k",
    "plot_confusion",
    # _clustering
    "DISTANCES",
    "ClusterSummary",
    "ClusteringResult",
    "CompositionDBSCAN",
    "adjusted_rand_vs",
    "check_distance_matrix",
    "clr",
    "cluster_compositions",
    "composition_distances",
    "dbscan_precomputed",
    "kdistances",
    "knee_eps",
    "mds_embedding",
    "multiplicative_replacement",
    "plot_clustering",
    # _neighbors
    "fold_weights",
    "loo_kneighbors",
    "loo_predict",
    "tie_ambiguous",
    "tie_winners",
    "vote",
    # _regress_table
    "RegressionRun",
    "regress",
    # _regression
    "Estimate",
    "OLSRegression",
    "OLSResult",
    "PowerLawRegression",
    "PowerLawResult",
]
