"""Notebook parameters: profiles and seeds are checked, with errors that say the fix."""

import pytest

from nslib.profiles import PROFILES, check_seeds, get_profile


def test_full_profile_uses_the_papers_settings() -> None:
    full = get_profile("full")
    assert full.rows is None
    assert full.epochs == 15
    assert full.seeds == (42, 43, 44)
    assert (full.gp_population, full.gp_generations) == (500, 5)
    assert full.random_programs >= 20
    assert len(full.transfer_seeds) > len(full.seeds)


def test_quick_profile_is_smaller_in_every_dimension() -> None:
    quick, full = get_profile("quick"), get_profile("full")
    assert quick.rows is not None and quick.epochs < full.epochs
    assert len(quick.seeds) <= len(full.seeds)
    assert quick.gp_population < full.gp_population


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
