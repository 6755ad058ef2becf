"""The paper's reference figures are internally consistent with METHOD.md's arithmetic."""

import math

import pytest

from nslib import paper


@pytest.mark.parametrize(
    ("dataset", "expected_gain"),
    [("HIGGS", 0.223), ("FOREST_COVER", 0.196), ("SPAMBASE", 0.193)],
)
def test_equal_auc_gain_is_the_parameter_ratio_alone(dataset: str, expected_gain: float) -> None:
    heavy, light = paper.PARAMS[(dataset, "heavy")], paper.PARAMS[(dataset, "light")]
    assert math.log10(heavy) / math.log10(light) - 1 == pytest.approx(expected_gain, abs=5e-4)


def test_every_data_set_has_the_paper_grid_on_the_mirror() -> None:
    counts = paper.PAPER_CODE_ON_MIRROR.groupby("dataset").size().to_dict()
    assert counts == {"HIGGS": 5, "FOREST_COVER": 6, "SPAMBASE": 6}


def test_gradient_boosting_beats_every_paper_mlp_on_the_mirror() -> None:
    best_mlp = paper.PAPER_CODE_ON_MIRROR.groupby("dataset")["auc"].max()
    for dataset, (_, auc) in paper.GRADIENT_BOOSTING_ON_MIRROR.items():
        assert auc > best_mlp[dataset]
