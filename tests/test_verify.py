"""The verification station's core: a person's fixes reach every output, as one set.

A real document is read by ``hotocr process`` with all five outputs; fixes are saved; the
``.txt``, the JSON's edits, hOCR, ALTO and ``pdftotext`` of the ``.ocr.pdf`` must all show
them. A save killed (SIGKILL) at each of its crash points leaves, after recovery, the old or
the new set of outputs, never a mix. Two saves from one version: the second is refused."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotocr import config as config_module
from hotocr.journal import Journal
from hotocr.outputs import SUFFIXES
from hotocr.verify import rewrite
from hotocr.verify.changes import BadFix
from hotocr.verify.documents import Catalogue, Conflict, NotFound

from .conftest import render_page

LINES = ("The invoice was paid in full.", "Thank you for your order.")
ALL = "txt,json,pdf,hocr,alto"


def read_document(tmp_path: Path) -> tuple[config_module.Config, Path]:
    """A config whose one folder's outbox holds ``letter``'s five outputs and original."""
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    render_page(LINES, height=700).save(outbox / "letter.png", dpi=(300, 300))
    done = subprocess.run(
        [sys.executable, "-m", "hotocr", "process", str(outbox / "letter.png"), "--outputs", ALL],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    path = tmp_path / "config.toml"
    path.write_text(
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[watch]]\ninbox = "{tmp_path / "inbox"}"\noutbox = "{outbox}"\n'
        f'failed = "{tmp_path / "failed"}"\n[watch.ocr]\noutputs = ["txt", "json", "pdf", '
        '"hocr", "alto"]\n'
    )
    return config_module.load(path), outbox


def word_index(data: dict, page: int, text: str) -> int:
    words = [w["text"] for w in data["pages"][page - 1]["words"]]
    return words.index(text)


def outputs_of(outbox: Path) -> dict[str, str]:
    """Each output's SHA-256, by ending."""
    return {
        suffix: hashlib.sha256((outbox / f"letter{suffix}").read_bytes()).hexdigest()
        for suffix in SUFFIXES.values()
    }


def pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_fixes_reach_every_output_and_the_record_keeps_who_and_what(tmp_path: Path) -> None:
    cfg, outbox = read_document(tmp_path)
    journal = Journal(tmp_path / "state" / "journal.sqlite3")
    catalogue = Catalogue(cfg, journal)
    assert catalogue.names() == ["0/letter"]
    document = catalogue.get("0/letter")
    paid = word_index(document.data, 1, "paid")
    order = word_index(document.data, 1, "order.")
    saved = catalogue.save(
        "0/letter",
        document.version,
        who="anna",
        page=1,
        fixes={paid: "settled", order: "purchase."},
    )
    assert saved.version != document.version
    text = (outbox / "letter.txt").read_text()
    assert "The invoice was settled in full." in text and "your purchase." in text
    page = saved.data["pages"][0]
    assert [(e["before"], e["after"], e["who"]) for e in page["edits"]] == [
        ("paid", "settled", "anna"),
        ("order.", "purchase.", "anna"),
    ]
    assert page["words"][paid]["text"] == "paid"  # the reading itself is kept
    assert saved.data["verification"]["state"] == "in_progress"
    assert saved.data["created"] == document.data["created"]
    assert "settled" in (outbox / "letter.hocr").read_text()
    alto = (outbox / "letter.alto.xml").read_text()
    assert 'CONTENT="settled"' in alto and "<ALTERNATIVE>paid</ALTERNATIVE>" in alto
    shown = pdftotext(outbox / "letter.ocr.pdf")
    assert "settled" in shown and "paid" not in shown
    assert saved.data["pdf"]["pdfa"] == "2b"
    # A second save from the version the first started from is refused: nothing is lost.
    with pytest.raises(Conflict):
        catalogue.save("0/letter", document.version, who="ben", page=1, fixes={paid: "x"})
    assert "settled" in (outbox / "letter.txt").read_text()
    # Verified: the JSON says by whom, index.csv gets the state, the rest stays.
    done = catalogue.save("0/letter", saved.version, who="anna", verified=True)
    assert done.data["verification"]["state"] == "verified"
    assert done.data["verification"]["by"] == "anna"
    assert "verified" in (outbox / "index.csv").read_text()
    assert not list(outbox.glob(f".*{rewrite.STAGED}"))


@pytest.mark.parametrize(
    "name",
    [
        "0/../config",
        "0//etc/passwd",
        "0/../../etc/passwd",
        "1/letter",
        "x/letter",
        "0/letter.json",
        "0/.hidden",
        "0/letter\x00",
        "0\\letter",
        "",
        "0/" + "a" * 2000,
    ],
)
def test_names_that_lead_outside_the_outboxes_are_refused(tmp_path: Path, name: str) -> None:
    cfg, _ = read_document(tmp_path)
    (tmp_path / "config.json").write_text('{"schema": "hotocr/1"}')
    catalogue = Catalogue(cfg, Journal(tmp_path / "state" / "journal.sqlite3"))
    with pytest.raises(NotFound):
        catalogue.get(name)


def test_a_link_out_of_the_outbox_is_no_document(tmp_path: Path) -> None:
    cfg, outbox = read_document(tmp_path)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(json.loads((outbox / "letter.json").read_text())))
    os.symlink(secret, outbox / "linked.json")
    catalogue = Catalogue(cfg, Journal(tmp_path / "state" / "journal.sqlite3"))
    with pytest.raises(NotFound):
        catalogue.get("0/linked")


@pytest.mark.parametrize("text", ["", "   ", "a\nb", "a\x00b", "x" * 201])
def test_a_word_that_no_word_can_be_is_refused(tmp_path: Path, text: str) -> None:
    cfg, outbox = read_document(tmp_path)
    catalogue = Catalogue(cfg, Journal(tmp_path / "state" / "journal.sqlite3"))
    document = catalogue.get("0/letter")
    before = outputs_of(outbox)
    with pytest.raises(BadFix):
        catalogue.save("0/letter", document.version, who="a", page=1, fixes={0: text})
    with pytest.raises(BadFix):
        catalogue.save("0/letter", document.version, who="a", page=1, fixes={999: "word"})
    assert outputs_of(outbox) == before


SAVE = """
import sys
from pathlib import Path
from hotocr import config
from hotocr.journal import Journal
from hotocr.verify.documents import Catalogue
cfg = config.load(Path(sys.argv[1]))
catalogue = Catalogue(cfg, Journal(cfg.daemon.state_dir / "journal.sqlite3"))
document = catalogue.get("0/letter")
fixes = {int(sys.argv[2]): "settled"}
catalogue.save("0/letter", document.version, who="anna", page=1, fixes=fixes)
"""


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ("verify_staged", "old"),
        ("verify_committed", "new"),
        ("verify_between_renames", "new"),
    ],
)
def test_a_save_killed_midway_leaves_one_set_after_recovery(
    tmp_path: Path, point: str, expected: str
) -> None:
    cfg, outbox = read_document(tmp_path)
    paid = word_index(json.loads((outbox / "letter.json").read_text()), 1, "paid")
    old = outputs_of(outbox)
    killed = subprocess.run(
        [sys.executable, "-c", SAVE, str(tmp_path / "config.toml"), str(paid)],
        env={**os.environ, "HOTOCR_TEST_CRASH_AT": point},
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    journal = Journal(cfg.daemon.state_dir / "journal.sqlite3")
    rewrite.recover(journal, [outbox])
    now = outputs_of(outbox)
    assert not list(outbox.glob(f".*{rewrite.STAGED}"))
    text = (outbox / "letter.txt").read_text()
    data = json.loads((outbox / "letter.json").read_text())
    shown = pdftotext(outbox / "letter.ocr.pdf")
    if expected == "old":
        assert now == old
    else:  # every output is new, and they agree
        assert all(now[s] != old[s] for s in SUFFIXES.values())
        assert "settled" in text and data["pages"][0]["edits"][0]["after"] == "settled"
        assert "settled" in shown and "settled" in (outbox / "letter.hocr").read_text()
