"""From a key press to the next item on screen, in a real browser, alone and beside 49 others.

    .venv/bin/python bench/labeling_latency.py [--items 3000] [--presses 150] [--repeats 3]
        [--others 49] [--chromium /usr/bin/chromium]

Builds a fresh PostgreSQL database as bench/annotate_speed.py does (``--database-url``, dropped
at the end), serves Demur with gunicorn (DEBUG off, 3 sync workers) and opens the labeling page
in Debian's Chromium (Playwright, headless; never a browser Playwright downloads) as a logged-in
annotator, who then presses number keys. In the page, a keydown listener (capture phase, so it
runs before labeler.js) notes the time of each press and whether an item was already held ahead;
a MutationObserver on ``#current`` notes when the next item's article is in the page, and a
requestAnimationFrame callback after it when the browser is about to paint that frame. Reported
per press: key -> item in the page (DOM) and key -> the frame that shows it.

Scenarios, each on a new campaign (overlap 3), ``--presses`` labels, median of ``--repeats``:
  alone, 0.4 s     one annotator pressing a key every 0.4 s (a fast, keyboard-first annotator)
  alone, at once   the next key as soon as the item shows: faster than anybody reads, so the
                   item held ahead may not be back from the server yet and the press waits
  49 others, ...   the same with ``--others`` annotators labelling about once a second in the
                   background (threads as in annotate_speed.py), the server as busy as at 50

Target (issue 4): the next item appears within 100 ms of the key press.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from annotate_speed import (
    DEFAULT_URL,
    Annotator,
    Plan,
    Server,
    campaign_new,
    data_create,
    database_drop,
    database_recreate,
    django_setup,
    machine,
    percentile,
    session_cookie,
)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Installed in the page once it has loaded (labeler.js is running by then).
PROBE = """() => {
  const probe = { keys: [], held: [], shown: [] };
  window.__latency = probe;
  const current = document.getElementById("current");
  const ahead = document.getElementById("ahead");
  const itemIn = (slot) => slot.querySelector("article.item[data-assignment]");
  let last = itemIn(current)?.dataset.assignment;
  document.addEventListener("keydown", (event) => {
    if (!/^[1-9]$/.test(event.key) || event.repeat) return;
    probe.keys.push(performance.now());
    probe.held.push(itemIn(ahead) !== null);
  }, true);
  new MutationObserver(() => {
    const id = itemIn(current)?.dataset.assignment;
    if (!id || id === last) return;
    last = id;
    const inPage = performance.now();
    requestAnimationFrame(() => probe.shown.push([inPage, performance.now()]));
  }).observe(current, { childList: true, subtree: true });
}"""


@dataclass
class Result:
    dom_p50: float
    dom_p99: float
    frame_p50: float
    frame_p99: float
    not_held: int
    presses: int


def presses_timed(page: Any, presses: int, pace: float) -> Result:
    """Press a label key ``presses`` times, each once the item before it is on screen and
    ``pace`` seconds have passed, and read the probe's times."""
    page.evaluate(PROBE)
    for n in range(presses):
        started = time.perf_counter()
        page.keyboard.press("123"[n % 3])
        page.wait_for_function("n => window.__latency.shown.length >= n", arg=n + 1)
        rest = pace - (time.perf_counter() - started)
        if rest > 0:
            time.sleep(rest)
    probe = page.evaluate("() => window.__latency")
    keys, shown = probe["keys"], probe["shown"]
    dom = [in_page - key for key, (in_page, _) in zip(keys, shown, strict=True)]
    frame = [painted - key for key, (_, painted) in zip(keys, shown, strict=True)]
    return Result(
        dom_p50=percentile(dom, 50),
        dom_p99=percentile(dom, 99),
        frame_p50=percentile(frame, 50),
        frame_p99=percentile(frame, 99),
        not_held=sum(1 for held in probe["held"] if not held),
        presses=len(keys),
    )


def background(server: Server, campaign: Any, sessions: list[str]) -> tuple[Plan, list[Any]]:
    """Other annotators labelling about once a second until the plan is stopped."""
    plan = Plan("paced", 0, seconds=3600)
    people = [Annotator(server.base, campaign.pk, key, seed=n) for n, key in enumerate(sessions)]
    for person in people:
        person.open()
    started = time.perf_counter()
    threads = [threading.Thread(target=p.work, args=(plan, started), daemon=True) for p in people]
    for thread in threads:
        thread.start()
    return plan, threads


def scenario(
    browser: Any,
    server: Server,
    campaign: Any,
    me: str,
    others: list[str],
    presses: int,
    pace: float,
) -> Result:
    plan, threads = background(server, campaign, others) if others else (None, [])
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        context.add_cookies([{"name": "sessionid", "value": me, "url": server.base}])
        page = context.new_page()
        page.goto(f"{server.base}/annotate/{campaign.pk}/")
        page.wait_for_selector("#ahead article.item[data-assignment]", state="attached")
        time.sleep(2 if others else 0)  # the others under way
        return presses_timed(page, presses, pace)
    finally:
        context.close()
        if plan is not None:
            plan.stop.set()
            for thread in threads:
                thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--presses", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--others", type=int, default=49)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    options = parser.parse_args()
    if not Path(options.chromium).exists():
        raise SystemExit(f"No Chromium at {options.chromium} (apt-get install chromium).")
    # Playwright's sync API runs an event loop in this thread; every ORM call here is still
    # synchronous (new campaigns between scenarios), which Django would otherwise refuse.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    database_recreate(options.database_url)
    server: Server | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="labeling_latency_") as folder:
            django_setup(options.database_url, Path(folder))
            run, people, _ = data_create(options.items, options.others + 1)
            print(machine())
            server = Server(Path(folder), 3, 1, urlsplit(options.database_url).path[1:])
            sessions = [session_cookie(person) for person in people]
            print(
                "scenario               presses  held ahead  key->DOM p50  p99   "
                "key->frame p50  p99   (ms, median of runs)"
            )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=options.chromium, args=CHROMIUM_ARGS, headless=True
                )
                # Warm-up, not reported: every worker loads its templates and opens its
                # database connection (the first request to each takes 300 ms or more).
                warm = campaign_new(run, people, "warm-up")
                scenario(browser, server, warm, sessions[0], sessions[1:], 10, 0.2)
                for others in (0, options.others):
                    for pace, name in ((0.4, "0.4 s"), (0.0, "at once")):
                        results = []
                        for n in range(options.repeats):
                            campaign = campaign_new(run, people, f"{others} {name} {n}")
                            results.append(
                                scenario(
                                    browser,
                                    server,
                                    campaign,
                                    sessions[0],
                                    sessions[1 : others + 1],
                                    options.presses,
                                    pace,
                                )
                            )
                        print(
                            report(
                                f"{'alone' if not others else f'{others} others'}, {name}", results
                            )
                        )
                browser.close()
            server.stop()
            server = None
    finally:
        if server is not None:
            server.stop()
        database_drop(options.database_url)


def report(name: str, results: list[Result]) -> str:
    def median(attribute: str) -> float:
        return statistics.median(getattr(result, attribute) for result in results)

    presses = sum(result.presses for result in results)
    held = presses - sum(result.not_held for result in results)
    return (
        f"{name:<22} {presses:>7}  {held:>5}/{presses:<5} {median('dom_p50'):>9.1f} "
        f"{median('dom_p99'):>6.1f}   {median('frame_p50'):>10.1f} {median('frame_p99'):>6.1f}"
        f"   (p99 per run: DOM {'/'.join(f'{r.dom_p99:.0f}' for r in results)}, frame "
        f"{'/'.join(f'{r.frame_p99:.0f}' for r in results)})"
    )


if __name__ == "__main__":
    main()
