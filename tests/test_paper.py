"""The paper's reference figures agree with the networks nslib builds and with one another."""

import pytest

from nslib.engine.models import count_params, mlp, widths_of
from nslib.stats import paper

FEATURES = {"HIGGS": 28, "FOREST_COVER": 54, "SPAMBASE": 57}  # the data sets' feature counts (docs/method.md)


@pytest.mark.parametrize("dataset", FEATURES)
def test_the_papers_parameter_counts_are_those_of_the_networks_nslib_builds(dataset: str) -> None:
    d = FEATURES[dataset]
    assert paper.PARAMS[(dataset, "heavy")] == count_params(mlp(d, widths_of("heavy"), "relu"))
    assert paper.PARAMS[(dataset, "light")] == count_params(mlp(d, widths_of("light"), "relu"))


def test_every_headline_model_is_light_with_the_light_parameter_count() -> None:
    for claim in paper.HEADLINE.itertuples():
        assert claim.arch == "Light" and claim.params == paper.PARAMS[(claim.dataset, "light")]
