"""The upload page in headless Chromium (Debian's /usr/bin/chromium driven by Playwright)."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("flask", reason="the web extra (flask) is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")

from conftest import EXAMPLES, face_clip, write_video  # noqa: E402
from eyegrad.runtime.web import create_app  # noqa: E402
from eyegrad.runtime.web.server import BackgroundServer  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VERDICT_DONE = "#result[data-verdict]"


@pytest.fixture(scope="module")
def server():
    app = create_app(workers=1)
    with BackgroundServer(app) as srv:
        yield srv
    app.extensions["eyegrad_pool"].close()


@pytest.fixture(scope="module")
def page(server):
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} not found (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        yield page
        browser.close()


def open_page(page, server) -> None:
    page.goto(server.url + "/")
    # a locator, not wait_for_function: polling a string predicate needs eval, which the page's CSP forbids
    page.locator("#footer", has_text="model").wait_for(timeout=30_000)


def test_upload_shows_verdict_and_explanations(page, server, sample_images):
    sample = next(p for p in sample_images if p.name == "real_mesonet_00240.jpg")
    open_page(page, server)
    page.set_input_files("#file", str(sample))
    page.wait_for_selector(VERDICT_DONE, timeout=60_000)
    verdict = page.get_attribute("#result", "data-verdict")
    assert verdict in ("real", "fake", "uncertain")
    assert page.locator(".face").count() >= 1
    assert page.locator(".face img.occlusion").first.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("#boxes .box-face").count() >= 1
    assert page.locator("#note").is_visible() == (verdict == "uncertain")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web_upload.png"), full_page=True)


def test_summary_says_what_the_score_is(page, server, sample_images):
    """p_fake is a score read against the uncertain band, not a confidence or a probability."""
    sample = next(p for p in sample_images if p.name == "fake_mesonet_df00204.jpg")
    open_page(page, server)
    page.set_input_files("#file", str(sample))
    page.wait_for_selector(VERDICT_DONE, timeout=60_000)
    text = page.text_content("#summary")
    assert page.get_attribute("#result", "data-verdict") == "fake"
    assert "score p_fake 0." in text and "above the uncertain band" in text and "not a probability" in text
    assert "confidence" not in text and "%" not in text


def test_drop_a_file(page, server, sample_images):
    open_page(page, server)
    data = list(sample_images[0].read_bytes())
    page.evaluate("""([name, bytes]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], name, {type: "image/jpeg"}));
        document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
    }""", [sample_images[0].name, data])
    page.wait_for_selector(VERDICT_DONE, timeout=60_000)
    assert page.get_attribute("#result", "data-verdict") in ("real", "fake", "uncertain", "no_face")


def test_client_side_check_refuses_a_text_file(page, server):
    open_page(page, server)
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/api/detect" in r.url else None)
    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    page.wait_for_selector(VERDICT_DONE)
    assert page.get_attribute("#result", "data-verdict") == "error"
    assert "not a supported image or video" in page.text_content("#summary")
    assert requests == []


def test_server_errors_are_shown(page, server):
    open_page(page, server)
    page.set_input_files("#file", files=[{"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8junk"}])
    page.wait_for_selector(VERDICT_DONE)
    assert page.get_attribute("#result", "data-verdict") == "error"
    assert page.text_content("#summary").strip()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web_error.png"), full_page=True)



def test_upload_a_video_shows_timeline_and_key_frames(page, server, tmp_path):
    clip = write_video(tmp_path / "clip.mp4", face_clip(EXAMPLES / "real_mesonet_00240.jpg", 30), fps=10.0)
    open_page(page, server)
    page.set_input_files("#file", str(clip))
    page.wait_for_selector(VERDICT_DONE, timeout=60_000)
    assert page.get_attribute("#result", "data-verdict") in ("real", "fake", "uncertain")
    assert "6 frames scored over 3.0 s" in page.text_content("#summary")
    assert page.locator("#timeline svg.timeline-plot").is_visible()
    assert page.locator("#timeline .track circle").count() == 6  # 3 s sampled at 2 fps, one face each
    assert page.locator("#timeline .band").count() == 1 and page.locator("#timeline .threshold").count() == 1
    key_frames = page.locator("#key-frames .key-frame")
    assert 1 <= key_frames.count() <= 3 and page.locator("#timeline .key-ring").count() == key_frames.count()
    assert key_frames.first.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    assert "p_fake" in key_frames.first.locator("figcaption").text_content()
    assert page.locator(".face").count() == 0 and not page.locator("#preview-img").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web_video.png"), full_page=True)

    page.set_input_files("#file", str(EXAMPLES / "real_mesonet_00240.jpg"))  # an image after a video
    page.locator(".face").first.wait_for(timeout=60_000)
    assert not page.locator("#timeline").is_visible() and not page.locator("#key-frames").is_visible()
