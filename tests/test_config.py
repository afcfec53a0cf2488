from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotocr import config
from hotocr.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def load_text(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "hotocr.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def test_repository_config_is_the_rendered_default() -> None:
    # config.toml is what `make run` uses; it must not drift from the code's defaults.
    assert (ROOT / "config.toml").read_text(encoding="utf-8") == config.render_default()


def test_rendered_default_parses_back_to_the_defaults(tmp_path: Path) -> None:
    from_file = load_text(tmp_path, config.render_default())
    built_in = config.from_mapping({}, source=None, base=tmp_path)
    assert from_file.daemon == built_in.daemon
    assert from_file.watches == built_in.watches


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    cfg = load_text(tmp_path, '[[watch]]\ninbox = "in"\noutbox = "/srv/out"\n')
    assert cfg.watches[0].inbox == tmp_path / "in"
    assert cfg.watches[0].outbox == Path("/srv/out")
    assert cfg.watches[0].failed == tmp_path / "var" / "failed"
    assert cfg.daemon.state_dir == tmp_path / "var" / "state"


def test_watch_overrides_only_the_keys_it_names(tmp_path: Path) -> None:
    cfg = load_text(
        tmp_path,
        """
[ocr]
low_confidence = 60
timeout_seconds = 30

[[watch]]
inbox = "a"
outbox = "a-out"

[[watch]]
inbox = "b"
outbox = "b-out"
languages = ["chi_sim"]
[watch.ocr]
low_confidence = 40
[watch.preprocess]
steps = ["remove_background"]
""",
    )
    first, second = cfg.watches
    assert first.ocr.low_confidence == 60 and first.ocr.timeout_seconds == 30
    assert second.ocr.low_confidence == 40 and second.ocr.timeout_seconds == 30
    assert second.preprocess.steps == ("remove_background",)
    assert first.preprocess.steps == (
        "downscale",
        "fit_text",
        "deskew",
        "remove_background",
        "contrast",
    )
    assert cfg.languages_needed() == ("eng", "osd", "chi_sim")


@pytest.mark.parametrize(
    ("watch", "needed"),
    [
        ('languages = ["deu"]', ("deu", "frk", "osd")),
        ('languages = ["deu+eng"]\n[watch.ocr]\nauto_rotate = false', ("deu", "eng", "frk", "osd")),
        ('languages = ["deu"]\n[watch.ocr]\nfraktur = "off"', ("deu", "osd")),
        (
            'languages = ["deu"]\n[watch.ocr]\nfraktur = "always"\nauto_rotate = false',
            ("deu", "frk"),
        ),
        ('languages = ["eng"]\n[watch.ocr]\nfraktur = "always"', ("eng", "osd")),
    ],
)
def test_german_folders_need_the_fraktur_model(
    tmp_path: Path, watch: str, needed: tuple[str, ...]
) -> None:
    cfg = load_text(tmp_path, f'[[watch]]\ninbox = "in"\n{watch}\n')
    assert cfg.languages_needed() == needed


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[daemon]\nworkerz = 2\n", ["[daemon]", "unknown key 'workerz'", "workers"]),
        ("[daemon]\nworkers = -1\n", ["[daemon] workers = -1", "at least 0"]),
        ("[daemon]\nworkers = 1.5\n", ["workers = 1.5", "whole number"]),
        ('[daemon]\nlog_format = "xml"\n', ['log_format = "xml"', "'json'"]),
        ('[preprocess]\nbackend = "tpu"\n', ["[preprocess] backend", "'auto', 'cpu', 'gpu'"]),
        ('[preprocess]\nsteps = ["blur"]\n', ["steps", "unknown 'blur'", "deskew"]),
        ("[preprocess]\nadaptive = 1\n", ["[preprocess] adaptive", "true or false"]),
        ('[ocr]\nfraktur = "yes"\n', ['[ocr] fraktur = "yes"', "'auto', 'off', 'always'"]),
        ('[ocr]\noutputs = ["txt", "docx"]\n', ["[ocr] outputs", "unknown 'docx'", "alto"]),
        ('[ocr]\noutputs = ["txt", "pdf"]\n', ["[watch[0].ocr] outputs", 'must include "json"']),
        ("[ocr]\nlow_confidence = 101\n", ["[ocr] low_confidence = 101", "between 0 and 100"]),
        ('[ocr]\nauto_rotate = "yes"\n', ["auto_rotate", "true or false"]),
        ("[[watch]]\nlanguages = []\n", ["[watch[0]] languages", "at least one"]),
        ("[[watch]]\n[watch.ocr]\npsm = 99\n", ["[watch[0].ocr] psm = 99", "between 1 and 13"]),
        ("[[watch]]\n[watch.ocr]\ncolour = 1\n", ["[watch[0].ocr]", "unknown key 'colour'"]),
        ("[surprise]\nx = 1\n", ["unknown key 'surprise'"]),
        (
            '[[watch]]\ninbox = "in"\noutbox = "in/out"\n',
            ["outbox", "must not be inside the inbox"],
        ),
        ('[[watch]]\ninbox = "x"\n[[watch]]\ninbox = "x"\n', ["already watched"]),
        ("[daemon\n", ["not valid TOML"]),
        ('[daemon]\nexecutor = "dask"\n', ['executor = "dask"', '"tcp://HOST:PORT"']),
        ('[daemon]\nexecutor = "tcp://host"\n', ["executor", '"local"']),
    ],
)
def test_errors_name_the_file_the_key_and_what_is_allowed(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    message = str(info.value)
    assert str(tmp_path / "hotocr.toml") in message
    for fragment in fragments:
        assert fragment in message


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = load_text(tmp_path, "")
    with pytest.raises(AttributeError):
        cfg.daemon.workers = 3  # type: ignore[misc]


def test_workers_zero_means_one_per_core(tmp_path: Path) -> None:
    assert load_text(tmp_path, "").effective_workers() == len(os.sched_getaffinity(0))
    assert load_text(tmp_path, "[daemon]\nworkers = 3\n").effective_workers() == 3
