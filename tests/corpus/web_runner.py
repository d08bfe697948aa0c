"""Run the docassemble behave scenarios through the real wizard in Chromium.

docassemble's suite runs these `.feature` files with behave + Selenium against a live server;
this runner does the same against `accord serve`: the scenario's interview is published to
the demo firm (the server is started on the corpus folder, see `corpus_server`), and every
step acts on the page the way a person would, through Playwright:

- "I set X to Y" finds the input by its label (`get_by_label`) and types Y;
- "I click the option/the X option [under Y]" clicks the radio or checkbox labelled X (inside
  the group whose legend is Y);
- "I click the button X" clicks the button whose accessible name is X and waits for the next page;
- "I should (not) see the phrase X" reads the visible text of `<main>` (`inner_text`), so
  fields hidden by `show if` and closed popovers do not count;
- "I click the link X" clicks a link (or a link-like control: a glossary term, a "Preview"
  summary), "I unfocus" clicks an empty spot of the page, "I click the back button" clicks Back,
  "I click inside the signature area" draws a stroke on the page's canvas (none yet: fails).

Nothing here reads the database or the engine: what a step checks is what the page shows.
Phrases are compared after collapsing white space, like the engine runner (`harness`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from browsing import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Response, sync_playwright
from server import LiveServer
from steps import CORPUS, Scenario, StepFailed, collapse, resolve_interview, run_steps

# How long an expectation may take to come true (a `show if` toggled by a script, a popover).
SETTLE_S = 2.0
TEXT_INPUTS = ("text", "email", "number", "tel", "url", "password", "search", "date", "time", "datetime-local")


@contextmanager
def corpus_server(data_dir: Path, tier: str = "core") -> Iterator[LiveServer]:
    """`accord serve` whose demo firm has every interview of the corpus tier, each at `/i/{name}`.

    `accord serve` seeds the firm from `ACCORD_INTERVIEWS_DIR`; the corpus folder is used as is
    (its `templates/` sits beside it, where the engine looks for attachment templates)."""
    with LiveServer(data_dir, env={"ACCORD_INTERVIEWS_DIR": str(CORPUS / tier)}) as server:
        yield server


def unpublished(server: LiveServer, path: Path) -> str | None:
    """None if the server publishes `path`, else what its log says about the file."""
    lines = [line for line in server.log.read_text(encoding="utf-8").splitlines()
             if "interview not published" in line and path.name in line]
    return lines[-1] if lines else None


class WebPage:
    """One tab on the wizard: every step method acts on, or reads, the real page."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.trace: list[str] = []
        self.status = 0  # of the last page or htmx answer from the server
        page.on("response", self._on_response)

    # -- opening and moving -----------------------------------------------------------------

    @classmethod
    def start(cls, context: BrowserContext, base_url: str, ref: str) -> WebPage:
        name = resolve_interview(ref).stem
        web = cls(context.new_page(), base_url)
        response = web.page.goto(f"{base_url}/i/{name}")
        web._arrived(response.status if response is not None else 0)
        return web

    @property
    def main(self) -> Locator:
        return self.page.locator("main")

    def _arrived(self, status: int) -> None:
        title = collapse(self.page.evaluate("() => document.querySelector('main h1')?.innerText ?? ''"))
        self.trace.append(f"[{status}] {self.page.url.removeprefix(self.base_url)} {title[:80]!r}")
        if status >= 500 or status in (403, 404):
            raise StepFailed(f"the server answered {status}: {self.text()[:400]!r}")

    def _submit(self, control: Locator, what: str) -> None:
        """Click a control that sends the form (or follows a link) and wait for the next screen:
        a new page (JavaScript off, links) or htmx's swap of <main> (wizard.js counts the swaps
        in body[data-swaps])."""
        self.trace.append(f"  click {what}")
        before = self.page.evaluate(
            "() => [window.__step = (window.__step || 0) + 1, Number(document.body.dataset.swaps || 0)]")
        control.click()
        self.page.wait_for_function(
            "([step, swaps]) => window.__step !== step || Number(document.body?.dataset.swaps || 0) > swaps",
            arg=before)
        self.page.wait_for_load_state()
        self._arrived(self.status)

    def _on_response(self, response: Response) -> None:
        if response.request.resource_type in ("document", "xhr", "fetch") and response.url.startswith(self.base_url):
            self.status = response.status

    # -- reading ----------------------------------------------------------------------------

    def text(self) -> str:
        return collapse(self.main.inner_text())

    def _until(self, holds: bool, phrase: str) -> bool:
        deadline = time.monotonic() + SETTLE_S
        while True:
            if (collapse(phrase) in self.text()) == holds:
                return True
            if time.monotonic() > deadline:
                return False
            self.page.wait_for_timeout(50)

    def see(self, phrase: str) -> None:
        if not self._until(True, phrase):
            raise StepFailed(f"expected to see {phrase!r}; page shows: {self.text()[:600]!r}")

    def not_see(self, phrase: str) -> None:
        if not self._until(False, phrase):
            raise StepFailed(f"expected not to see {phrase!r}; page shows: {self.text()[:600]!r}")

    def trace_lines(self) -> list[str]:
        return self.trace

    # -- finding controls as a person would: by their visible label ---------------------------

    @staticmethod
    def _first_visible(loc: Locator) -> Locator | None:
        shown = loc.filter(visible=True)
        return shown.first if shown.count() else None

    @staticmethod
    def _visible(loc: Locator) -> list[Locator]:
        return loc.filter(visible=True).all()

    def _labelled(self, scope: Locator, label: str, *, groups: bool = False) -> Locator | None:
        """The visible control (or fieldset, with `groups`) named `label`: the exact name first,
        then a name that starts with it (`Fruit (optional)`), then one that contains it."""
        label = collapse(label)
        starts = re.compile(r"^\s*" + re.escape(label) + r"(\W|$)", re.IGNORECASE)
        finders = [lambda: scope.get_by_label(label, exact=True), lambda: scope.get_by_label(starts)]
        if groups:
            finders = [lambda: scope.get_by_role("group", name=label, exact=True),
                       lambda: scope.get_by_role("group", name=starts)] + finders
        finders.append(lambda: scope.get_by_label(label))
        for find in finders:
            hit = self._first_visible(find())
            if hit is not None:
                return hit
        return None

    def _control(self, label: str) -> Locator:
        found = self._labelled(self.main, label)
        if found is None:
            names = [collapse(x.inner_text()) for x in self._visible(self.main.locator("label, legend"))]
            raise StepFailed(f"no visible field labelled {label!r}; labels: {names}")
        return found

    @staticmethod
    def _kind(control: Locator) -> str:
        return str(control.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')"))

    # -- acting -----------------------------------------------------------------------------

    def set_field(self, label: str, value: str) -> None:
        control = self._control(label)
        kind = self._kind(control)
        self.trace.append(f"  set {label!r} ({kind})")
        if kind.startswith("select"):
            control.select_option(label=value)
        elif kind in ("input:radio", "input:checkbox"):
            raise StepFailed(f"{label!r} is a {kind.split(':')[1]}, not a box to type in")
        elif kind == "input:date":
            control.fill(_iso_date(value))  # what the date picker holds once the user typed the date
        else:
            control.fill(value)

    def set_text_box(self, value: str) -> None:
        selector = ", ".join(["textarea", "input:not([type])", *(f"input[type={t}]" for t in TEXT_INPUTS)])
        boxes = self.main.locator(selector).filter(visible=True)
        found = boxes.count()
        if found != 1:
            raise StepFailed(f"expected exactly one text box, found {found}")
        self.trace.append("  set the text box")
        boxes.first.fill(value)

    def select(self, option: str, label: str) -> None:
        control = self._control(label)
        if not self._kind(control).startswith("select"):
            raise StepFailed(f"{label!r} is not a drop-down list")
        self.trace.append(f"  select {option!r} in {label!r}")
        control.select_option(label=option)

    def click_option(self, option: str, under: str | None = None) -> None:
        scope = self.main
        if under is not None:
            group = self._labelled(self.main, under, groups=True)
            if group is None:
                raise StepFailed(f"no visible group of options labelled {under!r}")
            if self._kind(group) == "input:checkbox":  # a lone yes/no checkbox named by `under`
                group.click()
                return
            scope = group
        hit = self._first_visible(scope.get_by_label(collapse(option), exact=True))
        if hit is None:
            where = f" under {under!r}" if under else ""
            raise StepFailed(f"no visible option {option!r}{where}")
        self.trace.append(f"  tick {option!r}" + (f" under {under!r}" if under else ""))
        hit.click()

    def click_button(self, label: str) -> None:
        name = collapse(label)
        ci = re.compile(r"^\s*" + re.escape(name) + r"\s*$", re.IGNORECASE)
        for find in (lambda: self.main.get_by_role("button", name=name, exact=True),
                     lambda: self.main.get_by_role("button", name=ci),
                     lambda: self.main.locator("a.button").filter(has_text=ci)):
            hit = self._first_visible(find())
            if hit is not None:
                self._submit(hit, repr(name))
                return
        buttons = [collapse(b.inner_text()) for b in self._visible(self.main.get_by_role("button"))]
        raise StepFailed(f"no button {name!r}; buttons: {buttons}")

    def click_link(self, label: str) -> None:
        name = re.compile(r"^\s*" + re.escape(collapse(label)) + r"\s*$")
        # links, and controls drawn as links: a glossary term, a Preview summary, a review item's edit button
        hit = self._first_visible(
            self.main.locator("a, summary, button[type=button], button.link").filter(has_text=name))
        if hit is None:
            raise StepFailed(f"no link {label!r} on the page")
        navigates = hit.evaluate("e => e.type === 'submit' || !!(e.href && !e.getAttribute('href').startsWith('#'))")
        if navigates:
            self._submit(hit, f"link {label!r}")
            return
        self.trace.append(f"  click link {label!r}")
        hit.click()

    def unfocus(self) -> None:
        """Click an empty spot (the page header's top-left corner): the field loses focus,
        popovers close, and no control (a glossary term in the heading...) is hit."""
        self.trace.append("  unfocus")
        self.page.mouse.click(2, 2)

    def wait(self, seconds: str) -> None:
        """docassemble's steps wait for its animations; expectations here poll for SETTLE_S
        instead, so only let pending events run."""
        self.page.wait_for_timeout(50)

    def sign(self) -> None:
        """Draw a stroke inside the page's signature area (a canvas), as a finger or mouse would."""
        pad = self._first_visible(self.main.locator("canvas"))
        box = pad.bounding_box() if pad is not None else None
        if box is None:
            raise StepFailed("no signature area (a canvas) on the page")
        self.trace.append("  sign")
        x, y, w, h = box["x"], box["y"], box["width"], box["height"]
        self.page.mouse.move(x + w * 0.2, y + h * 0.6)
        self.page.mouse.down()
        for n in range(1, 6):
            self.page.mouse.move(x + w * (0.2 + 0.12 * n), y + h * (0.6 - 0.2 * (n % 2)))
        self.page.mouse.up()

    def back(self) -> None:
        hit = self._first_visible(self.main.get_by_role("button", name="Back", exact=True))
        if hit is None:
            raise StepFailed("no Back button on the page")
        self._submit(hit, "Back")


def _iso_date(text: str) -> str:
    """docassemble's steps type US dates (04/19/1989); a date input holds ISO dates."""
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    raise StepFailed(f"{text!r} is not a date")


def run_scenario(scenario: Scenario, context: BrowserContext, base_url: str) -> WebPage:
    """Run every step in `context`; StepFailed (an AssertionError) names the step that failed."""
    page: WebPage = run_steps(scenario, lambda ref: WebPage.start(context, base_url, ref))
    return page


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for scripts (the tests use the `browser` fixture)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
