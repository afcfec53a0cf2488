"""Command line: hotocr run | process | correct | preprocess | review | status | hooks | index |
init-config | check.

Exit codes follow the exception hierarchy: 0 success, 1 a document failed, 2 bad config or
usage, 3 a missing external program or language.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from PIL import Image

from hotocr import __version__, config, pages, sidecars
from hotocr._exec import libtesseract, poppler, qpdf, tesseract
from hotocr.datatypes import PageSettings
from hotocr.errors import ConfigError, HotocrError, MissingDependency, TransientError
from hotocr.hooks import delivery
from hotocr.journal import Journal
from hotocr.logs import configure
from hotocr.outputs import PdfOptions
from hotocr.preprocess import select_backend
from hotocr.progress import PageProgress
from hotocr.recognize import onnx, ppocr
from hotocr.recognize.tesseract import resolve_engine
from hotocr.scheduler import DocumentJob, PageScheduler
from hotocr.watching import scan

DEFAULT_CONFIG = Path("config.toml")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except HotocrError as exc:
        print(f"hotocr: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``hotocr check | head -3``): say nothing, as cat does.
        # Python would complain again when it flushes stdout at exit, so point stdout at
        # /dev/null first (the recipe of Python's signal documentation).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a program a pipe closed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotocr", description=__doc__)
    parser.add_argument("--version", action="version", version=f"hotocr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            type=Path,
            default=None,
            help="config file (default: ./config.toml if present, else built-in defaults)",
        )

    run = sub.add_parser("run", help="run the daemon in the foreground")
    with_config(run)
    run.set_defaults(func=cmd_run)

    proc = sub.add_parser("process", help="OCR files and folders once, then exit")
    proc.add_argument("paths", nargs="+", type=Path)
    with_config(proc)
    proc.add_argument("--lang", help="languages, e.g. eng+deu (default: the config's)")
    proc.add_argument(
        "--recognizer",
        choices=("auto", "tesseract", "ppocr"),
        help="which recognizer reads the pages (default: the config's [ocr] recognizer)",
    )
    proc.add_argument(
        "--existing-text",
        choices=("skip", "redo", "force"),
        help="a PDF page that has text already (default: the config's [ocr] existing_text)",
    )
    proc.add_argument(
        "--executor",
        help='"local" or a Dask scheduler, tcp://HOST:PORT (default: the config\'s)',
    )
    proc.add_argument("--output", type=Path, help="folder for the sidecars (default: beside)")
    proc.add_argument(
        "--outputs",
        type=_output_list,
        help="files to write, e.g. txt,json,pdf (known: "
        + ", ".join(config.OUTPUT_FORMATS)
        + "; json is always written; default: the config's [ocr] outputs)",
    )
    proc.set_defaults(func=cmd_process)

    init = sub.add_parser("init-config", help="write a complete, commented default config")
    init.add_argument("path", nargs="?", type=Path, default=None, help="default: stdout")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=cmd_init_config)

    fix = sub.add_parser("correct", help="correct OCR misreadings: a filter, stdin to stdout")
    fix.add_argument("--lang", default="eng", help="languages, e.g. eng or deu+eng")
    fix.add_argument("--dictionary", type=Path, help="words never changed, one per line")
    fix.add_argument("--rules", type=Path, help="'printed -> meant' replacements, one per line")
    fix.add_argument("--report", action="store_true", help="list the corrections on stderr")
    fix.set_defaults(func=cmd_correct)

    pre = sub.add_parser("preprocess", help="show what preprocessing does to pages (PNG + JSON)")
    pre.add_argument("files", nargs="+", type=Path)
    pre.add_argument("--output", type=Path, required=True, help="folder for the page PNGs")
    with_config(pre)
    pre.add_argument("--steps", help="comma-separated, e.g. deskew,remove_background")
    pre.add_argument("--backend", choices=("auto", "cpu", "gpu"))
    pre.add_argument("--device", type=int)
    pre.set_defaults(func=cmd_preprocess)

    rev = sub.add_parser("review", help="build the HTML review page of flagged pages")
    rev.add_argument("paths", nargs="+", type=Path, help="JSON sidecars or outbox folders")
    rev.add_argument("--output", type=Path, required=True, help="folder for index.html")
    rev.set_defaults(func=cmd_review)

    stat = sub.add_parser("status", help="what each watch folder is doing (from the journal)")
    with_config(stat)
    stat.add_argument("--json", action="store_true", help="machine-readable output")
    stat.set_defaults(func=cmd_status)

    hks = sub.add_parser("hooks", help="list hook events (from the journal), send one again")
    with_config(hks)
    hks.add_argument(
        "--pending",
        action="store_true",
        help="only events not delivered: pending, or undeliverable after their retries",
    )
    hks.add_argument("--retry", metavar="ID", help="send event ID again, to each of its hooks")
    hks.add_argument("--json", action="store_true", help="machine-readable output")
    hks.set_defaults(func=cmd_hooks)

    ver = sub.add_parser(
        "verify", help="serve the verification station: people fix flagged words in a browser"
    )
    with_config(ver)
    ver.add_argument("--listen", help="HOST:PORT (default: the config's [verify] listen)")
    ver.set_defaults(func=cmd_verify)

    idx = sub.add_parser("index", help="rebuild OUTBOX/index.csv from the sidecars")
    idx.add_argument("outbox", type=Path)
    idx.add_argument(
        "--failed",
        type=Path,
        action="append",
        default=[],
        help="also list the failed folder's reports",
    )
    idx.set_defaults(func=cmd_index)

    check = sub.add_parser("check", help="validate the config and the installed programs")
    with_config(check)
    check.set_defaults(func=cmd_check)
    return parser


def load_config(path: Path | None) -> config.Config:
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    return config.load(path)


def cmd_run(args: argparse.Namespace) -> int:
    from hotocr.service import Service  # noqa: PLC0415 - watchdog only for the daemon

    cfg = load_config(args.config)
    configure(cfg.daemon.log_format, cfg.daemon.log_level)
    config.check_hook_secrets(cfg)
    _require_tools(cfg)
    return Service(cfg).run()


def _require_tools(cfg: config.Config) -> None:
    tesseract.version()
    poppler.version()
    for watch in cfg.watches:
        resolve_engine(watch.ocr.engine)
    missing = tesseract.missing_languages(cfg.languages_needed())
    if missing:
        raise MissingDependency(
            "Tesseract languages not installed: "
            + ", ".join(missing)
            + " (Debian: apt-get install "
            + " ".join("tesseract-ocr-" + m.replace("_", "-").lower() for m in missing)
            + ")"
        )


def _wait_for_workers(scheduler: PageScheduler, executor: str, timeout: float = 60.0) -> None:
    """A one-shot run has nothing to wait for but its cluster: give up if it stays away."""
    deadline = time.monotonic() + timeout
    while not scheduler.executor.slots():
        if time.monotonic() > deadline:
            raise TransientError(f"no worker reachable at {executor} within {timeout:g} s")
        scheduler.executor.maintain()
        time.sleep(0.5)


def _output_list(text: str) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [w for w in wanted if w not in config.OUTPUT_FORMATS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {', '.join(unknown)}; known: {', '.join(config.OUTPUT_FORMATS)}"
        )
    return wanted if "json" in wanted else (*wanted, "json")


def cmd_process(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    configure("console" if sys.stderr.isatty() else cfg.daemon.log_format, "warning")
    watch = cfg.watches[0]
    if args.existing_text:
        watch = dataclasses.replace(
            watch, ocr=dataclasses.replace(watch.ocr, existing_text=args.existing_text)
        )
    languages = tuple(args.lang.split("+")) if args.lang else watch.languages
    _require_tools(config.Config(daemon=cfg.daemon, watches=(_with_languages(watch, languages),)))
    settings = PageSettings.from_watch(watch, languages)
    if args.recognizer:
        settings = dataclasses.replace(settings, recognizer=args.recognizer)
    formats = args.outputs or watch.ocr.outputs
    files = list(_expand(args.paths, watch.ignore))
    if not files:
        print("hotocr: no files to process", file=sys.stderr)
        return 1
    failures = 0
    used: set[tuple[Path, str]] = set()
    executor = args.executor or cfg.daemon.executor
    # A batch has no first document to keep waiting: local workers start with its first
    # pages and load models and word lists then (warming up on synthetic pages first cost
    # about 1 s of a 50 s run). A cluster's workers are checked for the languages at start.
    warm = (settings,) if executor != "local" else ()
    scheduler = PageScheduler(cfg.effective_workers(), executor=executor, warm=warm)
    repairs = Path(tempfile.mkdtemp(prefix="hotocr-repaired-"))
    try:
        _wait_for_workers(scheduler, executor)
        jobs: list[DocumentJob] = []  # the open ones
        finished_pages = 0
        with PageProgress(terminal=sys.stderr.isatty()) as progress:
            for n, path in enumerate(files):
                try:
                    source = pages.inspect(
                        path.absolute(),
                        max_pages=watch.ocr.max_pages,
                        dpi=watch.ocr.dpi,
                        repair_to=repairs / f"{n}-{path.name}",
                    )
                except (HotocrError, OSError) as exc:
                    failures += 1
                    progress.file_done(f"{path}: failed: {exc}", failed=True)
                    continue
                progress.add_pages(source.pages)
                jobs.append(DocumentJob(source=source, settings=settings, context=path))
                scheduler.submit(jobs[-1])
            while scheduler.documents:
                for done in scheduler.poll(0.5):
                    finished_pages += done.job.source.pages
                    jobs.remove(done.job)
                    path = done.job.context
                    if done.result is None:
                        failures += 1
                        progress.file_done(f"{path}: failed: {done.error}", failed=True)
                        continue
                    folder = args.output or path.absolute().parent
                    published = sidecars.publish_result(
                        done.result,
                        original=path,
                        folder=folder,
                        stem=_stem_for(folder, path, used),
                        move_original=False,
                        formats=formats,
                        pdf_options=PdfOptions.of(watch.ocr),
                    )
                    flagged = done.result.flagged_pages
                    note = f" (low confidence: pages {flagged})" if flagged else ""
                    progress.file_done(
                        f"{path}: {_count(done.result.source.pages, 'page')}, confidence "
                        f"{done.result.confidence:.1f} -> {published.files[0]}{note}"
                    )
                progress.update(finished_pages + sum(len(j.results) for j in jobs))
    finally:
        scheduler.close()
        shutil.rmtree(repairs, ignore_errors=True)
    return 1 if failures else 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _with_languages(watch: config.WatchConfig, languages: tuple[str, ...]) -> config.WatchConfig:
    return dataclasses.replace(watch, languages=languages)


def _stem_for(folder: Path, path: Path, used: set[tuple[Path, str]]) -> str:
    """Re-running over the same file refreshes its sidecars; two inputs never share a stem."""
    stem = path.stem
    n = 1
    while (folder, stem) in used:
        n += 1
        stem = f"{path.stem}-{n}"
    used.add((folder, stem))
    return stem


def _expand(paths: Sequence[Path], ignore: tuple[str, ...]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in scan(path, ignore) if _looks_like_input(p))
        else:
            yield path


def _looks_like_input(path: Path) -> bool:
    """A scan, not one of hotocr's own searchable PDFs from an earlier run."""
    name = path.name.lower()
    return name.endswith((".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg")) and not name.endswith(
        ".ocr.pdf"
    )


def cmd_correct(args: argparse.Namespace) -> int:
    from hotocr.correct import WORDFREQ_LANGUAGES, correct_text  # noqa: PLC0415

    languages = tuple(args.lang.split("+"))
    unknown = [lang for lang in languages if lang not in WORDFREQ_LANGUAGES]
    if unknown and not args.rules:
        print(
            f"hotocr correct: no word list for {', '.join(unknown)}; correction knows "
            f"{', '.join(WORDFREQ_LANGUAGES)} (and --rules for any language)",
            file=sys.stderr,
        )
        if len(unknown) == len(languages):
            return 2
    result = correct_text(
        sys.stdin.read(),
        languages=languages,
        enabled=True,
        dictionary=args.dictionary,
        rules=args.rules,
    )
    sys.stdout.write(result.text)
    if args.report:
        for c in result.corrections:
            print(f"{c.offset}\t{c.raw!r} -> {c.fixed!r}", file=sys.stderr)
    return 0


def cmd_preprocess(args: argparse.Namespace) -> int:
    """One JSON line per page: what the steps did and what they cost."""
    import json  # noqa: PLC0415

    from hotocr.preprocess import preprocess, to_gray  # noqa: PLC0415

    cfg = load_config(args.config)
    pre = cfg.watches[0].preprocess
    steps = tuple(s for s in args.steps.split(",") if s) if args.steps is not None else pre.steps
    unknown = [s for s in steps if s not in config.PREPROCESS_STEPS]
    if unknown:
        raise ConfigError(
            f"--steps: unknown {unknown[0]!r}; allowed: {', '.join(config.PREPROCESS_STEPS)}"
        )
    choice = select_backend(
        args.backend or pre.backend,
        pre.device if args.device is None else args.device,
        pre.gpu_memory_limit,
    )
    args.output.mkdir(parents=True, exist_ok=True)
    failures = 0
    for path in args.files:
        try:
            source = pages.inspect(path.absolute(), max_pages=cfg.watches[0].ocr.max_pages)
            for number in range(1, source.pages + 1):
                loaded = pages.load_page(
                    source.path, source.kind, number, dpi=cfg.watches[0].ocr.dpi, timeout=120
                )
                result = preprocess(
                    choice.backend, to_gray(loaded.image), dpi=loaded.dpi, steps=steps
                )
                target = args.output / f"{path.stem}-p{number}.png"
                Image.fromarray(result.image).save(target)
                print(
                    json.dumps(
                        {
                            "file": str(path),
                            "page": number,
                            "output": str(target),
                            "steps": list(result.applied),
                            "skew_degrees": result.skew_degrees,
                            "skew_applied": result.skew_applied,
                            "backend": result.backend,
                            "milliseconds": result.milliseconds,
                        }
                    ),
                    flush=True,
                )
        except (HotocrError, OSError) as exc:
            failures += 1
            print(f"hotocr: {path}: {exc}", file=sys.stderr)
    return 1 if failures else 0


def cmd_review(args: argparse.Namespace) -> int:
    from hotocr import review  # noqa: PLC0415

    index = review.build(args.paths, args.output)
    print(index)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from hotocr import status  # noqa: PLC0415

    report = status.collect(load_config(args.config))
    sys.stdout.write(status.as_json(report) if args.json else status.render(report))
    return 0


def cmd_hooks(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    path = cfg.daemon.state_dir / "journal.sqlite3"
    hooks = {hook.name: hook for watch in cfg.watches for hook in watch.hook}
    if not path.exists():
        print(f"hotocr hooks: no journal at {path} (the daemon has not run)", file=sys.stderr)
        return 2
    if args.retry:
        journal = Journal(path)
        try:
            wanted = journal.events(event_id=args.retry)
            unknown = sorted({e.hook for e in wanted} - set(hooks))
            if not wanted or unknown:
                why = f"its hooks {unknown} are not in the config" if unknown else "no such event"
                print(f"hotocr hooks: cannot retry {args.retry}: {why}", file=sys.stderr)
                return 2
            give_up = time.time() + max(hooks[e.hook].give_up_hours for e in wanted) * 3600
            count = journal.retry_event(args.retry, give_up)
        finally:
            journal.close()
        print(f"{args.retry}: pending again for {count} hook(s); the running daemon sends it")
        return 0
    journal = Journal(path, readonly=True)
    try:
        events = journal.events(undelivered_only=args.pending)
    finally:
        journal.close()
    if args.json:
        rows = [dataclasses.asdict(e) | {"payload": json.loads(e.payload)} for e in events]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for e in events:
        payload = json.loads(e.payload)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.created))
        error = f"  last error: {e.last_error}" if e.last_error and e.state != "delivered" else ""
        print(
            f"{when}  {e.id}  {e.hook}  {e.kind}  {e.state} after {_count(e.attempts, 'attempt')}"
            f"  {payload.get('original_name', '')}{error}"
        )
    if not events:
        print("every event was delivered" if args.pending else "no events")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from hotocr.verify import server  # noqa: PLC0415 - Starlette and uvicorn on demand

    cfg = load_config(args.config)
    configure(cfg.daemon.log_format, cfg.daemon.log_level)
    return server.serve(cfg, args.listen or cfg.verify.listen)


def cmd_index(args: argparse.Namespace) -> int:
    from hotocr import results_index  # noqa: PLC0415

    if not args.outbox.is_dir():
        print(f"hotocr index: {args.outbox} is not a folder", file=sys.stderr)
        return 2
    count = results_index.rebuild(args.outbox, args.failed)
    print(f"{args.outbox / results_index.NAME}: {count} rows")
    return 0


def cmd_init_config(args: argparse.Namespace) -> int:
    text = config.render_default()
    if args.path is None:
        sys.stdout.write(text)
        return 0
    if args.path.exists() and not args.force:
        raise ConfigError(f"{args.path} exists; use --force to overwrite it")
    sidecars.write_atomic(args.path, text.encode("utf-8"))
    print(f"wrote {args.path}")
    return 0


def _check_cluster(cfg: config.Config, line: Callable[[str, str], None]) -> list[str]:
    """Reach the Dask scheduler and ask each worker what it has."""
    address = cfg.daemon.executor
    try:
        from hotocr.executors.cluster import probe_cluster  # noqa: PLC0415 - optional

        workers = probe_cluster(address)
    except ImportError:
        line("executor", f"{address}: UNUSABLE")
        return ["executor: distributed is not installed (pip install 'hotocr[dask]')"]
    except (OSError, TimeoutError) as exc:
        line("executor", f"{address}: UNREACHABLE")
        return [f"executor: cannot reach the Dask scheduler at {address}: {exc}"]
    line("executor", f"{address}: {len(workers)} workers")
    problems = [] if workers else [f"executor: the scheduler at {address} has no workers"]
    needed = cfg.languages_needed()
    for name, found in sorted(workers.items()):
        missing = [lang for lang in needed if lang not in found["languages"]]
        state = f"missing languages {', '.join(missing)}" if missing else "ok"
        versions = f"hotocr {found['hotocr']}, tesseract {found['tesseract']}"
        line(
            "  worker",
            f"{name}: {versions}, ppocr {found.get('ppocr', 'unknown')} "
            f"on {found.get('ppocr_provider', 'unknown')}, {state}",
        )
        if missing:
            problems.append(f"worker {name} lacks languages: {', '.join(missing)}")
    return problems


def _describe_outputs(watch: config.WatchConfig) -> tuple[str, str | None]:
    """The folder's outputs as file names, and what stops one of them, for ``hotocr check``."""
    from hotocr import outputs  # noqa: PLC0415 - the worker's modules, only for check
    from hotocr.outputs import pdf  # noqa: PLC0415

    names = ", ".join(f"{f} (<stem>{outputs.SUFFIXES[f]})" for f in watch.ocr.outputs)
    if "pdf" not in watch.ocr.outputs:
        return names, None
    try:
        return f"{names}; glyphless font {pdf.font_path()}", None
    except MissingDependency as exc:
        return f"{names}; pdf UNUSABLE", str(exc)


def _check_ppocr(cfg: config.Config, line: Callable[[str, str], None]) -> list[str]:
    """PP-OCR's package, runtime, models and execution provider; loads nothing."""
    wanted = {watch.ocr.recognizer for watch in cfg.watches}
    if not ppocr.available():
        line("ppocr", f"NOT INSTALLED ({ppocr.INSTALL_HINT}): Tesseract reads every page")
        return ["ppocr is not installed"] if "ppocr" in wanted else []
    info = ppocr.describe()
    line("ppocr", f"rapidocr {info.version}, onnxruntime {info.runtime}")
    line("ppocr models", f"{ppocr.MODEL_NAME}, from {Path(info.models[0]).parent}")
    line("ppocr providers", ", ".join(info.providers))
    clash = onnx.conflict()
    if clash:
        line("onnxruntime", f"WARNING: {clash}")
    problems = []
    for i, watch in enumerate(cfg.watches):
        if watch.ocr.recognizer == "tesseract":
            continue
        provider, why = onnx.choose(watch.ocr.provider, watch.preprocess.device)
        line(f"watch[{i}] ppocr on", f"{provider} (ocr.provider {watch.ocr.provider}: {why})")
        if watch.ocr.provider == "cuda" and provider != "cuda":
            problems.append(f'watch[{i}]: ocr.provider = "cuda", but {why}')
    return problems


def _describe_recognizer(watch: config.WatchConfig) -> tuple[str, str | None]:
    """Which recognizer reads the folder's pages, and what stops it, for ``hotocr check``."""
    wanted = watch.ocr.recognizer
    spec = "+".join(watch.languages)
    if wanted == "tesseract":
        return "tesseract", None
    if not ppocr.available():
        if wanted == "ppocr":
            return "ppocr: NOT INSTALLED", f"ppocr is not installed ({ppocr.INSTALL_HINT})"
        return "auto: Tesseract only (PP-OCR not installed)", None
    if not ppocr.reads(spec):
        unknown = [n for n in spec.split("+") if n not in ppocr.LANGUAGES]
        why = f"PP-OCR does not read {', '.join(unknown)}"
        if wanted == "ppocr":
            return f"ppocr: UNUSABLE ({why})", f'ocr.recognizer = "ppocr", but {why}'
        return f"auto: Tesseract only ({why})", None
    mapped = ", ".join(f"{n} -> {ppocr.LANGUAGES[n]}" for n in spec.split("+"))
    if wanted == "ppocr":
        return f"ppocr ({mapped})", None
    return f"auto: PP-OCR for noisy pages, Tesseract for clean ones ({mapped})", None


def _describe_fraktur(watch: config.WatchConfig) -> str:
    """How the folder's Fraktur pages are read, for ``hotocr check``."""
    if not config.fraktur_applies(watch.languages, watch.ocr.fraktur):
        return f"{watch.ocr.fraktur}: not used (no German among {', '.join(watch.languages)})"
    try:
        installed = config.FRAKTUR_MODEL in tesseract.languages()
    except HotocrError:
        installed = False
    model = f"model {config.FRAKTUR_MODEL} " + ("installed" if installed else "NOT INSTALLED")
    how = "OSD tells Fraktur pages apart" if watch.ocr.fraktur == "auto" else "every page"
    return f"{watch.ocr.fraktur}: {model}, {how}"


def cmd_check(args: argparse.Namespace) -> int:
    """Report every problem at once, rather than stopping at the first."""
    problems: list[str] = []

    def line(label: str, value: str) -> None:
        print(f"{label:<22} {value}")

    try:
        cfg = load_config(args.config)
        line("config", str(cfg.source or "built-in defaults") + ": valid")
    except ConfigError as exc:
        line("config", f"INVALID: {exc}")
        return 2
    try:
        config.check_hook_secrets(cfg)
    except ConfigError as exc:
        problems.append(str(exc))
        line("hook secrets", f"UNREADABLE: {exc}")
    try:
        line("tesseract", tesseract.version())
        have = tesseract.languages()
        line("languages installed", ", ".join(sorted(have)))
        missing = tesseract.missing_languages(cfg.languages_needed())
        if missing:
            problems.append(f"languages needed but not installed: {', '.join(missing)}")
            line("languages missing", ", ".join(missing))
    except HotocrError as exc:
        problems.append(str(exc))
        line("tesseract", f"MISSING: {exc}")
    try:
        line("tesseract library", f"{libtesseract.version()} (ocr.engine auto and library)")
    except HotocrError as exc:
        engines = {watch.ocr.engine for watch in cfg.watches}
        if "library" in engines:
            problems.append(str(exc))
        line("tesseract library", f"not loadable, the program is used: {exc}")
    try:
        line("poppler", poppler.version())
    except HotocrError as exc:
        problems.append(str(exc))
        line("poppler", f"MISSING: {exc}")
    try:
        line("qpdf", f"{qpdf.version()} (repairs a PDF whose page tree is broken)")
    except HotocrError as exc:
        line("qpdf", f"missing, such PDFs fail as corrupt: {exc}")
    problems.extend(_check_ppocr(cfg, line))
    for i, watch in enumerate(cfg.watches):
        pre = watch.preprocess
        try:
            choice = select_backend(pre.backend, pre.device)
            line(f"watch[{i}] backend", f"{choice.backend.name} ({pre.backend}: {choice.reason})")
        except HotocrError as exc:
            problems.append(f"watch[{i}]: {exc}")
            line(f"watch[{i}] backend", f"UNUSABLE: {exc}")
        line(f"watch[{i}] inbox", str(watch.inbox))
        line(f"watch[{i}] fraktur", _describe_fraktur(watch))
        recognizer, problem = _describe_recognizer(watch)
        line(f"watch[{i}] recognizer", recognizer)
        if problem:
            problems.append(f"watch[{i}]: {problem}")
        outputs, problem = _describe_outputs(watch)
        line(f"watch[{i}] outputs", outputs)
        if problem:
            problems.append(f"watch[{i}]: {problem}")
        if not watch.hook:
            line(f"watch[{i}] hooks", "none")
        for hook in watch.hook:
            said, problem = delivery.describe(hook)
            line(f"watch[{i}] hook {hook.name}", said)
            if problem:
                problems.append(f"watch[{i}]: {problem}")
    if cfg.daemon.executor == "local":
        line("executor", f"local, {cfg.effective_workers()} workers")
    else:
        problems.extend(_check_cluster(cfg, line))
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 3 if problems else 0
