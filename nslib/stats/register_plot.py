"""The claims register's figure: one forest plot of a family's claims at each budget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from nslib.stats.significance import VERDICTS

if TYPE_CHECKING:
    import matplotlib.pyplot as plt


def plot_claims(judged: Mapping[str, pd.DataFrame], title: str) -> "plt.Figure":
    """A forest plot of a family at each budget: each claim's mean difference and interval, coloured by verdict."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    colours = dict(zip(VERDICTS, [sns.color_palette("colorblind")[i] for i in (2, 3, 0, 7)]))
    first = next(iter(judged.values()))
    labels = list(dict.fromkeys(first["dataset"] + ": " + first["claim"]))
    fig, axes = plt.subplots(1, len(judged), figsize=(5.5 * len(judged), 0.42 * len(labels) + 1.8), sharey=True,
                             squeeze=False)
    for ax, (budget, table) in zip(axes[0], judged.items()):
        y = (table["dataset"] + ": " + table["claim"]).map({label: i for i, label in enumerate(labels)})
        for verdict, group in table.groupby("verdict"):
            ax.errorbar(group["mean"], y[group.index], fmt="o", capsize=3, color=colours[verdict], label=verdict,
                        xerr=[group["mean"] - group["ci_low"], group["ci_high"] - group["mean"]])
        ax.axvline(0, color="grey", linewidth=1, linestyle="--")
        ax.set(yticks=range(len(labels)), yticklabels=labels, ylim=(len(labels) - 0.5, -0.5), title=f"{budget} budget",
               xlabel="claimed winner minus the other, paired by seed")
    handles = {label: handle for ax in axes[0] for handle, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), title="verdict (Holm-level interval)", loc="upper center",
               bbox_to_anchor=(0.5, 0.0), ncol=len(handles))
    fig.suptitle(title)
    fig.tight_layout()
    return fig
