"""Configuration: frozen dataclasses, validated once at start-up.

The dataclass fields are the single source of truth: their metadata drives validation (errors
name the file, the key and what is allowed), the defaults, and the commented file that
``hotocr init-config`` writes. ``[preprocess]``, ``[ocr]`` and ``[correction]`` hold defaults
that each ``[[watch]]`` table may override in its own ``[watch.preprocess]`` (etc.) subtable.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from hotocr.errors import ConfigError

PREPROCESS_STEPS = (
    "grayscale",
    "upscale",
    "downscale",
    "fit_text",
    "deskew",
    "remove_background",
    "contrast",
    "despeckle",
    "binarize",
    "binarize_sauvola",
)
#: What a document's result can be written as (``hotocr.outputs``); json is always among them.
OUTPUT_FORMATS = ("txt", "json", "pdf", "hocr", "alto")
DEFAULT_IGNORE = (
    ".*",
    "~$*",
    "*.tmp",
    "*.part",
    "*.partial",
    "*.crdownload",
    "*.filepart",
    "*.error.json",
)


def _opt(
    default: Any,
    help: str,
    *,
    choices: tuple[Any, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    min_items: int = 0,
    pattern: tuple[str, str] | None = None,
) -> Any:
    """A dataclass field with the help text and limits used by validation and init-config."""
    meta = {
        "help": help,
        "choices": choices,
        "minimum": minimum,
        "maximum": maximum,
        "min_items": min_items,
        "pattern": pattern,
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class PreprocessConfig:
    backend: str = _opt(
        "auto",
        "auto | cpu | gpu. auto uses the GPU when CuPy works on `device`, else the CPU.",
        choices=("auto", "cpu", "gpu"),
    )
    device: int = _opt(0, "CUDA device number for the gpu backend.", minimum=0)
    gpu_memory_limit: int = _opt(
        0, "MiB of GPU memory one worker's preprocessing may hold (0 = no limit).", minimum=0
    )
    steps: tuple[str, ...] = _opt(
        ("downscale", "fit_text", "deskew", "remove_background", "contrast"),
        "Steps in the order they run. Known: " + ", ".join(PREPROCESS_STEPS) + ".",
        choices=PREPROCESS_STEPS,
    )
    adaptive: bool = _opt(
        True,
        "Measure each page first and run remove_background and contrast only where its paper "
        "or ink needs them (read both ways where unclear); false: every step on every page.",
    )


@dataclass(frozen=True)
class OcrConfig:
    low_confidence: float = _opt(
        70.0,
        "A page whose mean word confidence (0-100) is below this is flagged for review.",
        minimum=0,
        maximum=100,
    )
    timeout_seconds: float = _opt(
        180.0, "Longest Tesseract may spend on one page; the page is then flagged.", minimum=1
    )
    dpi: int = _opt(300, "Resolution at which PDF pages are rendered.", minimum=72, maximum=1200)
    psm: int = _opt(3, "Tesseract page segmentation mode (3 = automatic).", minimum=1, maximum=13)
    auto_rotate: bool = _opt(
        True, "Turn pages scanned at 90/180/270 degrees upright (Tesseract OSD)."
    )
    engine: str = _opt(
        "auto",
        "library | command | auto. library: Tesseract's C API, models loaded once per "
        "worker; command: the tesseract program per page; auto: the library where it loads.",
        choices=("auto", "library", "command"),
    )
    recognizer: str = _opt(
        "auto",
        "auto | tesseract | ppocr. Which recognizer reads a page: Tesseract, or PP-OCR (the "
        "neural models of the rapidocr package, on ONNX Runtime: far better on photos, "
        "receipts, faxes, stains and Chinese, slower, weaker on clean pages in columns). "
        "auto: per page, from what the page shows; where the first reading is unsure, both "
        "read it and the more confident is kept (the JSON's recipe says which and why).",
        choices=("auto", "tesseract", "ppocr"),
    )
    provider: str = _opt(
        "auto",
        "auto | cpu | cuda. Where PP-OCR's models run (ONNX Runtime): cuda needs the GPU "
        "build (pip install 'hotocr[gpu]', make gpu). auto: CUDA where it is installed and "
        "loads, else the CPU; cuda: the same, but hotocr check fails without CUDA. A page "
        "the GPU fails on is read on the CPU; the JSON's recipe says where each page ran.",
        choices=("auto", "cpu", "cuda"),
    )
    gpu_memory_limit: int = _opt(
        0,
        "MiB of GPU memory one worker's PP-OCR sessions may hold (0 = no limit): with "
        "16 workers on one card, 16 such shares.",
        minimum=0,
    )
    fraktur: str = _opt(
        "auto",
        "auto | off | always. Pages of a folder reading German (deu) in Fraktur type are read "
        "with Tesseract's Fraktur model (frk): auto tells them apart per page (OSD's script), "
        "always reads every page so.",
        choices=("auto", "off", "always"),
    )
    outputs: tuple[str, ...] = _opt(
        ("txt", "json"),
        "Files written per document: txt (text), json (everything; required: it marks a "
        "document complete), pdf (<stem>.ocr.pdf: the original with an invisible text layer), "
        "hocr (<stem>.hocr), alto (<stem>.alto.xml, ALTO v4).",
        choices=OUTPUT_FORMATS,
        min_items=1,
    )
    max_pages: int = _opt(
        2000, "Documents with more pages than this go to failed/ (0 = no limit).", minimum=0
    )
    existing_text: str = _opt(
        "skip",
        "skip | redo | force: a PDF page that already has text. skip: its text is taken as it "
        "is (not read again), and where ink lies outside that text (a scan with a digital "
        "footer) the page is read and only words the PDF lacks are added; redo: an earlier "
        "OCR's invisible text is taken out and the page read again, visible text stays; "
        "force: read as an image, whatever text it has (an earlier OCR's invisible text is taken "
        "out; visible text is then found twice). Text that cannot be extracted counts as none.",
        choices=("skip", "redo", "force"),
    )
    pdfa: bool = _opt(
        True,
        "The .ocr.pdf is PDF/A-2b (an sRGB output intent, PDF/A metadata; the content is not "
        "re-encoded) where the original allows it; where it does not (a font not embedded, "
        "JavaScript, an attachment), a plain PDF, and the JSON says why.",
    )
    upright_pages: bool = _opt(
        True,
        "In the .ocr.pdf, a page read sideways or upside down gets /Rotate so that it is shown "
        "upright (its content is not re-encoded; the text layer turns with it).",
    )


@dataclass(frozen=True)
class CorrectionConfig:
    enabled: bool = _opt(
        True, "Correct typical OCR misreadings; the JSON sidecar keeps the raw text too."
    )
    dictionary: Path | None = _opt(
        None, 'Word list (one per line: names, product terms) never changed; "" = none.'
    )
    rules: Path | None = _opt(
        None, "Exact replacements, one 'printed -> meant' per line; \"\" = none."
    )


HOOK_EVENTS = ("done", "failed", "verified")


@dataclass(frozen=True)
class HookConfig:
    """One ``[[watch.hook]]``: a program run, or an address POSTed to, for each outcome."""

    name: str = _opt(
        "", 'Its name in logs, metrics and `hotocr hooks`; "" = hook1, hook2 ... in order.'
    )
    command: tuple[str, ...] = _opt(
        (), "Program and arguments, run with the event as JSON on standard input."
    )
    url: str = _opt(
        "",
        "Address the event is POSTed to as JSON (TLS certificates are verified).",
        pattern=(r"|https?://\S+", "an http:// or https:// address"),
    )
    headers: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "help": 'HTTP headers; a value "env:NAME" or "file:/path" is read from there'
            " (never logged)."
        },
    )
    events: tuple[str, ...] = _opt(
        HOOK_EVENTS,
        "Outcomes that fire it: done, failed, verified (a person checked the document).",
        choices=HOOK_EVENTS,
        min_items=1,
    )
    timeout_seconds: float = _opt(
        30.0, "A run or request taking longer is stopped and tried again later.", minimum=0.1
    )
    backoff_seconds: float = _opt(
        5.0, "Wait before the first retry; it doubles, up to 10 minutes.", minimum=0.1
    )
    give_up_hours: float = _opt(
        24.0, "An event not delivered this long after it happened is undeliverable.", minimum=0
    )


@dataclass(frozen=True)
class WatchConfig:
    inbox: Path = _opt(Path("var/inbox"), "Folder scanners and people drop files into.")
    outbox: Path = _opt(Path("var/outbox"), "Originals and their .txt/.json sidecars end up here.")
    failed: Path = _opt(Path("var/failed"), "Files that cannot be read go here with a .error.json.")
    languages: tuple[str, ...] = _opt(
        ("eng",), 'Tesseract languages, e.g. ["eng", "deu"] or ["chi_sim"].', min_items=1
    )
    stable_seconds: float = _opt(
        2.0,
        "A file is read only after its size and mtime stayed the same this long.",
        minimum=0,
    )
    incomplete_seconds: float = _opt(
        120.0,
        "A settled file that still looks cut short this long goes to failed/ as truncated.",
        minimum=1,
    )
    duplicates: str = _opt(
        "process",
        "process | skip. skip: content already done in this folder goes to failed/ as a duplicate.",
        choices=("process", "skip"),
    )
    review_page: bool = _opt(
        False, "Keep a review page of flagged pages up to date in <outbox>/review/index.html."
    )
    verify: str = _opt(
        "off",
        "off | flagged | all: which documents wait in the verification station's queue "
        "(hotocr verify) until a person marks them verified; their outputs are published at "
        "once all the same, and hooks hear 'verified' when they are.",
        choices=("off", "flagged", "all"),
    )
    polling: bool = _opt(False, "Poll the folder instead of inotify (needed for SMB/NFS mounts).")
    ignore: tuple[str, ...] = _opt(
        DEFAULT_IGNORE, "Name patterns never picked up (hidden and temporary files)."
    )
    assemble: str = _opt(
        "file",
        "file | folder. file: every file is a document. folder: the files of each sub-folder "
        "of the inbox become one document (pages in natural name order), once the sub-folder "
        "has not changed for quiet_seconds; files directly in the inbox stay documents alone.",
        choices=("file", "folder"),
    )
    quiet_seconds: float = _opt(
        30.0,
        'With assemble = "folder": a sub-folder is taken once nothing in it changed this long.',
        minimum=1,
    )
    separate: str = _opt(
        "none",
        "none | blank | barcode. Split a document at separator pages, which are dropped: "
        "blank pages (no ink), or pages with a PATCH-T code or a Code 128 / QR code reading "
        "separator_value. The parts are written as <stem>-1, <stem>-2, ...",
        choices=("none", "blank", "barcode"),
    )
    separator_value: str = _opt(
        "PATCH T",
        'With separate = "barcode": the Code 128 / QR value of a separator sheet.',
        pattern=(r".+", "a non-empty string"),
    )
    duplex: bool = _opt(
        False,
        'With assemble = "folder": a folder holds two files of N pages each, all fronts and '
        "all backs in reverse (a simplex scanner's two passes); their pages are interleaved.",
    )
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    ocr: OcrConfig = field(default_factory=OcrConfig)
    correction: CorrectionConfig = field(default_factory=CorrectionConfig)
    hook: tuple[HookConfig, ...] = ()


@dataclass(frozen=True)
class DaemonConfig:
    state_dir: Path = _opt(Path("var/state"), "Where the daemon keeps its state.")
    workers: int = _opt(0, "Page-processing processes; 0 = one per CPU core.", minimum=0)
    log_format: str = _opt(
        "auto",
        "auto | json | console. auto: readable on a terminal, JSON lines otherwise.",
        choices=("auto", "json", "console"),
    )
    log_level: str = _opt(
        "info", "debug | info | warning | error", choices=("debug", "info", "warning", "error")
    )
    max_attempts: int = _opt(
        3,
        "A file whose processing was cut short by a crash this many times is quarantined.",
        minimum=1,
    )
    metrics: str = _opt(
        "",
        'host:port for Prometheus /metrics and /healthz, e.g. "127.0.0.1:9464"; "" = off.',
    )
    health_stall_seconds: float = _opt(
        60.0, "/healthz turns unhealthy when the main loop made no progress this long.", minimum=1
    )
    rescan_seconds: float = _opt(
        60.0,
        "Full rescan of every inbox this often, to catch anything the watcher missed.",
        minimum=1,
    )
    journal_keep_days: float = _opt(
        30.0,
        "Finished documents stay in the journal this long (`hotocr status`, duplicates ="
        ' "skip"), then are forgotten; unfinished ones always stay.',
        minimum=0.0001,
    )
    executor: str = _opt(
        "local",
        'Where pages run: "local" (a process pool of `workers`) or a Dask scheduler, '
        '"tcp://host:8786" or "tls://host:8786" (pip install hotocr[dask]).',
        pattern=(
            r"local|(tcp|tls)://[^\s/:]+:\d{1,5}",
            '"local", "tcp://HOST:PORT" or "tls://HOST:PORT"',
        ),
    )


@dataclass(frozen=True)
class VerifyConfig:
    """The verification station (``hotocr verify``): a person fixes flagged words."""

    listen: str = _opt(
        "127.0.0.1:8090",
        "HOST:PORT the verification station serves (loopback by default: put a reverse proxy "
        "with TLS in front of it for other machines).",
        pattern=(r"\[?[0-9A-Za-z.:-]+\]?:\d{1,5}", "HOST:PORT"),
    )
    token: str = _opt(
        "env:HOTOCR_VERIFY_TOKEN",
        'The token every request must carry: "env:NAME", "file:/path" or the token itself; '
        '"" only behind a reverse proxy that authenticates (docs/operations.md).',
    )


@dataclass(frozen=True)
class Config:
    daemon: DaemonConfig
    watches: tuple[WatchConfig, ...]
    #: The file it was read from, or None for the built-in defaults.
    source: Path | None = None
    verify: VerifyConfig = field(default_factory=VerifyConfig)

    def effective_workers(self) -> int:
        if self.daemon.workers:
            return self.daemon.workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)

    def languages_needed(self) -> tuple[str, ...]:
        """Every Tesseract language a watch folder uses (osd when pages are auto-rotated)."""
        return tesseract_languages(
            (w.languages, w.ocr.auto_rotate, w.ocr.fraktur) for w in self.watches
        )


#: The Fraktur model, and the languages whose old prints it reads.
FRAKTUR_MODEL = "frk"
FRAKTUR_LANGUAGES = frozenset({"deu"})


def fraktur_applies(languages: tuple[str, ...], fraktur: str) -> bool:
    """Whether a folder's pages may be read with the Fraktur model."""
    names = {name for lang in languages for name in lang.split("+")}
    return fraktur != "off" and bool(FRAKTUR_LANGUAGES & names)


def tesseract_languages(uses: Iterable[tuple[tuple[str, ...], bool, str]]) -> tuple[str, ...]:
    """The Tesseract languages of (languages, auto_rotate, fraktur) triples, in order, each
    once: "eng+deu" names two, auto-rotation and telling Fraktur apart need osd, and German
    folders need the Fraktur model unless ``fraktur = "off"``."""
    seen: dict[str, None] = {}
    for languages, auto_rotate, fraktur in uses:
        for lang in languages:
            seen.update(dict.fromkeys(lang.split("+")))
        if fraktur_applies(languages, fraktur):
            seen[FRAKTUR_MODEL] = None
            if fraktur == "auto":
                seen["osd"] = None
        if auto_rotate:
            seen["osd"] = None
    return tuple(seen)


_SECTIONS: Mapping[str, type[Any]] = {
    "preprocess": PreprocessConfig,
    "ocr": OcrConfig,
    "correction": CorrectionConfig,
}


# --- reading --------------------------------------------------------------------------------


def load(path: Path | None) -> Config:
    """Read and validate ``path``; None gives the built-in defaults (paths relative to cwd)."""
    if path is None:
        return from_mapping({}, source=None, base=Path.cwd())
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return from_mapping(data, source=path, base=path.absolute().parent)


def from_mapping(data: Mapping[str, Any], *, source: Path | None, base: Path) -> Config:
    ctx = _Context(str(source) if source else "<defaults>", base)
    _reject_unknown(ctx, "", data, {"daemon", "watch", "verify", *_SECTIONS})
    daemon = ctx.build(DaemonConfig, _table(ctx, data, "daemon"), "daemon")
    verify = ctx.build(VerifyConfig, _table(ctx, data, "verify"), "verify")
    defaults = {
        name: ctx.build(cls, _table(ctx, data, name), name) for name, cls in _SECTIONS.items()
    }
    raw_watches = data.get("watch", [{}])
    if not isinstance(raw_watches, list) or not raw_watches:
        raise ConfigError(f"{ctx.file}: [[watch]] must be one or more tables")
    watches = tuple(
        _build_watch(ctx, entry, f"watch[{i}]", defaults) for i, entry in enumerate(raw_watches)
    )
    _check_folders(ctx, watches)
    return Config(daemon=daemon, watches=_name_hooks(ctx, watches), source=source, verify=verify)


def _name_hooks(ctx: _Context, watches: tuple[WatchConfig, ...]) -> tuple[WatchConfig, ...]:
    """Every hook gets a name unique in the file: its own, or hook1, hook2 ... in order."""
    seen: set[str] = set()
    named = []
    number = 0
    for i, watch in enumerate(watches):
        hooks = []
        for j, hook in enumerate(watch.hook):
            number += 1
            name = hook.name or f"hook{number}"
            if name in seen:
                raise ConfigError(f"{ctx.file}: [watch[{i}].hook[{j}]] name {name!r} is taken")
            seen.add(name)
            hooks.append(dataclasses.replace(hook, name=name))
        named.append(dataclasses.replace(watch, hook=tuple(hooks)))
    return tuple(named)


def _build_watch(ctx: _Context, entry: Any, where: str, defaults: Mapping[str, Any]) -> WatchConfig:
    if not isinstance(entry, dict):
        raise ConfigError(f"{ctx.file}: [{where}] must be a table")
    plain = {k: v for k, v in entry.items() if k not in _SECTIONS and k != "hook"}
    watch = ctx.build(WatchConfig, plain, where, skip={*_SECTIONS, "hook"})
    overrides = {
        name: ctx.build(
            cls,
            _table(ctx, entry, name, where=f"{where}.{name}"),
            f"{where}.{name}",
            base=defaults[name],
        )
        for name, cls in _SECTIONS.items()
    }
    built: WatchConfig = dataclasses.replace(
        watch, **overrides, hook=_build_hooks(ctx, entry.get("hook", []), where)
    )
    return built


def _build_hooks(ctx: _Context, raw: Any, where: str) -> tuple[HookConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{ctx.file}: [[{where}.hook]] must be one or more tables")
    hooks = []
    for i, entry in enumerate(raw):
        place = f"{where}.hook[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{ctx.file}: [{place}] must be a table")
        hook: HookConfig = ctx.build(HookConfig, entry, place)
        if bool(hook.command) == bool(hook.url):
            raise ConfigError(f"{ctx.file}: [{place}] needs either command or url (one of them)")
        if hook.headers and not hook.url:
            raise ConfigError(f"{ctx.file}: [{place}] headers are for a url hook")
        hooks.append(hook)
    return tuple(hooks)


def check_hook_secrets(cfg: Config) -> None:
    """Every hook header read from the environment or a file can be read: checked by the
    daemon and ``hotocr check``, not by every command that reads the config (``hotocr
    status`` in an operator's shell has not got the service's secrets)."""
    for i, watch in enumerate(cfg.watches):
        for j, hook in enumerate(watch.hook):
            for header, value in hook.headers.items():
                try:
                    resolve_secret(value)
                except ValueError as exc:
                    raise ConfigError(
                        f"{cfg.source or '<defaults>'}: [watch[{i}].hook[{j}]] headers.{header}:"
                        f" {exc}"
                    ) from None


def resolve_secret(value: str) -> str:
    """A header value as configured: "env:NAME" from the environment, "file:/path" from a
    file (without its final newline), else itself. ValueError names what is missing, never
    the value."""
    if value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ValueError(f"the environment variable {name} is not set")
        return os.environ[name]
    if value.startswith("file:"):
        try:
            return Path(value[5:]).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ValueError(f"cannot read {value[5:]}: {exc.strerror}") from None
    return value


def _check_folders(ctx: _Context, watches: tuple[WatchConfig, ...]) -> None:
    inboxes: dict[Path, str] = {}
    for i, watch in enumerate(watches):
        where = f"watch[{i}]"
        if "json" not in watch.ocr.outputs:
            raise ConfigError(
                f"{ctx.file}: [{where}.ocr] outputs = {list(watch.ocr.outputs)!r} must include "
                '"json": it marks a document complete and feeds the index, review and recovery'
            )
        for key in ("outbox", "failed"):
            other: Path = getattr(watch, key)
            if other == watch.inbox or other.is_relative_to(watch.inbox):
                raise ConfigError(
                    f"{ctx.file}: [{where}] {key} = {str(other)!r} must not be inside the "
                    f"inbox, or results would be picked up again"
                )
        if watch.duplex and watch.assemble != "folder":
            raise ConfigError(
                f'{ctx.file}: [{where}] duplex = true needs assemble = "folder": the two '
                "passes of a duplex scan are collated from one sub-folder"
            )
        if watch.inbox in inboxes:
            raise ConfigError(
                f"{ctx.file}: [{where}] inbox = {str(watch.inbox)!r} is already watched "
                f"by [{inboxes[watch.inbox]}]"
            )
        inboxes[watch.inbox] = where


def _table(
    ctx: _Context, data: Mapping[str, Any], name: str, *, where: str | None = None
) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{ctx.file}: [{where or name}] must be a table")
    return value


def _reject_unknown(ctx: _Context, where: str, data: Mapping[str, Any], known: set[str]) -> None:
    for key in data:
        if key not in known:
            place = f"[{where}] " if where else ""
            raise ConfigError(
                f"{ctx.file}: {place}unknown key {key!r}; allowed: {', '.join(sorted(known))}"
            )


@dataclass(frozen=True)
class _Context:
    file: str
    base: Path

    def build(
        self,
        cls: type[Any],
        table: Mapping[str, Any],
        where: str,
        *,
        skip: set[str] | None = None,
        base: Any = None,
    ) -> Any:
        """Validate ``table`` into ``cls``; keys it leaves out come from ``base`` or defaults."""
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in (skip or set())}
        _reject_unknown(self, where, table, set(fields) | (skip or set()))
        hints = typing.get_type_hints(cls)
        values = {
            name: self.convert(f"[{where}] {name}", table[name], hints[name], fields[name])
            for name in fields
            if name in table
        }
        for name, f in fields.items():
            if hints[name] is Path and name not in values and base is None:
                # Defaults are relative to the config file's folder too.
                values[name] = self.convert(name, str(f.default), Path, f)
        return dataclasses.replace(base, **values) if base is not None else cls(**values)

    def convert(self, key: str, value: Any, hint: Any, f: dataclasses.Field[Any]) -> Any:
        meta = f.metadata
        choices = meta.get("choices")

        def bad(allowed: str) -> ConfigError:
            return ConfigError(f"{self.file}: {key} = {_show(value)}: {allowed}")

        if hint is bool:
            if not isinstance(value, bool):
                raise bad("must be true or false")
            return value
        if hint in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad(f"must be a number{_range(meta)}")
            if hint is int and not isinstance(value, int):
                raise bad(f"must be a whole number{_range(meta)}")
            lo, hi = meta.get("minimum"), meta.get("maximum")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise bad(f"must be{_range(meta)}")
            return hint(value)
        if hint is str:
            if not isinstance(value, str):
                raise bad("must be a string" + _choices(choices))
            if choices and value not in choices:
                raise bad("must be one of " + ", ".join(repr(c) for c in choices))
            pattern = meta.get("pattern")
            if pattern and not re.fullmatch(pattern[0], value):
                raise bad("must be " + pattern[1])
            return value
        if hint == Path | None:
            if value == "":
                return None
            hint = Path
        if hint is Path:
            if not isinstance(value, str) or not value:
                raise bad("must be a non-empty path string")
            path = Path(os.path.expanduser(value))
            return Path(os.path.normpath(path if path.is_absolute() else self.base / path))
        if typing.get_origin(hint) is dict:
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise ConfigError(f"{self.file}: {key} must be a table of strings")
            return dict(value)
        if typing.get_origin(hint) is tuple:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad("must be a list of strings" + _choices(choices))
            if choices:
                unknown = [v for v in value if v not in choices]
                if unknown:
                    raise bad(f"unknown {unknown[0]!r}; allowed: " + ", ".join(choices))
            need = int(meta.get("min_items", 0))
            if len(value) < need:
                raise bad("must list at least " + ("one item" if need == 1 else f"{need} items"))
            return tuple(value)
        raise TypeError(f"unsupported config type {hint!r}")  # pragma: no cover


def _show(value: Any) -> str:
    """A value as TOML on one line (tomli-w would spread arrays over several)."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, Path):
        value = str(value)
    if value is None:
        value = ""
    if isinstance(value, dict):
        return "{...}"
    return tomli_w.dumps({"v": value})[4:].strip()


def _range(meta: Mapping[str, Any]) -> str:
    lo, hi = meta.get("minimum"), meta.get("maximum")
    if lo is not None and hi is not None:
        return f" between {lo:g} and {hi:g}"
    if lo is not None:
        return f" of at least {lo:g}"
    return ""


def _choices(choices: tuple[Any, ...] | None) -> str:
    return f" ({', '.join(map(str, choices))})" if choices else ""


# --- writing ------------------------------------------------------------------------------


def render_default() -> str:
    """The complete, commented default config (the repository's ``config.toml``)."""
    out = [
        "# hotocr configuration. Every key is shown with its default value.",
        "# Relative paths are relative to the folder of this file.",
        "",
    ]
    out += _render_table("[daemon]", DaemonConfig())
    out += [
        "# One [[watch]] table per drop folder; several are allowed. Inside a [[watch]] table,",
        "# [watch.preprocess], [watch.ocr] and [watch.correction] override the defaults below",
        "# for that folder only, e.g.:",
        "#   [watch.ocr]",
        "#   low_confidence = 60",
    ]
    out += _render_table("[[watch]]", WatchConfig(), skip={*_SECTIONS, "hook"})
    out += [
        "# Tell other systems: any number of [[watch.hook]] tables per folder, each with either",
        "# a command or a url. Delivery is at least once (see docs/operations.md), e.g.:",
        "#   [[watch.hook]]",
        '#   url = "https://dms.example.org/hotocr"',
        '#   headers = { Authorization = "env:DMS_TOKEN" }',
    ]
    for line in _render_table("[[watch.hook]]", HookConfig())[1:-1]:
        out.append(f"#   {line}")
    out.append("")
    for name, cls in _SECTIONS.items():
        out += _render_table(f"[{name}]", cls())
    out += _render_table("[verify]", VerifyConfig())
    return "\n".join(out).rstrip() + "\n"


def _render_table(header: str, obj: Any, skip: set[str] | None = None) -> list[str]:
    lines = [header]
    for f in dataclasses.fields(obj):
        if skip and f.name in skip:
            continue
        lines.append(f"# {f.metadata['help']}")
        value = getattr(obj, f.name)
        lines.append(f"{f.name} = {'{}' if isinstance(value, dict) else _show(value)}")
    lines.append("")
    return lines
