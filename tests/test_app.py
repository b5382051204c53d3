"""`python app.py` as visitors and API users meet it: gradio_client and a real headless Chromium."""

import concurrent.futures
import shutil

import av
import pytest
from apprunner import ROOT, AppServer
from PIL import Image

from hrvgan import HRVGAN, ModelConfig

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    HRVGAN(ModelConfig.from_preset("tiny", class_names=["bend", "jumping jack", "wave"], context_frames=4)).save_pretrained(
        root / "actions")
    HRVGAN(ModelConfig.from_preset("tiny")).save_pretrained(root / "golf")
    return root


@pytest.fixture(scope="module")
def server(model_dirs):
    with AppServer(str(model_dirs / "actions")) as srv:
        yield srv
    # A visitor's bad input is one log line, never a traceback; any traceback is a crash.
    assert "Traceback" not in srv.output, srv.output[-3000:]
    assert srv.output.count("bad request to") >= len(BAD_REQUESTS), srv.output[-3000:]


@pytest.fixture
def client(server):
    from gradio_client import Client
    return Client(server.url, verbose=False)


def check_mp4(path, frames=None):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.pix_fmt) == ("h264", "yuv420p")
        if frames:
            assert s.frames == frames


def check_png(path):
    with Image.open(path) as im:
        assert im.format == "PNG"


def video_path(video):
    return video["video"] if isinstance(video, dict) else video


def test_sample_api_with_no_arguments(client):
    video, grid, files = client.predict(api_name="/sample")
    check_mp4(video_path(video), frames=8)
    check_png(grid)
    assert [f.rsplit(".", 1)[1] for f in files] == ["mp4", "png"]


def test_predict_api_with_no_arguments_and_with_an_upload(client):
    from gradio_client import handle_file

    video, grid, files = client.predict(api_name="/predict")          # the first shipped held-out clip
    check_mp4(video_path(video), frames=8)
    with Image.open(grid) as im:
        assert im.size[1] == 3 * 34 + 2                               # rows: context, prediction, real
    clip = sorted((ROOT / "examples" / "clips").glob("*.mp4"))[0]
    a = client.predict(upload=handle_file(str(clip)), seed=1, api_name="/predict")[1]
    b = client.predict(upload=handle_file(str(clip)), seed=2, api_name="/predict")[1]
    assert open(a, "rb").read() != open(b, "rb").read()              # a seed changes the prediction


def test_predict_api_rejects_a_file_that_is_no_video(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    junk = tmp_path / "clip.mp4"
    junk.write_bytes(b"no video here" * 50)
    with pytest.raises(AppError, match="The upload is not a readable video"):
        client.predict(upload=handle_file(str(junk)), api_name="/predict")


def test_sample_api_with_arguments(client):
    video, grid, _ = client.predict(model_name="actions", class_name="jumping jack", seed=11, num_videos=2,
                                    truncation=0.7, fps=12, api_name="/sample")
    check_png(grid)


def test_sample_api_makes_long_videos(client):
    video, grid, _ = client.predict(class_name="bend", seed=5, num_videos=1, num_frames=20, api_name="/sample")
    check_mp4(video_path(video), frames=20)             # loop: the generator alone, in one pass
    check_png(grid)
    video, grid, _ = client.predict(class_name="bend", seed=5, num_videos=1, num_frames=20, extend="predict",
                                    api_name="/sample")
    check_mp4(video_path(video), frames=20)             # 8 generated, then continued 4 frames at a time
    check_png(grid)


def test_interpolate_api(client):
    walk, grid, html, slider = client.predict(seed_a=3, seed_b=4, steps=5, api_name="/interpolate")
    check_mp4(video_path(walk), frames=5 * 8)
    check_png(grid)
    assert 'data-steps="5"' in html and html.count('class="scrub"') == 1


BAD_REQUESTS = [
    (dict(seed=-4, api_name="/sample"), "seed must be a whole number from 0 to 2147483647, got -4"),
    (dict(seed=3.7, api_name="/sample"), "got 3.7"),
    (dict(seed="abc", api_name="/sample"), "got 'abc'"),
    (dict(seed=None, api_name="/sample"), "got None"),
    (dict(truncation=None, api_name="/sample"), "truncation must be a number"),
    (dict(num_frames=4, api_name="/sample"), "num_frames must be a whole number from 8 to 1024, got 4"),
    (dict(num_frames=200, num_videos=1, api_name="/sample"), "num_frames must be at most 128 here"),
    (dict(num_frames=24, extend="tile", api_name="/sample"), "extend must be one of loop, predict"),
    (dict(seed_a="x", api_name="/interpolate"), "seed A must be a whole number"),
    (dict(mode="zigzag", api_name="/interpolate"), "mode must be one of slerp, lerp"),
    (dict(seed=99999999999999, api_name="/predict"), "seed must be a whole number from 0 to 2147483647"),
]


@pytest.mark.parametrize("kwargs, match", BAD_REQUESTS)
def test_bad_input_is_a_message_not_a_traceback(client, kwargs, match):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=match) as e:
        client.predict(**kwargs)
    assert "Traceback" not in str(e.value) and "/tmp" not in str(e.value)


def test_twenty_concurrent_clients(server):
    from gradio_client import Client

    def one(i):
        video, grid, _ = Client(server.url, verbose=False).predict(seed=i, num_videos=1, api_name="/sample")
        check_png(grid)
        return i

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        done = list(pool.map(one, range(20), timeout=240))
    assert done == list(range(20))


def test_unconditional_and_several_models(model_dirs):
    from gradio_client import Client

    with AppServer(f"{model_dirs / 'actions'},{model_dirs / 'golf'}") as srv:
        c = Client(srv.url, verbose=False)
        video, grid, _ = c.predict(model_name="golf", class_name=None, api_name="/sample")
        check_png(grid)
        walk, grid, html, _ = c.predict(model_name="golf", class_a=None, class_b=None, steps=3, api_name="/interpolate")
        assert 'data-steps="3"' in html

    # An unconditional model alone: every API input has a default.
    with AppServer(str(model_dirs / "golf")) as srv:
        c = Client(srv.url, verbose=False)
        check_png(c.predict(api_name="/sample")[1])
        walk, grid, html, _ = c.predict(api_name="/interpolate")
        check_mp4(video_path(walk), frames=8 * 8)
        from gradio_client.exceptions import AppError
        with pytest.raises(AppError, match="only generates"):
            c.predict(api_name="/predict")


def test_default_weights_serve(tmp_path):
    if not (ROOT / "weights" / "model.safetensors").exists():
        pytest.fail("weights/ has no model.safetensors: the default model must ship with the repo")
    from gradio_client import Client

    with AppServer(None, env={"HRVGAN_MODEL": ""}) as srv:
        client = Client(srv.url, verbose=False)
        _, grid, _ = client.predict(api_name="/sample")
        check_png(grid)
        video, grid, _ = client.predict(api_name="/predict")     # the shipped prediction model, a shipped clip
        check_mp4(video_path(video), frames=16)
        with Image.open(grid) as im:
            assert im.size == (8 * 66 + 2, 3 * 66 + 2)            # context, prediction, real: 8 frames of 64x64


def test_missing_model_folder_fails_at_start_with_a_message(tmp_path):
    with pytest.raises(RuntimeError, match="no such model folder"):
        with AppServer(str(tmp_path / "nope")):
            pass


@pytest.mark.browser
def test_browser_generate_and_scrub(server):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url)
        page.get_by_role("button", name="Generate").click()
        page.wait_for_selector("video[src]", timeout=60000)
        assert page.locator("img[src*='grid.png']").count() >= 1

        # Files come at 1x and the browser enlarges them without smoothing: crisp pixels.
        rendering = "(sel) => getComputedStyle(document.querySelector(sel)).imageRendering"
        assert page.evaluate(rendering, "#sample-video video") == "pixelated"
        assert page.evaluate(rendering, "#sample-grid img") == "pixelated"
        shown = page.evaluate("() => document.querySelector('#sample-video video').getBoundingClientRect().width")
        assert shown >= 2 * page.evaluate("() => document.querySelector('#sample-video video').videoWidth")
        # Downloads: the mp4 and the png, as links.
        assert page.locator("a[download][href*='samples.mp4']").count() >= 1
        assert page.locator("a[download][href*='grid.png']").count() >= 1

        page.get_by_role("tab", name="Interpolate").click()
        page.get_by_role("button", name="Interpolate", exact=True).click()
        page.wait_for_function("document.querySelector('#interp-view .scrub') !== null", timeout=60000)
        row = "() => getComputedStyle(document.querySelector('#interp-view .scrub')).getPropertyValue('--row').trim()"
        position = "() => getComputedStyle(document.querySelector('#interp-view .scrub')).backgroundPositionY"
        assert page.evaluate(row) == "0"
        first = page.evaluate(position)
        assert page.evaluate(rendering, "#interp-view .scrub") == "pixelated"
        slider = page.get_by_label("Step along the path (drag: no new generation)").and_(page.locator("input[type=range]"))
        requests = []
        page.on("request", lambda r: requests.append(r.url) if "/queue/join" in r.url else None)
        slider.focus()
        for _ in range(3):
            slider.press("ArrowRight")
        page.wait_for_function(f"({row})() === '3'", timeout=5000)
        assert page.evaluate(position) != first       # the view moved to another row of the sheet
        assert requests == []                         # and no new generation was asked of the server

        page.get_by_role("tab", name="Predict").click()
        page.get_by_role("button", name="Predict", exact=True).click()
        page.wait_for_selector("#predict-video video[src]", timeout=60000)
        assert page.locator("#predict-grid img[src*='prediction.png']").count() == 1
        assert page.evaluate(rendering, "#predict-video video") == "pixelated"
        assert errors == []
        browser.close()
