"""Parameter profiles: the full study, or a quick smoke run for a class.

Every notebook has a ``PROFILE`` parameter; ``get_profile`` turns its name into
the sizes that notebook uses, and rejects a name it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How big a run is. ``rows=None`` means each data set's row count in the paper."""

    name: str
    rows: int | None
    epochs: int
    seeds: tuple[int, ...]
    transfer_seeds: tuple[int, ...]
    gp_population: int
    gp_generations: int
    gp_stability_seeds: tuple[int, ...]
    random_programs: int
    widths: tuple[tuple[int, int], ...]
    control_seeds: tuple[int, ...]
    curve_seeds: tuple[int, ...]
    tune_lrs: tuple[float, ...]
    tune_epochs: int
    tune_seeds: tuple[int, ...]
    higgs_rows: tuple[int, ...]


PROFILES = {
    "full": Profile(
        name="full",
        rows=None,
        epochs=15,
        seeds=tuple(range(42, 52)),
        transfer_seeds=tuple(range(42, 52)),
        gp_population=500,
        gp_generations=5,
        gp_stability_seeds=(42, 43, 44, 45, 46),
        random_programs=100,
        widths=((8, 4), (16, 8), (32, 16), (64, 32), (128, 64), (200, 100)),
        control_seeds=(42, 43),
        curve_seeds=(42, 43, 44),
        tune_lrs=(3e-3, 1e-2, 3e-2),
        tune_epochs=30,
        tune_seeds=(42,),
        higgs_rows=(2500, 5000, 10000),
    ),
    "quick": Profile(
        name="quick",
        rows=3000,
        epochs=3,
        seeds=(42, 43),
        transfer_seeds=(42, 43),
        gp_population=100,
        gp_generations=2,
        gp_stability_seeds=(42, 43),
        random_programs=4,
        widths=((16, 8), (64, 32)),
        control_seeds=(42, 43),
        curve_seeds=(42,),
        tune_lrs=(1e-3, 1e-2),
        tune_epochs=4,
        tune_seeds=(42,),
        higgs_rows=(750, 1500),
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; a ValueError lists the known names otherwise."""
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(key) for key in PROFILES)
        raise ValueError(
            f"PROFILE={name!r} is not a known profile; use one of {known} "
            "(for example: papermill ... -p PROFILE quick)."
        ) from None


def check_seeds(seeds: object) -> tuple[int, ...]:
    """Validate a ``SEEDS`` notebook parameter: a non-empty list of integers."""
    if isinstance(seeds, (list, tuple)) and seeds and all(
        isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 for seed in seeds
    ):
        return tuple(seeds)
    raise ValueError(
        f"SEEDS={seeds!r} must be a non-empty list of non-negative integers, "
        "for example [42, 43, 44] (pass lists to papermill with -y 'SEEDS: [42, 43]')."
    )
