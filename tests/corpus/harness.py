"""Drive the engine with the behave scenarios of the docassemble compatibility corpus.

(The feature parsing and the step vocabulary live in `steps.py`, shared with the web runner.)

docassemble's own suite runs these `.feature` files with behave + Selenium against a live
server. Here a tiny `Browser` plays the part of the web page: it keeps the current `Screen`,
the values typed into its form (not yet submitted), the validation messages on display and
an open popover, and turns every step into `engine.plan` / `engine.apply` calls. The visible
text of a screen is its Markdown rendered to HTML (with `smarty`, like docassemble's
typographic quotes) and reduced to text, so phrases compare the way a browser shows them.

Only what the corpus's steps need is modelled; an unknown step fails loudly.
"""

from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
from steps import (  # noqa: F401 - re-exported: the tests and the report read them from here
    CORE_FEATURE,
    CORPUS,
    HARDER_FEATURE,
    SHARED,
    Outcome,
    Scenario,
    StepFailed,
    collapse,
    corpus_files,
    outcome_of,
    parse_feature,
    resolve_interview,
    run_steps,
    scenario_ids,
)

import engine
from engine import Done, Field, Screen, ValidationErrors, jscond

YESNO_CHECKBOX = ("yesno", "noyes", "yesnowide", "noyeswide")
YESNO_RADIO = ("yesnoradio", "noyesradio")
YESNO_MAYBE = ("yesnomaybe", "noyesmaybe")
CHOICE_TYPES = ("radio", "dropdown", "combobox", "datalist", "checkboxes", "multiselect", "buttons", "object",
                "object_radio", "object_checkboxes", "object_multiselect")
TEXT_TYPES = ("text", "area", "email", "password", "number", "currency", "integer", "float", "date", "datetime",
              "time", "combobox", "datalist", "range", "hidden")


# -- Markdown to visible text ----------------------------------------------------------------


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
        elif tag in ("p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


@lru_cache(maxsize=4096)
def md_to_text(text: str) -> str:
    """What a browser shows for a piece of docassemble Markdown."""
    if not text:
        return ""
    rendered = markdown.markdown(text, extensions=["smarty"])
    parser = _TextExtractor()
    parser.feed(rendered)
    parser.close()
    return collapse(html.unescape("".join(parser.parts)))


def label_text(text: str | None) -> str:
    return md_to_text(text or "")


_TERM = re.compile(r"\{([^{}|]+)(?:\|([^{}]+))?\}")


def apply_terms(text: str, terms: dict[str, str]) -> str:
    """docassemble turns `{term}` into a link showing the term (definition in a popover)."""
    if not text or not terms:
        return text
    lowered = {k.lower() for k in terms}

    def repl(m: re.Match[str]) -> str:
        if m.group(1).strip().lower() in lowered:
            return (m.group(2) or m.group(1)).strip()
        return m.group(0)

    return _TERM.sub(repl, text)


def _norm_label(text: str) -> str:
    return collapse(text).casefold().rstrip(" :?.!*").strip()


def _loose_equal(value: Any, expected: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, list | tuple | set):
        return any(_loose_equal(v, expected) for v in value)
    if isinstance(expected, bool) or isinstance(value, bool):
        vb = value if isinstance(value, bool) else str(value).strip().lower() in ("true", "yes", "1", "on")
        eb = expected if isinstance(expected, bool) else str(expected).strip().lower() in ("true", "yes", "1", "on")
        return vb == eb
    return value == expected or str(value).strip() == str(expected).strip()


# -- the browser ------------------------------------------------------------------------------


@dataclass
class Browser:
    """One tab of the interview: current screen, form values not yet submitted, messages shown."""

    path: Path
    iv: Any = None
    state: Any = None
    screen: Screen | Done | None = None
    pending: dict[str, Any] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    errors: dict[str, list[str]] = field(default_factory=dict)
    popover: str | None = None
    trace: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, ref_or_path: str | Path, lang: str = "en") -> Browser:
        path = Path(ref_or_path)
        if not path.exists():
            path = resolve_interview(str(ref_or_path))
        b = cls(path)
        b.iv = engine.load(str(path))
        b.state = b.iv.start(lang=lang)
        b._replan()
        return b

    # -- screen bookkeeping ------------------------------------------------------------------

    def _replan(self) -> None:
        self.screen = engine.plan(self.iv, self.state)
        self.pending = {}
        self.touched = set()
        self.errors = {}
        self.popover = None
        if isinstance(self.screen, Screen):
            for f in self.screen.fields:
                initial = self._initial(f)
                if initial is not None:
                    self.pending[f.key] = initial
            self.trace.append(f"[{self.screen.kind}] {collapse(self.screen.question)[:80]}")
        else:
            self.trace.append("[done]")

    @staticmethod
    def _initial(f: Field) -> Any:
        d = f.default
        if f.datatype in YESNO_CHECKBOX:
            if d is None:
                return False
            value = bool(d) if not isinstance(d, str) else d.strip().lower() in ("true", "yes", "1", "on")
            return (not value) if f.datatype.startswith("noyes") else value
        if f.datatype in ("checkboxes", "multiselect"):
            if d is None:
                return []
            if isinstance(d, dict):
                return [k for k, v in d.items() if v]
            if hasattr(d, "elements") and isinstance(d.elements, dict):
                return [k for k, v in d.elements.items() if v]
            if isinstance(d, list | tuple | set):
                return list(d)
            return [d]
        if f.datatype == "range" and d is None and f.min not in (None, "") and f.max not in (None, ""):
            lo, hi = Decimal(str(f.min)), Decimal(str(f.max))
            mid = lo + (hi - lo) / 2
            step = Decimal(str(f.step)) if f.step not in (None, "") else Decimal(1)
            n = ((mid - lo) / step).to_integral_value(rounding="ROUND_HALF_UP")
            value = lo + n * step
            return str(value.normalize()) if value != value.to_integral_value() else str(int(value))
        if f.datatype in YESNO_RADIO and isinstance(d, bool):
            return d
        if d is None:
            return None
        return d

    @property
    def fields(self) -> tuple[Field, ...]:
        return self.screen.fields if isinstance(self.screen, Screen) else ()

    def visible(self, f: Field) -> bool:
        for expr, hide in ((f.js_show_if, False), (f.js_hide_if, True)):
            if expr and not jscond.visible(expr, hide, self.pending):
                return False
        by_key = {x.key: x for x in self.fields}
        seen: set[str] = set()
        cur: Field | None = f
        while cur is not None and cur.key not in seen:
            seen.add(cur.key)
            parent: Field | None = None
            for cond, hide in ((cur.show_if, False), (cur.hide_if, True)):
                if cond is None:
                    continue
                ctrl = by_key.get(cond[0])
                value = self.pending.get(cond[0])
                if ctrl is not None and ctrl.datatype.startswith("noyes") and isinstance(value, bool):
                    value = not value if ctrl.datatype in YESNO_CHECKBOX else value
                match = _loose_equal(value, cond[1])
                if match == hide:
                    return False
                if ctrl is not None:
                    parent = ctrl
            cur = parent
        return True

    def visible_fields(self) -> list[Field]:
        return [f for f in self.fields if self.visible(f)]

    # -- what is on the page -----------------------------------------------------------------

    def text_blocks(self) -> list[str]:
        s = self.screen
        if not isinstance(s, Screen):
            return []
        terms = s.terms or {}
        out: list[str] = []

        def add(md: str | None) -> None:
            if md:
                out.append(md_to_text(apply_terms(md, terms)))

        add(s.question)
        add(s.subquestion)
        for f in self.visible_fields():
            if f.datatype in ("continue", "hidden"):
                continue
            if f.datatype == "signature" and s.kind == "signature":
                pass
            else:
                add(f.label)
            add(f.note)
            add(f.hint)
            if f.datatype == "currency":
                out.append("$")
            if f.datatype in YESNO_RADIO:
                out.extend(["Yes", "No"])
            elif f.datatype in YESNO_MAYBE and s.kind == "fields":
                out.extend(["Yes", "No", md_to_text("I don't know")])
            if f.datatype in CHOICE_TYPES and f.datatype != "buttons":
                for c in f.choices:
                    add(c.label)
            for msg in self.errors.get(f.key, []):
                add(msg)
        for key, msgs in self.errors.items():
            if not any(f.key == key for f in self.visible_fields()):
                for msg in msgs:
                    add(msg)
        for item in s.review:
            add(item.label)
            add(item.text)
        if s.attachments:
            add("The following document has been created for you." if len(s.attachments) == 1 else
                "The following documents have been created for you.")
            for att in s.attachments:
                add(att.get("name"))
                add(att.get("description"))
        for b in s.buttons:
            add(b.label)
        add(s.under)
        if self.popover:
            add(self.popover)
        return [t for t in out if t]

    def page_text(self) -> str:
        return collapse(" ".join(self.text_blocks()))

    def sees(self, phrase: str) -> bool:
        return collapse(phrase) in self.page_text()

    # -- finding things ----------------------------------------------------------------------

    def find_field(self, label: str, pool: list[Field] | None = None, what: str = "field") -> Field:
        fields = pool if pool is not None else [f for f in self.fields if f.datatype not in ("note", "continue")]
        visible = [f for f in fields if self.visible(f)]
        for group in (visible, fields):
            for match in (
                lambda f: collapse(label_text(f.label)) == collapse(label),
                lambda f: collapse(f.label or "") == collapse(label),
                lambda f: _norm_label(label_text(f.label)) == _norm_label(label) and _norm_label(label) != "",
                lambda f: f.hint is not None and _norm_label(label_text(f.hint)) == _norm_label(label),
            ):
                hits = [f for f in group if match(f)]
                if hits:
                    return hits[0]
        raise StepFailed(f"no {what} labelled {label!r}; fields: {[label_text(f.label) for f in fields]}")

    def _choice_matches(self, f: Field, label: str) -> list[tuple[Any, bool]]:
        """(value, exclusive) of the choices of f shown as `label`."""
        target = collapse(label)
        if f.datatype in YESNO_RADIO or f.datatype in YESNO_MAYBE:
            opts: list[tuple[str, Any]] = [("Yes", True), ("No", False)]
            if f.datatype in YESNO_MAYBE:
                opts.append((md_to_text("I don't know"), None))
            return [(v, False) for lab, v in opts if lab == target or _norm_label(lab) == _norm_label(target)]
        hits = [(c.value, c.exclusive) for c in f.choices if label_text(c.label) == target]
        if not hits:
            hits = [(c.value, c.exclusive) for c in f.choices
                    if _norm_label(label_text(c.label)) == _norm_label(target) or collapse(c.label) == target]
        return hits

    # -- actions -----------------------------------------------------------------------------

    def set_value(self, f: Field, value: Any) -> None:
        self.pending[f.key] = value
        self.touched.add(f.key)
        self.errors.pop(f.key, None)

    def click_option(self, option: str, under: str | None = None) -> None:
        s = self.screen
        if not isinstance(s, Screen):
            raise StepFailed(f"no option {option!r}: the interview has ended")
        if under is not None:
            candidates = [self.find_field(under)]
        else:
            candidates = [f for f in self.visible_fields() if f.datatype not in ("note", "continue")]
            # a yes/no checkbox whose label is the option
            for f in candidates:
                if f.datatype in YESNO_CHECKBOX and (
                        label_text(f.label) == collapse(option) or _norm_label(label_text(f.label)) ==
                        _norm_label(option)):
                    self.set_value(f, not bool(self.pending.get(f.key)))
                    return
        for f in candidates:
            if f.datatype in YESNO_CHECKBOX and under is not None:
                self.set_value(f, not bool(self.pending.get(f.key)))
                return
            hits = self._choice_matches(f, option)
            if not hits:
                continue
            value, exclusive = hits[0]
            if f.datatype in ("checkboxes", "multiselect", "object_checkboxes", "object_multiselect"):
                ticked = list(self.pending.get(f.key) or [])
                if value in ticked:
                    ticked.remove(value)
                elif exclusive:
                    ticked = [value]
                else:
                    excl = {c.value for c in f.choices if c.exclusive}
                    ticked = [v for v in ticked if v not in excl] + [value]
                self.set_value(f, ticked)
            else:
                self.set_value(f, value)
            return
        where = f" under {under!r}" if under else ""
        raise StepFailed(f"no option {option!r}{where} on the screen")

    def select(self, option: str, label: str) -> None:
        f = self.find_field(label)
        hits = self._choice_matches(f, option)
        if not hits:
            raise StepFailed(f"{label!r} has no choice {option!r}: {[label_text(c.label) for c in f.choices]}")
        self.set_value(f, hits[0][0])

    def set_field(self, label: str, value: str) -> None:
        f = self.find_field(label)
        if f.datatype in ("radio", "dropdown") and f.choices:
            hits = self._choice_matches(f, value)
            self.set_value(f, hits[0][0] if hits else value)
            return
        self.set_value(f, value)

    def set_text_box(self, value: str) -> None:
        boxes = [f for f in self.visible_fields() if f.datatype in TEXT_TYPES and f.var is not None]
        if len(boxes) != 1:
            raise StepFailed(f"expected exactly one text box, found {len(boxes)}")
        self.set_value(boxes[0], value)

    def answers(self) -> dict[str, Any]:
        """What the form posts: like a browser, inputs hidden by `show if` are disabled and not sent."""
        out: dict[str, Any] = {}
        for f in self.visible_fields():
            if f.var is None or f.datatype == "note":
                continue
            if f.key in self.pending:
                out[f.key] = self.pending[f.key]
        return out

    def _submit(self, button: int | None) -> None:
        s = self.screen
        assert isinstance(s, Screen)
        if button is not None and s.buttons[button].action in ("restart", "new_session"):
            self.state = self.iv.start(lang=self.state.lang)
            self._replan()
            return
        if button is not None and s.buttons[button].action != "continue":
            self.screen = Done()
            self._replan_done()
            return
        result = engine.apply(self.iv, self.state, s, self.answers(), button=button)
        if isinstance(result, ValidationErrors):
            self.errors = {}
            for e in result.errors:
                self.errors.setdefault(e.key, []).append(e.message)
            self.trace.append(f"  errors: {[e.message for e in result.errors]}")
            return
        self.state = result
        self._replan()

    def _replan_done(self) -> None:
        self.pending, self.touched, self.errors, self.popover = {}, set(), {}, None
        self.trace.append("[left]")

    def click_button(self, label: str) -> None:
        s = self.screen
        if not isinstance(s, Screen):
            raise StepFailed(f"no button {label!r}: the interview has ended")
        target = collapse(label)
        for match in (lambda t: t == target, lambda t: t.casefold() == target.casefold(),
                      lambda t: _norm_label(t) == _norm_label(target)):
            for i, b in enumerate(s.buttons):
                if match(label_text(b.label)) or match(collapse(b.label)):
                    self.trace.append(f"  click {label_text(b.label)!r} answers={self.answers()}")
                    self._submit(i)
                    return
            for item in s.review:
                if item.label and item.vars and match(label_text(item.label)):
                    self.edit(item.vars[0])
                    return
        raise StepFailed(f"no button {label!r}; buttons: {[label_text(b.label) for b in s.buttons]}"
                         + (f", review: {[label_text(r.label) for r in s.review]}" if s.review else ""))

    def edit(self, var: str) -> None:
        self.trace.append(f"  revisit {var}")
        if not engine.revisit(self.iv, self.state, var):
            raise StepFailed(f"engine.revisit found no question for {var!r}")
        self._replan()

    def click_link(self, label: str) -> None:
        s = self.screen
        if not isinstance(s, Screen):
            raise StepFailed(f"no link {label!r}: the interview has ended")
        target = collapse(label)
        for item in s.review:
            if item.label and item.vars and collapse(label_text(item.label)) == target:
                self.edit(item.vars[0])
                return
        for term, definition in (s.terms or {}).items():
            if term.strip().casefold() == target.casefold() and self.sees(label):
                self.popover = definition
                return
        if target.casefold() == "preview" and any("content" in a for a in s.attachments):
            self.popover = "\n\n".join(a["content"] for a in s.attachments if "content" in a)
            return
        sources = [s.question, s.subquestion, s.under] + [f.note or "" for f in s.fields] + [r.text for r in s.review]
        for src in sources:
            for m in re.finditer(r"\[([^\]]+)\]\(([^)]*)\)", src or ""):
                if collapse(md_to_text(m.group(1))) == target:
                    return
        raise StepFailed(f"no link {label!r} on the screen")

    def unfocus(self) -> None:
        """Blur: the browser hides popovers and validates the fields typed into (client side)."""
        self.popover = None
        s = self.screen
        if not isinstance(s, Screen) or not self.touched or s.kind != "fields":
            return
        trial = copy.deepcopy(self.state)
        result = engine.apply(self.iv, trial, s, self.answers(), button=None)
        if isinstance(result, ValidationErrors):
            for e in result.errors:
                if e.key in self.touched:
                    self.errors.setdefault(e.key, [])
                    if e.message not in self.errors[e.key]:
                        self.errors[e.key].append(e.message)

    def back(self) -> None:
        if not engine.go_back(self.iv, self.state):
            raise StepFailed("there is no previous screen")
        self._replan()

    def sign(self) -> None:
        sigs = [f for f in self.fields if f.datatype == "signature"]
        if not sigs:
            raise StepFailed("no signature area on the screen")
        self.set_value(sigs[0], {"filename": "signature.png"})

    # -- the actions of steps.STEPS that only look -------------------------------------------

    def see(self, phrase: str) -> None:
        if not self.sees(phrase):
            raise StepFailed(f"expected to see {phrase!r}; page shows: {self.page_text()[:600]!r}")

    def not_see(self, phrase: str) -> None:
        if self.sees(phrase):
            raise StepFailed(f"expected not to see {phrase!r}; page shows: {self.page_text()[:600]!r}")

    def wait(self, seconds: str) -> None:
        """Nothing moves on a model page."""

    def trace_lines(self) -> list[str]:
        return self.trace


# -- running scenarios -----------------------------------------------------------------------


def run_scenario(scenario: Scenario) -> Browser:
    """Run every step; raise StepFailed (an AssertionError) naming the step that failed."""
    browser: Browser = run_steps(scenario, lambda ref: Browser.start(resolve_interview(ref)))
    return browser


def outcome(scenario: Scenario) -> Outcome:
    return outcome_of(scenario, run_scenario)


def load_error(path: Path) -> str | None:
    """None if the file loads, else the first line of the problem."""
    try:
        engine.load(str(path))
    except Exception as exc:  # LoadError, and anything else a broken loader raises
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None
