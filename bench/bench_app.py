"""Demo latency on this machine, median over 20 calls, with the default model in weights/.

    python bench/bench_app.py [--calls 20] [--model weights]

1. One video from request to returned file through gradio_client (/sample, 1 video).   target < 1 s
2. In headless Chromium: from releasing the interpolation slider (a key press on it) to the new
   step painted on screen (the next animation frame after the view changed).            target < 150 ms
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from apprunner import AppServer  # noqa: E402

WATCH = """() => {
  window.__marks = [];
  const view = document.querySelector('#interp-view');
  const slider = document.activeElement;
  slider.addEventListener('keyup', () => { window.__t0 = performance.now(); }, {capture: true});
  new MutationObserver(() => requestAnimationFrame(() => window.__marks.push(performance.now() - window.__t0)))
    .observe(view, {attributes: true, subtree: true, attributeFilter: ['style']});
}"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--model", default=str(ROOT / "weights"))
    args = parser.parse_args()
    from gradio_client import Client
    from playwright.sync_api import sync_playwright

    with AppServer(args.model) as srv:
        client = Client(srv.url, verbose=False)
        client.predict(num_videos=1, api_name="/sample")  # warm-up
        times = []
        for i in range(args.calls):
            t = time.perf_counter()
            client.predict(seed=i, num_videos=1, api_name="/sample")
            times.append(time.perf_counter() - t)
        print(f"/sample, 1 video, request -> file: median {statistics.median(times) * 1e3:.0f} ms "
              f"(min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}) over {args.calls} calls")

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                              "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page()
            page.goto(srv.url)
            page.get_by_role("tab", name="Interpolate").click()
            page.get_by_label("Steps").and_(page.locator("input[type=number]")).fill("16")
            page.get_by_role("button", name="Interpolate", exact=True).click()
            page.wait_for_function("document.querySelectorAll('#interp-view img.interp-step').length === 16", timeout=120000)
            slider = page.get_by_label("Step along the path (drag: no new generation)").and_(page.locator("input[type=range]"))
            slider.focus()
            page.evaluate(WATCH)
            for i in range(args.calls):
                key = "ArrowRight" if (i // 15) % 2 == 0 else "ArrowLeft"
                slider.press(key)
                page.wait_for_function(f"window.__marks.length >= {i + 1}", timeout=5000)
            marks = page.evaluate("window.__marks")[: args.calls]
            browser.close()
        print(f"slider release -> new step on screen: median {statistics.median(marks):.1f} ms "
              f"(min {min(marks):.1f}, max {max(marks):.1f}) over {len(marks)} moves")


if __name__ == "__main__":
    main()
