"""Bundled real datasets with their provenance.

>>> from matsight import datasets
>>> datasets.names()                       # doctest: +SKIP
>>> df = datasets.load("band_gaps")        # a pandas.DataFrame
>>> datasets.info("band_gaps").citation    # doctest: +SKIP

Every dataset can be named by its short name (``band_gaps``) or by its file
stem (``band_gaps_strehlow_cook_1973``), with or without ``.csv``.
"""
from ._registry import DatasetInfo, data_path, info, is_dataset, list_datasets, load, names, resolve

__all__ = ["DatasetInfo", "data_path", "info", "is_dataset", "list_datasets", "load", "names", "resolve"]
