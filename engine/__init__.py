"""Accord's interview engine: docassemble-style YAML interviews, compiled, sandboxed, pure.

The public face is small on purpose; everything else in the package is an implementation
detail that front ends must not reach into:

    interview = load("interviews/loan_application.yml")
    state = interview.start(lang="en")
    step = plan(interview, state)            # Screen | Done
    result = apply(interview, state, step, {"applicant_name": "An"})   # State | ValidationErrors

This package imports no other project package and does no I/O beyond reading interview files.
"""

from engine.answers import date_limits, visible_keys
from engine.assembly import AgreementSource, assemble, check_clauses
from engine.errors import InterviewError, LoadError, Problem
from engine.interview import Interview
from engine.loader import load, load_string
from engine.planner import apply, go_back, plan, revisit
from engine.screen import Button, Choice, Done, Field, FieldError, ReviewItem, Screen, ValidationErrors
from engine.signerfields import evaluate, signer_screen
from engine.state import State

__all__ = [
    "AgreementSource",
    "assemble",
    "check_clauses",
    "date_limits",
    "Button",
    "Choice",
    "Done",
    "Field",
    "FieldError",
    "Interview",
    "InterviewError",
    "LoadError",
    "Problem",
    "ReviewItem",
    "Screen",
    "State",
    "ValidationErrors",
    "apply",
    "go_back",
    "load",
    "load_string",
    "plan",
    "revisit",
    "visible_keys",
    "evaluate",
    "signer_screen",
]
