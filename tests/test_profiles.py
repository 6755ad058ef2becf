"""Notebook parameters: profiles and seeds are checked, with errors that say the fix."""

import pytest

from nslib.experiments.profiles import PROFILES, check_seeds, get_profile


def test_full_profile_uses_the_papers_settings_and_ten_seeds_where_claims_are_judged() -> None:
    full = get_profile("full")
    assert full.rows is None
    assert full.epochs == 15
    assert full.seeds == full.transfer_seeds == (42, 43, 44, 45, 46, 47, 48, 49, 50, 51)
    assert (full.gp_population, full.gp_generations) == (500, 5)
    assert len(full.gp_stability_seeds) >= 5  # transfer is judged for at least five GP seeds' formulas
    assert full.random_programs >= 100  # at least 100 random-formula draws per data set


def test_full_profile_tunes_on_a_stated_search_and_measures_the_higgs_row_curve() -> None:
    full = get_profile("full")
    assert len(full.tune_lrs) >= 2 and all(lr > 0 for lr in full.tune_lrs)
    assert full.tune_epochs > full.epochs  # the tuned budget may train longer than the paper's
    assert full.tune_seeds and set(full.tune_seeds) <= set(full.seeds)
    assert len(full.higgs_rows) >= 2 and list(full.higgs_rows) == sorted(full.higgs_rows)
    assert full.control_seeds and full.curve_seeds


def test_quick_profile_is_smaller_in_every_dimension() -> None:
    quick, full = get_profile("quick"), get_profile("full")
    assert quick.rows is not None and quick.epochs < full.epochs
    assert len(quick.seeds) <= len(full.seeds)
    assert quick.gp_population < full.gp_population
    assert quick.random_programs < full.random_programs
    assert quick.tune_epochs < full.tune_epochs and len(quick.tune_lrs) <= len(full.tune_lrs)
    assert max(quick.higgs_rows) <= quick.rows and len(quick.curve_seeds) <= len(full.curve_seeds)
    assert quick.row_curve_refits < full.row_curve_refits


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'full', 'quick'"):
        get_profile("fast")


def test_unhashable_profile_value_gets_the_same_clear_error() -> None:
    with pytest.raises(ValueError, match="PROFILE=\\['full'\\]"):
        get_profile(["full"])  # type: ignore[arg-type]


@pytest.mark.parametrize("seeds", [[], "42,43", [42, "43"], [True], [-1], None])
def test_bad_seeds_are_rejected_with_an_example(seeds: object) -> None:
    with pytest.raises(ValueError, match="for example \\[42, 43, 44\\]"):
        check_seeds(seeds)


def test_good_seeds_come_back_as_a_tuple() -> None:
    assert check_seeds([42, 43]) == (42, 43)


def test_every_profile_is_registered_under_its_own_name() -> None:
    assert all(profile.name == name for name, profile in PROFILES.items())
