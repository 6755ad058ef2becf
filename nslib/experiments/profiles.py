"""Parameter profiles: the full study, or a quick smoke run for a class.

Every notebook has a ``PROFILE`` parameter; ``get_profile`` turns its name into
the sizes that notebook uses, and rejects a name it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How big a run is; the defaults are the full study. ``rows=None`` means each data set's row count in the paper."""

    name: str = "full"
    rows: int | None = None
    epochs: int = 15
    seeds: tuple[int, ...] = tuple(range(42, 52))
    transfer_seeds: tuple[int, ...] = tuple(range(42, 52))
    gp_population: int = 500
    gp_generations: int = 5
    gp_stability_seeds: tuple[int, ...] = (42, 43, 44, 45, 46)
    random_programs: int = 100
    tuned_random: int = 30  # distinct random formulas per data set also trained at the tuned budget
    widths: tuple[tuple[int, int], ...] = ((8, 4), (16, 8), (32, 16), (64, 32), (128, 64), (200, 100))
    control_seeds: tuple[int, ...] = (42, 43)
    curve_seeds: tuple[int, ...] = (42, 43, 44)
    tune_lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)  # the paper's 1e-3 and up; extended past an edge
    tune_epochs: int = 100  # the cap of a tuning run ...
    tune_patience: int = 10  # ... which stops after this many epochs without a better validation AUC
    tune_seeds: tuple[int, ...] = (42, 43, 44)  # each with its own validation split
    higgs_rows: tuple[int, ...] = (2500, 5000, 10000)
    row_curve_refits: int = 500  # bootstrap refits of notebook 05's row-count curve
    method_gp_seeds: tuple[int, ...] = (42, 43, 44, 45, 46)  # the draws of the method (04, 05): GP seeds ...
    method_samples: int = 4  # ... times discovery samples of the data set (sample 0: all its rows)
    draw_seeds: int = 5  # the method's draws (04, 05) train on the first this many seeds where a run is long ...
    long_run: int = 2_000_000  # ... more training rows x epochs than this: Forest Cover's tuned budgets (5 million)
    frequencies: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)  # notebook 04's cos(w x) and sin(w x) family


PROFILES = {
    "full": Profile(),
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
        tuned_random=3,
        widths=((16, 8), (64, 32)),
        curve_seeds=(42,),
        tune_lrs=(1e-3, 1e-2),
        tune_epochs=6,
        tune_patience=2,
        higgs_rows=(750, 1500),
        row_curve_refits=100,
        method_gp_seeds=(42, 43),
        method_samples=2,
        draw_seeds=2,
        frequencies=(1.0, 4.0),
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
