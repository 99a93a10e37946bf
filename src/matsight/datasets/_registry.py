"""Registry of the bundled datasets: files, descriptions, citations, licences."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import MatsightError

__all__ = ["DatasetInfo", "data_path", "info", "is_dataset", "list_datasets", "load", "names", "resolve"]


@dataclass(frozen=True)
class DatasetInfo:
    """Provenance of one bundled dataset."""

    name: str
    file: str
    description: str
    columns: str
    citation: str
    doi: str
    licence: str
    rows: int
    notes: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["aliases"] = list(self.aliases)
        return d


_DATASETS: tuple[DatasetInfo, ...] = (
    DatasetInfo(
        name="band_gaps",
        file="band_gaps_strehlow_cook_1973.csv",
        description=(
            "Measured band gaps of elemental and binary semiconductors and insulators; "
            "several measurements per formula, each with temperature, transition type, "
            "method and crystallinity."
        ),
        columns="formula, band_gap_eV, temperature_K, transition, method, crystallinity, doi",
        citation=(
            "W. H. Strehlow and E. L. Cook, Compilation of Energy Band Gaps in Elemental and "
            "Binary Compound Semiconductors and Insulators, J. Phys. Chem. Ref. Data 2, 163 (1973); "
            "tabulated by Citrine Informatics for the smlb benchmark."
        ),
        doi="10.1063/1.3253115",
        licence="Apache-2.0 (Citrine Informatics smlb)",
        rows=1447,
    ),
    DatasetInfo(
        name="perovskites",
        file="perovskites_bartel_2019.csv",
        description=(
            "576 experimentally characterised ABX3 solids (Table S1 of Bartel et al.): "
            "ions, oxidation states, Shannon radii used, Goldschmidt t, tau, the "
            "experimental label (1 perovskite, -1 not) and the paper's train/test split."
        ),
        columns="ABX3, exp_label, is_train, A, B, X, nA, nB, nX, rA (Ang), rB (Ang), rX (Ang), t, tau, t_pred, tau_pred, tau_prob",
        citation=(
            "C. J. Bartel, C. Sutton, B. R. Goldsmith, R. Ouyang, C. B. Musgrave, L. M. Ghiringhelli "
            "and M. Scheffler, New tolerance factor to predict the stability of perovskite oxides "
            "and halides, Science Advances 5, eaav0693 (2019), Table S1."
        ),
        doi="10.1126/sciadv.aav0693",
        licence="MIT",
        rows=576,
    ),
    DatasetInfo(
        name="topological",
        file="topological_materials_ma_2023.csv",
        description=(
            "Materials labelled trivial (band insulator), TI, TCI or semimetal by symmetry "
            "indicators; one row per (space group, reduced formula). The same formula can "
            "occur in several space groups."
        ),
        columns="formula, space_group, label",
        citation=(
            "A. Ma, Y. Zhang, T. Christensen, H. C. Po, L. Jing, L. Fu and M. Soljacic, "
            "Topogivity: A Machine-Learned Chemical Rule for Discovering Topological Materials, "
            "Nano Letters 23, 772 (2023); labels from the Topological Materials Arsenal "
            "(T. Zhang et al., Nature 566, 475 (2019))."
        ),
        doi="10.1021/acs.nanolett.2c03307",
        licence="MIT",
        rows=10812,
    ),
    DatasetInfo(
        name="superalloys",
        file="ni_superalloys_conduit_2017.csv",
        description=(
            "Nickel-base superalloys: composition in weight per cent (wt_El columns), heat "
            "treatments, test temperature, strengths, elongation, stress rupture, the "
            "strengthening precipitate and whether the alloy was powder processed. Many rows "
            "share one alloy."
        ),
        columns="name, wt_Al ... wt_Zr, yield_strength_MPa, ..., strengthening_precipitate_phase, powder_processed, ...",
        citation=(
            "B. D. Conduit, N. G. Jones, H. J. Stone and G. J. Conduit, Design of a nickel-base "
            "superalloy using a neural network, Materials & Design 131, 358 (2017); "
            "tabulated by Citrine Informatics for the smlb benchmark."
        ),
        doi="10.1016/j.matdes.2017.06.007",
        licence="Apache-2.0 (Citrine Informatics smlb)",
        rows=2800,
    ),
    DatasetInfo(
        name="expt_gap",
        file="matbench_expt_gap.csv",
        description="Experimental band gap (eV) by composition; metals are 0 (Matbench v0.1).",
        columns="formula, target",
        citation=(
            "A. Dunn, Q. Wang, A. Ganose, D. Dopp and A. Jain, Benchmarking materials property "
            "prediction methods: the Matbench test set and Automatminer reference algorithm, "
            "npj Comput. Mater. 6, 138 (2020); data from Y. Zhuo, A. Mansouri Tehrani and "
            "J. Brgoch, J. Phys. Chem. Lett. 9, 1668 (2018)."
        ),
        doi="10.1038/s41524-020-00406-3",
        licence="as published with Matbench",
        rows=4604,
    ),
    DatasetInfo(
        name="expt_is_metal",
        file="matbench_expt_is_metal.csv",
        description="1 = metal, 0 = non-metal, by composition (Matbench v0.1).",
        columns="formula, target",
        citation="As expt_gap: Dunn et al., npj Comput. Mater. 6, 138 (2020); Zhuo et al., J. Phys. Chem. Lett. 9, 1668 (2018).",
        doi="10.1038/s41524-020-00406-3",
        licence="as published with Matbench",
        rows=4921,
    ),
    DatasetInfo(
        name="mp_e_form",
        file="matbench_mp_e_form.csv.gz",
        description=(
            "DFT (PBE) formation energy in eV/atom of Materials Project structures, by formula; "
            "several polymorphs can share a formula (Matbench v0.1). Shipped gzip-compressed."
        ),
        columns="formula, target",
        citation=(
            "Dunn et al., npj Comput. Mater. 6, 138 (2020); data from the Materials Project "
            "(A. Jain et al., APL Materials 1, 011002 (2013))."
        ),
        doi="10.1038/s41524-020-00406-3",
        licence="as published with Matbench (Materials Project data, CC-BY-4.0)",
        rows=132752,
    ),
)


def _key(name: str) -> str:
    key = str(name).strip()
    for suffix in (".gz", ".csv"):
        if key.lower().endswith(suffix):
            key = key[: -len(suffix)]
    return key.lower()


@lru_cache(maxsize=1)
def _index() -> dict[str, DatasetInfo]:
    table: dict[str, DatasetInfo] = {}
    for d in _DATASETS:
        table[d.name] = d
        table[_key(d.file)] = d
        for a in d.aliases:
            table[a] = d
    return table


def names() -> list[str]:
    """Short names of all bundled datasets."""
    return [d.name for d in _DATASETS]


def list_datasets() -> list[DatasetInfo]:
    """Provenance records of all bundled datasets."""
    return list(_DATASETS)


def is_dataset(name: str) -> bool:
    """True if ``name`` names a bundled dataset (short name or file stem, any suffix)."""
    return _key(name) in _index()


def resolve(name: str) -> DatasetInfo:
    """Return the :class:`DatasetInfo` of ``name`` or raise a clear error."""
    try:
        return _index()[_key(name)]
    except KeyError:
        raise MatsightError(
            f"unknown dataset {name!r}; bundled datasets are: {', '.join(names())}"
        ) from None


def info(name: str) -> DatasetInfo:
    """Alias of :func:`resolve`."""
    return resolve(name)


def data_path(name: str) -> Path:
    """Path of the bundled file of dataset ``name``."""
    d = resolve(name)
    return Path(str(resources.files(__package__).joinpath("data", d.file)))


def load(name: str):
    """Load a bundled dataset as a new :class:`pandas.DataFrame`.

    Parameters
    ----------
    name : str
        Short name (``"band_gaps"``) or file stem (``"band_gaps_strehlow_cook_1973"``),
        with or without ``.csv``.
    """
    import pandas as pd

    return pd.read_csv(data_path(name))
