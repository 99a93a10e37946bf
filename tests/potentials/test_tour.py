"""The tour's potential section: the shipped model's test errors and a short NVE run."""
from __future__ import annotations

import pytest

from matsight.potentials._tour import _training_line, section


def test_tour_section_reports_the_stored_test_errors(tmp_path):
    from matsight.potentials import load

    sec = section(tmp_path, random_state=0, md_steps=20)
    assert sec.key == "potential"
    for f in sec.figures:
        assert (tmp_path / f).read_bytes()[:4] == b"\x89PNG"
    stored = load("si-mlearn").metadata["training"]["test"]
    assert sec.data["test"]["energy_mae_meV_per_atom"] == pytest.approx(stored["energy_mae_meV_per_atom"], rel=1e-6)
    assert sec.data["md"]["steps"] == 20
    assert "2 networks, 5000 L-BFGS iterations each" in sec.html


@pytest.mark.parametrize("info, expected", [
    ({"config": {"ensemble": 3, "optimizer": "lbfgs"}, "epochs_run": [1500, 1200, 1500]},
     "3 networks, 1500 L-BFGS iterations each"),
    ({"config": {"ensemble": 1, "optimizer": "adam"}, "epochs_run": [812]}, "812 epochs"),
    ({"config": {}, "epochs_run": [40]}, "40 epochs"),  # files written before the optimizer key existed
])
def test_training_line(info, expected):
    assert _training_line(info) == expected
