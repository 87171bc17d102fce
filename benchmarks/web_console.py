"""The web console's speed against the issue's aims, measured in Debian's chromium
(Playwright, no browser download) on a real API process with the embedded defaults
(`vap serve`: SQLite, local storage, local runner) serving the current build at /.

Each figure stands beside a baseline measured in the same run:
- initial JavaScript (gzipped, what index.html loads and preloads) against its 200 KB
  budget; the JavaScript the training screen fetches for itself against what the
  sign-in page fetches for itself (each screen loads its own code);
- the training screen interactive (its h1, the followed event stream, the charts of
  every epoch drawn, the event log filled), in milliseconds from navigation start, read
  in the page (performance.now() on the first animation frame where it holds), against
  a bare static page served by the same API and the console's smallest page (sign-in);
  a fresh browser context per run, so nothing is cached; median of --runs;
- a chart's redraw after its event: a real training run (resnet18 from scratch, digits
  at 32 px, --epochs epochs), the page open before it starts; for each epoch the time
  from the `job-event:received` mark (web/src/api/events.ts, as the SSE message
  arrives) to the first `chart:drawn` mark of the Loss chart holding that epoch
  (uPlot's draw hook, web/src/components/LineChart.tsx), written back to the page as a
  performance.measure; against the browser's own frame interval;
- the gallery of a 2,000-image dataset (real photo crops, as benchmarks/dataset_ingest.py
  makes them) scrolled from top to bottom with the mouse wheel: the most thumbnails in
  the page and loaded at once against the dataset's size, the images reached, and the
  long tasks (over 50 ms, PerformanceObserver 'longtask', buffered) during the scroll.

Run (about 3 minutes; the API on a free loopback port, data in a temporary folder):
    python benchmarks/web_console.py [--runs 5] [--epochs 4] [--images 2000]
        [--only gallery|screens]   (one part only: the gallery's rows, or all but them)
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.dataset_ingest import build_archive, free_port  # noqa: E402
from tests.digits import digits_imagefolder_zip  # noqa: E402

CHROMIUM = os.environ.get("VAP_CHROMIUM", "/usr/bin/chromium")
DIST = ROOT / "web" / "dist"
TOKEN_KEY = "vap.accessToken"  # where the console keeps its login (web/src/api/session.ts)
WHEEL_NOTCH = 100  # px, as one notch of a mouse wheel scrolls in chromium
BARE = "<!doctype html><title>bare</title><h1>Bare page</h1>"
TRAINING = {
    "framework": "timm", "model_name": "resnet18", "name": "bench resnet18",
    "config": {"batch_size": 32, "image_size": 32, "learning_rate": 0.001,
               "augmentation": "none", "pretrained": False},
}  # fmt: skip

# The page is ready on the first animation frame where this holds: it answers
# performance.now() then (milliseconds since navigation started), else false.
READY = """({h1, input, stream, chart, log}) => {
    const heading = document.querySelector('h1');
    if (!heading || heading.textContent.trim() !== h1) return false;
    const text = document.body.innerText;
    if (stream && !text.includes('Event stream: ' + stream)) return false;
    if (chart && !document.querySelector(`[role=img][aria-label^="${chart}"] canvas`)) return false;
    if (log && !document.querySelector('[aria-label=Events] li')) return false;
    if (input && !document.querySelector('input:not([disabled])')) return false;
    return performance.now();
}"""

# Per epoch: the arrival of its validation event to the first draw of the Loss chart
# that holds it; each written back as a performance.measure.
REDRAWS = """(validations) => {
    const arrived = performance.getEntriesByName('job-event:received');
    const drawn = performance.getEntriesByName('chart:drawn')
        .filter((m) => m.detail.title === 'Loss');
    const out = [];
    for (const {seq, epoch} of validations) {
        const start = arrived.find((m) => m.detail.seq === seq);
        if (!start) continue;  // read as JSON while catching up, not streamed
        const end = drawn.find((m) => m.startTime >= start.startTime && m.detail.last >= epoch);
        if (!end) continue;
        const span = {start: start.startTime, end: end.startTime};
        performance.measure(`chart-redraw:epoch ${epoch}`, span);
        out.push({epoch, ms: end.startTime - start.startTime});
    }
    return out;
}"""

FRAME_INTERVAL = """() => new Promise((resolve) => {
    const times = [];
    const tick = (t) => {
        times.push(t);
        if (times.length < 61) requestAnimationFrame(tick);
        else resolve(times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b)[30]);
    };
    requestAnimationFrame(tick);
})"""

# From the start of the scroll, on every frame: the thumbnails in the page and those
# loaded, every image reached; and the long tasks from then on.
SAMPLE_GALLERY = """() => {
    const stats = {maxInPage: 0, maxLoaded: 0, seen: new Set(), frames: 0, longtasks: [],
                   started: performance.now(), done: false};
    window.__gallery = stats;
    new PerformanceObserver((list) => {
        for (const e of list.getEntries())
            if (e.startTime >= stats.started) stats.longtasks.push(e.duration);
    }).observe({type: 'longtask', buffered: true});
    const sample = () => {
        const images = document.querySelectorAll('[role=list][aria-label=Images] img');
        let loaded = 0;
        for (const img of images) {
            stats.seen.add(img.alt);
            if (img.complete && img.naturalWidth > 0) loaded += 1;
        }
        stats.maxInPage = Math.max(stats.maxInPage, images.length);
        stats.maxLoaded = Math.max(stats.maxLoaded, loaded);
        stats.frames += 1;
        if (!stats.done) requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
}"""

AT_THE_END = """() => [scrollY, document.documentElement.scrollHeight - innerHeight]"""

GALLERY_RESULT = """async () => {
    const stats = window.__gallery;
    stats.done = true;
    await new Promise((r) => setTimeout(r, 200));  // the observer's last entries
    return {maxInPage: stats.maxInPage, maxLoaded: stats.maxLoaded, seen: stats.seen.size,
            frames: stats.frames, longtasks: stats.longtasks,
            seconds: (performance.now() - stats.started) / 1000};
}"""


def build_console() -> float:
    """Build web/dist from the current sources; the initial JavaScript, KB gzipped."""
    env = {**os.environ, "VAP_PYTHON": sys.executable}
    subprocess.run([str(ROOT / "scripts" / "build_web.sh")], env=env, check=True)
    out = subprocess.run(
        ["node", "scripts/bundle-size.mjs", "dist"],
        cwd=ROOT / "web", capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(re.search(r"([\d.]+) KB gzipped", out.stdout).group(1))  # type: ignore[union-attr]


def gzipped_kb(console: Path, urls: set[str]) -> float:
    """The gzipped size of the build's files these URLs name."""
    total = 0
    for url in urls:
        path = console / url.split("://", 1)[-1].split("/", 1)[-1].split("?")[0]
        total += len(gzip.compress(path.read_bytes(), compresslevel=9))
    return total / 1024


@contextmanager
def api_process(work: Path, console: Path) -> Iterator[str]:
    """`vap serve` on the embedded defaults, serving `console`; its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATA_DIR": str(work / "data"), "API_BASE_URL": base,
           "WEB_CONSOLE_DIR": str(console), "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING",
           "VAP_CACHE_DIR": str(work)}  # fmt: skip
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env, cwd=work,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the API did not start")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def account(base: str) -> tuple[httpx.Client, str]:
    login = {"email": "bench@example.com", "password": "benchmark password"}
    client = httpx.Client(base_url=base, timeout=600)
    client.post("/api/v1/auth/register", json=login)
    r = client.post("/api/v1/auth/login", data={"username": login["email"],
                    "password": login["password"]})  # fmt: skip
    token = r.json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client, token


def upload(client: httpx.Client, name: str, archive: bytes) -> dict:
    files = [("files", (f"{name}.zip", archive, "application/zip"))]
    r = client.post("/api/v1/datasets", data={"name": name}, files=files)
    assert r.status_code == 201 and r.json()["status"] == "ready", r.text
    return r.json()  # type: ignore[no-any-return]


def new_page(browser: Any, token: str | None, width: int = 1280, height: int = 800) -> Any:
    """A page in a fresh context (nothing cached), signed in when given a token."""
    context = browser.new_context(viewport={"width": width, "height": height})
    if token:
        context.add_init_script(f"localStorage.setItem({TOKEN_KEY!r}, {json.dumps(token)})")
    return context.new_page()


def time_to_ready(browser: Any, url: str, token: str | None, ready: dict) -> tuple[float, set]:
    """Milliseconds from navigation start until `ready` holds; the scripts it fetched."""
    page = new_page(browser, token)
    scripts: set[str] = set()
    page.on("response", lambda r: scripts.add(r.url) if r.url.endswith(".js") else None)
    page.goto(url, wait_until="commit")
    ms = page.wait_for_function(READY, arg=ready, polling="raf", timeout=60_000).json_value()
    page.context.close()
    return float(ms), scripts


def follow_training(browser: Any, base: str, client: httpx.Client, token: str,
                    dataset_id: str, epochs: int) -> tuple[dict, list[float], float]:  # fmt: skip
    """A training run followed live from a page opened before it starts: the finished
    job, each epoch's chart redraw in ms, and the page's frame interval in ms."""
    body = {**TRAINING, "config": {**TRAINING["config"], "epochs": epochs}}
    job = client.post("/api/v1/training/jobs",
                      json={**body, "dataset_id": dataset_id, "start": False}).json()  # fmt: skip
    page = new_page(browser, token)
    page.goto(f"{base}/training/{job['id']}")
    page.wait_for_function(READY, arg={"h1": TRAINING["name"], "stream": "Live"}, timeout=60_000)
    frame = float(page.evaluate(FRAME_INTERVAL))
    client.post(f"/api/v1/training/jobs/{job['id']}/start").raise_for_status()
    page.wait_for_function(
        READY, arg={"h1": TRAINING["name"], "stream": "Ended"}, polling=500, timeout=1_200_000
    )
    job = client.get(f"/api/v1/training/jobs/{job['id']}").json()
    assert job["status"] == "completed", job.get("error_message")
    events = client.get(f"/api/v1/jobs/{job['id']}/events", params={"after": 0}).json()["events"]
    validations = [{"seq": e["seq"], "epoch": e["data"]["epoch"]}
                   for e in events if e["type"] == "validation"]  # fmt: skip
    redraws = page.evaluate(REDRAWS, validations)
    page.context.close()
    return job, [r["ms"] for r in redraws], frame


def scroll_gallery(browser: Any, base: str, token: str, dataset: dict) -> dict:
    page = new_page(browser, token)
    page.goto(f"{base}/datasets/{dataset['id']}")
    page.wait_for_function(READY, arg={"h1": dataset["name"]}, timeout=60_000)
    page.get_by_role("list", name="Images").get_by_role("img").first.wait_for()
    page.get_by_role("heading", name="Images").scroll_into_view_if_needed()
    page.mouse.move(640, 400)
    page.evaluate(SAMPLE_GALLERY)
    # The reader's wheel, a notch at a time, until the end stops moving away.
    still_since = None
    while True:
        page.mouse.wheel(0, WHEEL_NOTCH)
        page.wait_for_timeout(16)  # about a frame between notches, as a hand would
        y, end = page.evaluate(AT_THE_END)
        if y < end - 1:
            still_since = None
        elif still_since is None:
            still_since = time.monotonic()
        elif time.monotonic() - still_since > 2:  # no next page came: the end
            break
    result: dict = page.evaluate(GALLERY_RESULT)
    page.context.close()
    return result


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument(
        "--only",
        choices=["gallery", "screens"],
        help="measure one part: the gallery's scroll, or the rest",
    )
    args = parser.parse_args()
    gallery_part = args.only in (None, "gallery")
    screens_part = args.only in (None, "screens")
    from playwright.sync_api import sync_playwright

    initial_kb = build_console()
    with tempfile.TemporaryDirectory(prefix="vap-bench-web-") as tmp:
        work = Path(tmp)
        console = work / "console"
        shutil.copytree(DIST, console)
        (console / "bare.html").write_text(BARE)
        big = work / "big.zip"
        if gallery_part:
            build_archive(big, args.images)
        with api_process(work, console) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            client, token = account(base)
            if screens_part:
                digits = upload(client, "digits", digits_imagefolder_zip(per_class=20, size=32))
                job, redraws, frame = follow_training(
                    browser, base, client, token, digits["id"], args.epochs
                )
            else:  # the gallery's baseline is still the browser's frame interval
                page = new_page(browser, None)
                page.goto(f"{base}/bare.html")
                frame, redraws = float(page.evaluate(FRAME_INTERVAL)), []
                page.context.close()
            if gallery_part:
                gallery_set = upload(client, "photos", big.read_bytes())
                assert gallery_set["num_images"] == args.images, gallery_set
            scrolls = []

            screens = {} if not screens_part else {
                "bare static page": (f"{base}/bare.html", None, {"h1": "Bare page"}),
                "sign-in page": (f"{base}/sign-in", None, {"h1": "Sign in", "input": True}),
                "training screen": (f"{base}/training/{job['id']}", token, {
                    "h1": TRAINING["name"], "stream": "Ended", "log": True,
                    "chart": f"Loss: {args.epochs} epochs"}),
            }  # fmt: skip
            times: dict[str, list[float]] = {name: [] for name in screens}
            scripts: dict[str, set[str]] = {}
            for _ in range(args.runs):  # interleaved, so drift on a busy machine hits all
                for name, (url, tok, ready) in screens.items():
                    ms, fetched = time_to_ready(browser, url, tok, ready)
                    times[name].append(ms)
                    scripts[name] = fetched
            if gallery_part:
                scrolls = [
                    scroll_gallery(browser, base, token, gallery_set) for _ in range(args.runs)
                ]
            browser.close()

    rows: list[tuple] = []
    title = f"\nweb console, chromium {CHROMIUM}, {args.runs} runs (medians)"
    if screens_part:
        # What both screens fetch is the shell; the rest each fetched for itself.
        shell = scripts["sign-in page"] & scripts["training screen"]
        own_training = gzipped_kb(DIST, scripts["training screen"] - shell)
        own_sign_in = gzipped_kb(DIST, scripts["sign-in page"] - shell)
        t = {name: statistics.median(v) for name, v in times.items()}
        bare = t["bare static page"]
        redraw = statistics.median(redraws) if redraws else float("nan")
        rows += [
            ("initial JS, KB gzipped", f"{initial_kb:.1f}", "budget 200", ratio(initial_kb, 200),
             "<= 200", initial_kb <= 200),
            ("training screen's own JS, KB gz", f"{own_training:.1f}",
             f"sign-in's own {own_sign_in:.1f}", ratio(own_training, own_sign_in), "lazy",
             bool(scripts["training screen"] - shell)),
            ("training screen interactive, ms", f"{t['training screen']:.0f}",
             f"bare page {bare:.0f}", ratio(t["training screen"], bare),
             "<= 1500", t["training screen"] <= 1500),
            ("  (sign-in page interactive, ms)", f"{t['sign-in page']:.0f}",
             f"bare page {bare:.0f}", ratio(t["sign-in page"], bare),
             "", True),
            ("chart redraw after its event, ms", f"{redraw:.1f}", f"frame {frame:.1f}",
             ratio(redraw, frame), "<= 100", redraw <= 100),
            ("  (slowest redraw, ms)", f"{max(redraws, default=float('nan')):.1f}",
             f"frame {frame:.1f}", ratio(max(redraws, default=0), frame), "", True),
        ]  # fmt: skip
        title += (f"; chart: resnet18 on 200 digits at 32 px, {args.epochs} epochs, "
                  f"{len(redraws)} redraws")  # fmt: skip
    if gallery_part:
        in_page = max(s["maxInPage"] for s in scrolls)
        loaded = max(s["maxLoaded"] for s in scrolls)
        reached = statistics.median(s["seen"] for s in scrolls)
        longtasks = [d for s in scrolls for d in s["longtasks"]]
        rows += [
            ("gallery thumbnails in page, most", f"{in_page}", f"dataset {args.images}",
             ratio(in_page, args.images), "<= ~60", in_page <= 64),
            ("gallery thumbnails loaded, most", f"{loaded}", f"dataset {args.images}",
             ratio(loaded, args.images), "<= ~60", loaded <= 64),
            ("gallery images reached by scrolling", f"{reached:.0f}", f"dataset {args.images}",
             ratio(reached, args.images), "all", reached == args.images),
            ("long tasks > 50 ms while scrolling", f"{len(longtasks)}",
             f"{sum(s['frames'] for s in scrolls)} frames", "-", "0", not longtasks),
            ("  (longest task while scrolling, ms)", f"{max(longtasks, default=0):.0f}",
             f"frame {frame:.1f}", ratio(max(longtasks, default=0), frame), "<= 50",
             max(longtasks, default=0) <= 50),
        ]  # fmt: skip
        title += (
            f"; gallery: {args.images} images, "
            f"{statistics.median(s['seconds'] for s in scrolls):.1f} s a scroll"
        )
    print(title)
    header = ("figure", "measured", "baseline", "ratio", "aim", "meets")
    widths = (36, 9, 22, 6, 8, 5)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        cells = [*row[:5], "yes" if row[5] else "NO"] if row[4] else [*row[:5], ""]
        print("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)))


if __name__ == "__main__":
    main()
