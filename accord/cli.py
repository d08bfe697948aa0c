"""Argument parsing and the two subcommands, `check` and `run`.

Every failure ends as a `file:line: message` or `accord: ...` line on stderr and a non-zero
exit code, never a traceback: authors run this on half-written interviews all day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from accord import __version__
from accord.i18n import translator

if TYPE_CHECKING:
    from engine import Interview

# The engine is imported inside the commands, not here, so `accord --help` works (and fast)
# even while the engine is broken, and an engine import error becomes one line, not a traceback.


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accord", description="Accord interview tools.")
    parser.add_argument("--version", action="version", version=f"accord {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="load interview files and report every problem")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--needs", action="store_true",
                       help="also list the variables each agreement/parties/payment block reads")

    run = sub.add_parser("run", help="run an interview in the terminal (or --auto with generated answers)")
    run.add_argument("file", metavar="FILE")
    run.add_argument("--lang", choices=("en", "vi"), default="en", help="interview language (default: en)")
    run.add_argument("--auto", action="store_true", help="answer every screen with generated valid answers")
    run.add_argument("--seed", type=int, default=None, help="random seed for --auto (default: random, printed)")
    run.add_argument(
        "--answers-out",
        type=Path,
        default=None,
        metavar="ANSWERS.json",
        help="with --auto: write the final answers as JSON",
    )
    run.add_argument("--max-steps", type=int, default=500, help="with --auto: give up after this many screens")

    asm = sub.add_parser("assemble", help="assemble the agreement saved answers produce (Markdown, or PDF)")
    asm.add_argument("file", metavar="INTERVIEW")
    asm.add_argument("--answers", type=Path, required=True, metavar="ANSWERS.json",
                     help="answers as written by `accord run --auto --answers-out`")
    asm.add_argument("--out", type=Path, default=None, metavar="AGREEMENT.md|.pdf|.docx|.html",
                     help="write here instead of stdout; a .pdf path renders the PDF and prints its SHA-256; "
                          ".docx needs a Word template")
    asm.add_argument("--template", type=Path, default=None, metavar="TEMPLATE.typ|.docx",
                     help="render with this template instead of the interview's (a .docx template: .docx output, "
                          "or .pdf through LibreOffice)")
    asm.add_argument("--compare", type=Path, default=None, metavar="OTHER_ANSWERS.json",
                     help="print the clause-by-clause changes from the --answers agreement to this one's")
    asm.add_argument("--lang", choices=("en", "vi"), default="en", help="session language (default: en)")
    asm.add_argument("--date", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                     help="agreement date (default: the agreement block's date)")
    verify = sub.add_parser("verify", help="check every signature and timestamp of a signed PDF")
    verify.add_argument("file", type=Path, metavar="FILE.pdf")
    verify.add_argument("--root", type=Path, action="append", default=None, metavar="ROOT.pem",
                        help="trust this root certificate (repeatable; default: the data dir's pki/root.pem)")
    serve = sub.add_parser("serve", help="run the web server (migrates the database and seeds the demo firm first)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    selftest = sub.add_parser("selftest", help="run the whole pipeline offline (interview to sealed PDF) and report")
    selftest.add_argument("--out", required=True, metavar="DIR", help="where to write sealed.pdf and report.json")
    envelope = sub.add_parser("envelope", help="signing envelopes")
    envelope_sub = envelope.add_subparsers(dest="envelope_command", required=True)
    envelope_sub.add_parser("tick", help="expire, warn, remind and retry pending seals (run it from cron)")
    from accord.envelope_cmd import add_parsers

    add_parsers(envelope_sub)
    pay = sub.add_parser("payment", help="payments taken in the signing ceremony")
    pay_sub = pay.add_subparsers(dest="payment_command", required=True)
    refund = pay_sub.add_parser("refund", help="refund all or part of an envelope's payment, with a reason")
    refund.add_argument("envelope", help="the envelope id")
    refund.add_argument("--amount", default=None, help="in the currency's major unit (default: all that is left)")
    refund.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    refund.add_argument("--staff", default=None, help="who makes the refund (default: cli:<login name>)")
    audit = sub.add_parser("audit", help="audit trails of envelopes")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_verify = audit_sub.add_parser("verify", help="recompute an envelope's audit chain from the database")
    audit_verify.add_argument("envelope", help="the envelope id")
    from accord.secrets_cmd import add_parser as add_secrets_parser

    add_secrets_parser(sub)
    from accord.staff_cmd import add_parser as add_staff_parser

    add_staff_parser(sub)
    from accord.worker_cmd import add_parsers as add_worker_parsers

    add_worker_parsers(sub)
    return parser


def load(path: str, lang: str = "en") -> Interview | None:
    """Load one file, printing its problems; None when it cannot be used."""
    import engine

    _ = translator(lang)
    try:
        return engine.load(path)
    except engine.LoadError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
    except OSError as exc:
        print(f"{path}:0: " + _("cannot read: {reason}").format(reason=exc.strerror or exc), file=sys.stderr)
    except Exception as exc:  # a loader bug must still not print a traceback
        error = _("internal error: {kind}: {error}").format(kind=type(exc).__name__, error=exc)
        print(f"{path}:0: {error}", file=sys.stderr)
    return None


def cmd_check(files: Sequence[str], needs: bool = False) -> int:
    failed = False
    for path in files:
        interview = load(path)
        if interview is None:
            failed = True
            continue
        from engine import check_clauses

        clause_problems = check_clauses(interview)
        for problem in clause_problems:
            print(problem, file=sys.stderr)
        if clause_problems:
            failed = True
            continue
        print(f"{path}: ok")
        if needs:
            for block, names in interview.accord_needs().items():
                print(f"  {block} needs: {', '.join(names) or '-'}")
    return 1 if failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    import engine
    from accord.auto import run_auto
    from accord.interactive import InputEnded, run_interactive

    _ = translator(args.lang)
    interview = load(args.file, args.lang)
    if interview is None:
        return 1
    try:
        if args.auto:
            seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
            return run_auto(interview, args.lang, seed, args.max_steps, args.answers_out)
        return run_interactive(interview, args.lang)
    except InputEnded:
        print("\naccord: " + _("input ended before the interview finished"), file=sys.stderr)
        return 1
    except engine.InterviewError as exc:
        print("accord: " + _("interview error: {error}").format(error=exc), file=sys.stderr)
        return 1
    except Exception as exc:  # report engine bugs as one line, not a traceback
        error = _("internal error: {kind}: {error}").format(kind=type(exc).__name__, error=exc)
        print(f"{args.file}:0: {error}", file=sys.stderr)
        return 2


def cmd_assemble(args: argparse.Namespace) -> int:
    from accord import assemble

    interview = load(args.file, args.lang)
    if interview is None:
        return 1
    return assemble.run(interview, args.answers, args.lang, args.date, args.out, template=args.template,
                        compare=args.compare)


def cmd_verify(args: argparse.Namespace) -> int:
    """One line per signature (OK/FAIL, field, kind, summary); exit 0 only when every one is intact, valid and
    trusted and nothing not allowed was changed after it."""
    from accord.settings import Settings
    from signing.verify import load_roots, verify_pdf

    roots_paths = args.root or [Settings.from_env().data_dir / "pki" / "root.pem"]
    try:
        roots = [cert for path in roots_paths for cert in load_roots(path.read_bytes())]
        pdf = args.file.read_bytes()
    except (OSError, ValueError) as exc:
        print(f"accord: {exc}", file=sys.stderr)
        return 2
    result = verify_pdf(pdf, roots)
    for check in result.signatures:
        print(f"{'OK  ' if check.ok else 'FAIL'} {check.field} ({check.kind}): {check.summary}")
    print(result.summary, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `accord` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    _ = translator(getattr(args, "lang", "en"))  # `check` has no --lang: English
    try:
        # Fail early, with a message, if the engine (or the part of its API used here) is missing.
        from engine import InterviewError, LoadError, apply, go_back, load, plan  # noqa: F401
    except Exception as exc:  # an engine that cannot import must not print a traceback
        error = _("cannot import the interview engine: {kind}: {error}").format(kind=type(exc).__name__, error=exc)
        print(f"accord: {error}", file=sys.stderr)
        return 2
    try:
        if args.command == "check":
            return cmd_check(args.files, args.needs)
        if args.command == "assemble":
            return cmd_assemble(args)
        if args.command == "verify":
            return cmd_verify(args)
        if args.command == "serve":
            from accord.serve import cmd_serve

            return cmd_serve(args)
        if args.command == "selftest":
            from accord.selftest import cmd_selftest

            return cmd_selftest(args)
        if args.command == "envelope":
            from accord.envelope_cmd import cmd_envelope

            return cmd_envelope(args)
        if args.command == "secrets":
            from accord.secrets_cmd import cmd_secrets

            return cmd_secrets(args)
        if args.command == "staff":
            from accord.staff_cmd import cmd_staff

            return cmd_staff(args)
        if args.command == "payment":
            from accord.payment_cmd import cmd_payment_refund

            return cmd_payment_refund(args.envelope, args.amount, args.reason, args.staff)
        if args.command in ("worker", "webhook", "completion", "prefill-link"):
            from accord import worker_cmd

            return {"worker": worker_cmd.cmd_worker, "webhook": worker_cmd.cmd_webhook,
                    "completion": worker_cmd.cmd_completion,
                    "prefill-link": worker_cmd.cmd_prefill_link}[args.command](args)
        if args.command == "audit":
            from accord.audit_cmd import cmd_audit_verify

            return cmd_audit_verify(args.envelope)
        return cmd_run(args)
    except KeyboardInterrupt:
        print("\naccord: " + _("interrupted"), file=sys.stderr)
        return 130
    except Exception as exc:
        from accord.settings import SettingsError
        from store.secretbox import SecretBoxError

        # a missing or malformed ACCORD_ENCRYPTION_KEYS, an unusable ACCORD_* number: say so, no traceback
        if isinstance(exc, SecretBoxError | SettingsError):
            print(f"accord: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    raise SystemExit(main())
