"""Not a benchmark: draws the README's two "why errors happen" figures of the demo set
(an EDC and a cross-group FMR heat map) as PNGs in assets/, through Chromium.

Plotly writes PNGs with kaleido, which this project does not install; the browser tests'
Chromium renders the same figure from its HTML (plotly.js inlined, nothing fetched).

    python bench/readme_figures.py        (or: make figures)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from facedemo import config, datasets, evaluation, faces, plots  # noqa: E402
from facedemo.quality import study as quality  # noqa: E402

#: The measure both figures show: the face's size in the photo, the demo set's widest spread.
MEASURE = "inter_eye_distance"
SIZE = {"width": 900, "height": 480}


def render(figure, path: Path) -> None:
    """``figure`` as a PNG at ``path``, drawn by Chromium from its self-contained HTML."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO / "tests"))
    from browser_support import CHROMIUM, CHROMIUM_FLAGS

    figure.update_layout(**SIZE)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        html = Path(folder) / "figure.html"
        figure.write_html(html, include_plotlyjs=True, full_html=True)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport=SIZE)
        page.goto(html.as_uri())
        page.wait_for_selector(".main-svg")
        page.locator(".plotly-graph-div").screenshot(path=str(path))
        browser.close()
    print(f"wrote {path.relative_to(REPO)}")


def main() -> None:
    dataset = datasets.load_identity_dataset(config.demo_data_dir())
    study = evaluation.study_dataset(dataset, faces.DEFAULT_ENGINE)
    threshold = faces.default_threshold(study.engine.model, study.engine.metric)
    analysed = quality.study_quality(study)
    edc = analysed.edc(MEASURE, threshold)
    render(plots.edc_figure(edc), REPO / "assets" / "readme-edc.png")
    print(plots.edc_caption(edc))
    (report,) = analysed.groups(threshold, band_measure=MEASURE)
    render(
        plots.cross_group_figure(report.cross, report.attribute),
        REPO / "assets" / "readme-groups.png",
    )
    print(plots.cross_group_caption(report.cross, report.differentials))


if __name__ == "__main__":
    main()
