"""Open the rendered support matrix in headless Chromium and use it like a reader would."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from reports import STATUSES, build_matrix, load_matrix, write_matrix
from reports.screenshot import CHROMEDRIVER, CHROMIUM, chromium_driver

_missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
if _missing and os.environ.get("EXPORTKIT_REQUIRE_BROWSER"):
    # CI installs Chromium: there a missing browser is an error, not a reason to skip.
    raise RuntimeError(f"EXPORTKIT_REQUIRE_BROWSER is set but {' and '.join(_missing)} is missing")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(_missing), reason=f"browser test needs {' and '.join(_missing)} (not installed)"),
]

VERSIONS = {"torch": "2.15.0", "transformers": "5.0.0", "timm": "1.0.0"}
FAILED_ID = "transformers/bert/onnx-torchscript/text-classification"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def record(library, model_type, engine, task, status, **extra) -> dict:
    column = f"onnx-{engine}"
    rid = f"{library}/{model_type}/{column}/{task}"
    base = {
        "id": rid, "library": library, "model_type": model_type, "exporter": "onnx", "engine": engine,
        "column": column, "task": task, "status": status, "stage": None, "reason": None, "error": None,
        "outputs": {"logits": {"max_abs_diff": 2.5e-6, "atol": 1e-4}} if status == "certified" else {},
        "shapes_tried": [{"batch_size": 1, "sequence_length": 3}, {"batch_size": 2, "sequence_length": 1}],
        "minimal_failing_shape": None, "opset": 18, "export_seconds": 2.25, "artefact_bytes": 3_500_000,
        "versions": VERSIONS, "seed": 0, "hypothesis_profile": "ci",
        "reproduce": f"pytest conformance -p no:randomly -k '{rid}'",
        "registered_at": "exportkit/exporters/onnx/models/text.py:41", "duration_seconds": 4.0,
        "commit": COMMIT,
    }
    base.update(extra)
    return base


RECORDS = [
    record("transformers", "bert", "dynamo", "text-classification", "certified"),
    record("transformers", "bert", "torchscript", "text-classification", "failed", stage="compare",
           reason="variant multi-query-attention: max abs diff over atol",
           error="Traceback (most recent call last):\n  ...\n</script><b id=injected>boom</b>",
           minimal_failing_shape={"variant": "multi-query-attention", "batch_size": 2, "sequence_length": 1,
                                  "attention_mask": "ragged-left [0, 3]"},
           variants=[{"name": "base", "status": "certified", "stage": None, "reason": None, "examples": 14},
                     {"name": "multi-query-attention", "status": "failed", "stage": "compare",
                      "reason": "max abs diff over atol", "examples": 5}],
           examples=19, masks={"none": 9, "ragged-left": 10},
           padding={"sides": ["left", "right"], "not_compared_after": ["left"]},
           thresholds=[{"field": "sliding_window", "value": 12, "axes": ["total_sequence_length"],
                        "below": True, "above": True}],
           largest_input={"elements": 32768, "example": {"batch_size": 64, "sequence_length": 512}},
           peak_memory_bytes=3 * 2**30, memory_growth_bytes=2**29, memory_budget_bytes=4 * 2**30,
           example_budget=2**20),
    record("transformers", "gpt2", "dynamo", "text-generation", "xfail", stage="capture",
           reason="xfail: dynamic cache not supported"),
    record("transformers", "gpt2", "torchscript", "text-generation", "timeout", stage="run",
           reason="Timeout after 300 s"),
    record("timm", "resnet", "dynamo", "image-classification", "certified"),
    record("timm", "resnet", "torchscript", "image-classification", "skipped", reason="skip: needs CUDA"),
    record("timm", "vit", "dynamo", "image-classification", "crashed", stage="run",
           reason="worker exited with signal 11"),
    record("timm", "vit", "torchscript", "image-classification", "certified"),
]


@pytest.fixture(scope="module")
def matrix() -> dict:
    return build_matrix(RECORDS, versions=VERSIONS, profile="ci", generated_at="2025-06-01T12:00:00Z")


@pytest.fixture(scope="module")
def page_url(matrix, tmp_path_factory) -> str:
    _, html_path = write_matrix(matrix, tmp_path_factory.mktemp("site"))
    return html_path.resolve().as_uri()


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    with chromium_driver(tmp_path_factory.mktemp("chromium-profile")) as drv:
        yield drv


@pytest.fixture
def page(driver, page_url):
    driver.get(page_url)
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.__matrixReady === true"))
    return driver


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def visible_models(driver) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#matrix tr.model")
    return [r.get_attribute("data-model-type") for r in rows if r.is_displayed()]


def test_page_loads_without_console_errors(page):
    try:
        logs = page.get_log("browser")
    except Exception:  # driver without the logging extension: __matrixReady already proved the script ran
        logs = []
    errors = [entry for entry in logs if entry.get("level") == "SEVERE"]
    assert errors == []
    assert page.title == "exportkit support matrix"


def test_counts_match_summary(page, matrix):
    summary = matrix["summary"]
    assert css(page, "[data-count-total]").text == str(summary["total"])
    for status in STATUSES:
        assert css(page, f'[data-count-status="{status}"]').text == str(summary["by_status"][status])
    for attr, groups in (("library", summary["by_library"]), ("column", summary["by_column"])):
        for name, counts in groups.items():
            for status, n in counts.items():
                assert css(page, f'[data-count-{attr}="{name}"][data-status="{status}"]').text == str(n), (
                    attr, name, status)
    shown = {c.get_attribute("data-id") for c in page.find_elements(By.CSS_SELECTOR, "td.cell")}
    assert shown == {r["id"] for r in RECORDS}


def test_clicking_failed_cell_shows_certificate(page):
    details = css(page, "#details")
    assert not details.is_displayed()
    cell = css(page, f'td.cell[data-id="{FAILED_ID}"]')
    assert cell.get_attribute("data-status") == "failed"
    cell.click()
    assert details.is_displayed()
    failed = next(r for r in RECORDS if r["id"] == FAILED_ID)
    text = details.text
    for expected in (FAILED_ID, failed["stage"], failed["reason"], failed["reproduce"], failed["registered_at"],
                     "variant=multi-query-attention, batch_size=2, sequence_length=1, attention_mask=ragged-left [0, 3]",
                     "</script><b id=injected>boom</b>",
                     # what ran: variants, masks, padding policy, thresholds, the largest input, memory
                     "multi-query-attention", "ragged-left \u00d710", "not compared after left padding",
                     "sliding_window=12 on total_sequence_length: crossed", "batch_size=64, sequence_length=512",
                     "3.0 GiB", "4.0 GiB",
                     "Measured at commit\n0123456"):  # the commit that measured it, the whole hash on hover
        assert expected in text
    assert COMMIT not in text and details.find_element(By.CSS_SELECTOR, f'[title="{COMMIT}"]').text == "0123456"
    # The error text is shown literally, never parsed as markup.
    assert page.find_elements(By.ID, "injected") == []

    css(page, "#details-close").click()
    assert not details.is_displayed()


def test_filter_hides_and_restores_rows(page):
    everything = visible_models(page)
    assert sorted(everything) == ["bert", "gpt2", "resnet", "vit"]

    box = css(page, "#filter")
    box.send_keys("resnet")
    assert visible_models(page) == ["resnet"]
    assert css(page, '#matrix tr.group[data-library="timm"]').is_displayed()
    assert not any(g.is_displayed() for g in page.find_elements(By.CSS_SELECTOR,
                                                                '#matrix tr.group[data-library="transformers"]'))

    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("text-generation")  # tasks match too
    assert visible_models(page) == ["gpt2"]

    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("no-such-model")
    assert visible_models(page) == []
    assert css(page, "#no-match").is_displayed()

    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    assert visible_models(page) == everything
    assert not css(page, "#no-match").is_displayed()


def test_status_checkboxes_filter_rows(page):
    css(page, '#legend input[value="certified"]').click()
    # bert/resnet/vit/gpt2 all still have a non-certified cell...
    assert sorted(visible_models(page)) == ["bert", "gpt2", "resnet", "vit"]
    css(page, '#legend input[value="failed"]').click()
    css(page, '#legend input[value="crashed"]').click()
    # ...until the remaining statuses are only xfail/skipped/timeout.
    assert sorted(visible_models(page)) == ["gpt2", "resnet"]


def test_changes_since_a_baseline_link_to_their_certificates(driver, matrix, tmp_path):
    from reports.diff import diff_matrices

    baseline = build_matrix([{**r, "status": "certified", "stage": None, "reason": None} for r in RECORDS[:2]]
                            + [record("timm", "gone", "dynamo", "image-classification", "certified")],
                            versions=VERSIONS, generated_at="2025-05-01T00:00:00Z")
    hostile = {**RECORDS[1], "reason": "<b id=injected-reason>boom</b>"}
    current = build_matrix([hostile if r["id"] == FAILED_ID else r for r in RECORDS], versions=VERSIONS)
    _, html_path = write_matrix(current, tmp_path, diff=diff_matrices(baseline, current, baseline="<i>old</i>.json"))
    driver.get(html_path.resolve().as_uri())
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.__matrixReady === true"))
    changes = css(driver, "#changes")
    assert changes.is_displayed()
    assert css(driver, "#changes-title").get_attribute("textContent") == "Changes since <i>old</i>.json"
    assert driver.find_elements(By.ID, "injected-reason") == []
    regressions = css(driver, '#changes details[data-kind="regressions"]')
    assert regressions.get_attribute("open") is not None
    assert FAILED_ID in regressions.text and "<b id=injected-reason>boom</b>" in regressions.text
    assert "timm/gone/onnx-dynamo/image-classification" in css(driver, '#changes details[data-kind="removed"]')\
        .get_attribute("textContent")
    regressions.find_element(By.CSS_SELECTOR, "a").click()
    WebDriverWait(driver, 5).until(lambda d: css(d, "#details").is_displayed())
    assert css(driver, "#details-title").text == FAILED_ID


# ---- a matrix of 10,000 cells: the published certificates, repeated over synthetic model types ---------

PUBLISHED = Path(__file__).resolve().parents[1] / "reports" / "support-matrix.json"


def _measured_differently(cell: dict, copy: int) -> dict:
    """The cell with its own measurements, as another model's certificate would have."""
    factor = 1 + (copy % 997) / 1000
    cell = json.loads(json.dumps(cell))
    for key in ("duration_seconds", "export_seconds", "peak_memory_bytes", "memory_growth_bytes", "artefact_bytes"):
        if isinstance(cell.get(key), (int, float)):
            cell[key] = round(cell[key] * factor, 3) if isinstance(cell[key], float) else int(cell[key] * factor)
    for output in (cell.get("outputs") or {}).values():
        if isinstance(output.get("max_abs_diff"), float):
            output["max_abs_diff"] *= factor
    return cell


def large_matrix(size: int) -> dict:
    """``size`` cells: each published model type's cells again under new names (real certificates,
    so the examples, variants and thresholds in them are the real ones), each with its own
    measurements (durations, differences, memory, sizes)."""
    cells = load_matrix(PUBLISHED)["cells"]
    by_model: dict[tuple, list] = {}
    for cell in cells:
        by_model.setdefault((cell["library"], cell["model_type"]), []).append(cell)
    groups = list(by_model.values())
    out, copy = [], 0
    while len(out) < size:
        for cell in groups[copy % len(groups)]:
            if len(out) == size:
                break
            name = f"{cell['model_type']}-{copy:04d}"
            out.append({**_measured_differently(cell, copy), "model_type": name,
                        "id": cell["id"].replace(f"/{cell['model_type']}/", f"/{name}/", 1)})
        copy += 1
    return build_matrix(out, versions=load_matrix(PUBLISHED)["versions"], profile="ci", seed=0)


def test_a_10000_cell_page_stays_small_loads_and_filters(tmp_path_factory, driver):
    """Prints the page's load and filter times in headless Chromium; asserts what it shows."""
    matrix = large_matrix(10_000)
    json_path, html_path = write_matrix(matrix, tmp_path_factory.mktemp("large"))
    json_mb = json_path.stat().st_size / 1e6
    assert json_mb < 10, f"{json_mb:.1f} MB of JSON for 10,000 cells"

    driver.get(html_path.resolve().as_uri())
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return window.__matrixReady === true"))
    load_ms = driver.execute_script(
        "const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd || performance.now();")
    rows = driver.find_elements(By.CSS_SELECTOR, "#matrix tr.model")
    models = len({(c["library"], c["model_type"]) for c in matrix["cells"]})
    assert 0 < len(rows) < 200  # only the rows in view exist
    assert css(driver, "#visible-count").text == f"{models} of {models} models"

    # keystrokes typing one model's name: the filter's input handler, timed inside the page
    wanted = next(c for c in matrix["cells"] if c["library"] == "transformers")["model_type"]
    expected = sorted({(c["library"], c["model_type"]) for c in matrix["cells"] if wanted in c["model_type"]})
    filter_ms = driver.execute_script("""
        const box = document.getElementById('filter');
        const times = [];
        for (const text of [...Array(arguments[0].length).keys()].map((i) => arguments[0].slice(0, i + 1))) {
          box.value = text;
          const start = performance.now();
          box.dispatchEvent(new Event('input'));
          times.push(performance.now() - start);
        }
        return times;""", wanted)
    shown = [r.get_attribute("data-model-type") for r in driver.find_elements(By.CSS_SELECTOR, "#matrix tr.model")]
    assert shown == [model for _, model in expected]
    assert css(driver, "#visible-count").text == f"{len(expected)} of {models} models"
    print(f"\n10,000 cells: JSON {json_mb:.2f} MB, HTML {html_path.stat().st_size / 1e6:.2f} MB; "
          f"page load {load_ms:.0f} ms; filter keystrokes {', '.join(f'{t:.1f}' for t in filter_ms)} ms "
          f"(max {max(filter_ms):.1f} ms)")
