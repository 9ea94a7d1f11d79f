"""Without pre-trained weights, the ResNet notebook's predictions are shown as an untrained network's guesses."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

from conftest import ROOT
from helpers import plotting

matplotlib.use("Agg")


def _figure(pretrained: bool, n: int = 3):
    images = np.zeros((n, 8, 8, 3), dtype=np.uint8)
    probabilities = np.tile(np.eye(6)[0], (n, 1))  # every image "predicted 0", as an untrained network does
    return plotting.predictions(
        images, probabilities, labels=list(range(n)), title="test images", pretrained=pretrained
    )


def _titles(fig) -> list:
    return [ax.title for ax in fig.axes if ax.get_title()]


def test_an_untrained_network_says_so_and_marks_nothing_wrong():
    fig = _figure(pretrained=False)
    heading = fig._suptitle.get_text().replace("\n", " ")
    assert heading.startswith("test images") and "Untrained network" in heading and "course pretrain" in heading
    assert all(t.get_text().startswith("guess 0") for t in _titles(fig))
    assert all(matplotlib.colors.same_color(t.get_color(), "black") for t in _titles(fig))


def test_a_trained_network_marks_its_wrong_predictions_red():
    fig = _figure(pretrained=True)
    colors = [matplotlib.colors.same_color(t.get_color(), "red") for t in _titles(fig)]
    assert colors == [False, True, True]  # true 0 predicted 0; true 1 and 2 predicted 0
    assert "Untrained" not in fig._suptitle.get_text()


@pytest.mark.parametrize("kind", ["source", "release"])
def test_every_prediction_figure_of_the_resnet_notebook_says_whether_weights_were_loaded(kind):
    cells = json.loads((ROOT / kind / "residual_networks" / "residual_networks.ipynb").read_text())["cells"]
    calls = [
        line
        for c in cells
        if c["cell_type"] == "code"
        for line in "".join(c["source"]).splitlines()
        if "plotting.predictions(" in line
    ]
    assert len(calls) == 2 and all("pretrained=manifest is not None" in line for line in calls)
