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
    catalogue = Catalogue(cfg)
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
    catalogue = Catalogue(cfg)
    with pytest.raises(NotFound):
        catalogue.get(name)


def test_a_link_out_of_the_outbox_is_no_document(tmp_path: Path) -> None:
    cfg, outbox = read_document(tmp_path)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(json.loads((outbox / "letter.json").read_text())))
    os.symlink(secret, outbox / "linked.json")
    catalogue = Catalogue(cfg)
    with pytest.raises(NotFound):
        catalogue.get("0/linked")


@pytest.mark.parametrize("text", ["", "   ", "a\nb", "a\x00b", "x" * 201])
def test_a_word_that_no_word_can_be_is_refused(tmp_path: Path, text: str) -> None:
    cfg, outbox = read_document(tmp_path)
    catalogue = Catalogue(cfg)
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
catalogue = Catalogue(cfg)
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


# --- the web application ----------------------------------------------------------------------

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def station(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The app over a folder with verify = "all", a rules file and a hook, as TestClient."""
    from starlette.testclient import TestClient  # noqa: PLC0415

    from hotocr.verify.app import make_app  # noqa: PLC0415
    from hotocr.verify.auth import Keys  # noqa: PLC0415

    cfg, outbox = read_document(tmp_path)
    path = tmp_path / "config.toml"
    text = path.read_text().replace(
        f'failed = "{tmp_path / "failed"}"\n',
        f'failed = "{tmp_path / "failed"}"\nverify = "all"\n',
    )
    text += f'[watch.correction]\nrules = "{tmp_path / "rules.txt"}"\n'
    text += '[[watch.hook]]\nname = "dms"\ncommand = ["true"]\n'
    path.write_text(text)
    cfg = config_module.load(path)
    journal = Journal(cfg.daemon.state_dir / "journal.sqlite3")
    app = make_app(cfg, Catalogue(cfg), Keys(TOKEN))
    client = TestClient(app, base_url="http://127.0.0.1:8090", raise_server_exceptions=False)
    client.outbox = outbox  # type: ignore[attr-defined]
    client.journal = journal  # type: ignore[attr-defined]
    client.tmp = tmp_path  # type: ignore[attr-defined]
    return client


BEARER = {"Authorization": f"Bearer {TOKEN}", "X-Hotocr-User": "script"}


def test_every_request_needs_the_token(station) -> None:  # type: ignore[no-untyped-def]
    assert station.get("/api/queue").status_code == 401
    assert station.get("/api/doc/0/letter").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert station.get("/api/queue", headers=wrong).status_code == 401
    page = station.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert station.get("/api/queue", headers=BEARER).status_code == 200
    refused = station.post("/login", data={"user": "anna", "token": "nope"})
    assert refused.status_code == 401 and "Wrong token" in refused.text


def test_a_logged_in_person_needs_the_pages_csrf_token_to_change_anything(station) -> None:  # type: ignore[no-untyped-def]
    login = station.post("/login", data={"user": "anna", "token": TOKEN}, follow_redirects=False)
    assert login.status_code == 303
    page = station.get("/")
    assert page.status_code == 200
    csrf = page.text.split('name="csrf" content="')[1].split('"')[0]
    doc = station.get("/api/doc/0/letter").json()
    body = {"version": doc["version"], "fixes": {"0": "Thee"}}
    assert station.post("/api/doc/0/letter/page/1", json=body).status_code == 403
    cross = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    assert station.post("/api/doc/0/letter/page/1", json=body, headers=cross).status_code == 403
    site = {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
    assert station.post("/api/doc/0/letter/page/1", json=body, headers=site).status_code == 403
    ok = station.post("/api/doc/0/letter/page/1", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
    assert ok.json()["pages"][0]["words"][0]["text"] == "Thee"
    edits = json.loads((station.outbox / "letter.json").read_text())["pages"][0]["edits"]
    assert edits[0]["who"] == "anna"
    # A cross-site login form is refused too.
    evil = station.post(
        "/login", data={"user": "x", "token": TOKEN}, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/api/doc/0/%2e%2e/config",
        "/api/doc/0/..%2F..%2Fetc%2Fpasswd",
        "/api/doc/0/%2Fetc%2Fpasswd",
        "/api/doc/5/letter",
        "/api/doc/0/letter.json",
        "/api/doc/0/letter/page/0/image",
        "/api/doc/0/letter/page/9/image",
        "/api/doc/0/..%2Fconfig/page/1/image",
        "/api/doc/%2e%2e%2f%2e%2e/page/1/image",
    ],
)
def test_no_parameter_reads_outside_the_outboxes(station, path: str) -> None:  # type: ignore[no-untyped-def]
    response = station.get(path, headers=BEARER)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert "error" in response.json() and "Traceback" not in response.text


def test_bad_bodies_get_a_reason_never_a_traceback(station) -> None:  # type: ignore[no-untyped-def]
    doc = station.get("/api/doc/0/letter", headers=BEARER).json()
    url = "/api/doc/0/letter/page/1"
    cases = [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (json.dumps({"version": doc["version"], "fixes": ["a"]}).encode(), 400),
        (json.dumps({"version": doc["version"], "fixes": {"x": "a"}}).encode(), 400),
        (json.dumps({"version": doc["version"], "fixes": {"0": "a\nb"}}).encode(), 400),
        (json.dumps({"version": doc["version"], "fixes": {"999": "a"}}).encode(), 400),
        (json.dumps({"fixes": {"0": "a"}}).encode(), 428),
        (b"x" * 300_000, 413),
    ]
    for body, status in cases:
        response = station.post(url, content=body, headers=BEARER)
        assert response.status_code == status, (body[:40], response.text)
        assert response.json()["error"] and "Traceback" not in response.text


def test_a_second_save_from_the_same_version_is_refused(station) -> None:  # type: ignore[no-untyped-def]
    doc = station.get("/api/doc/0/letter", headers=BEARER).json()
    url = "/api/doc/0/letter/page/1"
    first = station.post(
        url, json={"version": doc["version"], "fixes": {"1": "invoices"}}, headers=BEARER
    )
    second = station.post(
        url, json={"version": doc["version"], "fixes": {"1": "bill"}}, headers=BEARER
    )
    assert first.status_code == 200 and second.status_code == 409
    assert "changed since you opened it" in second.json()["error"]
    assert "invoices" in (station.outbox / "letter.txt").read_text()


def test_the_queue_verified_event_and_a_taught_rule(station) -> None:  # type: ignore[no-untyped-def]
    queue = station.get("/api/queue", headers=BEARER).json()["documents"]
    assert [d["name"] for d in queue] == ["0/letter"] and queue[0]["state"] == "pending"
    doc = station.get("/api/doc/0/letter", headers=BEARER).json()
    learned = station.post(
        "/api/doc/0/letter/learn",
        json={"kind": "rule", "printed": "lnvoice", "meant": "Invoice"},
        headers=BEARER,
    )
    assert learned.status_code == 200
    assert (station.tmp / "rules.txt").read_text() == "lnvoice -> Invoice\n"
    done = station.post(
        "/api/doc/0/letter/verified", json={"version": doc["version"]}, headers=BEARER
    )
    assert done.status_code == 200 and done.json()["verification"]["state"] == "verified"
    assert station.get("/api/queue", headers=BEARER).json()["documents"] == []
    (event,) = station.journal.events()
    payload = json.loads(event.payload)
    assert event.kind == "verified" and payload["verified_by"] == "script"
    image = station.get("/api/doc/0/letter/page/1/image", headers=BEARER)
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"


def test_a_word_taught_to_the_dictionary_reaches_the_next_page_read(tmp_path: Path) -> None:
    """The corrector keeps its lexicon loaded, but a dictionary that changed is read again."""
    from hotocr.correct import correct_text  # noqa: PLC0415

    dictionary = tmp_path / "words.txt"
    dictionary.write_text("# product names\n")
    text = "The offlce cable is in stock."
    before = correct_text(text, languages=("eng",), enabled=True, dictionary=dictionary)
    assert "The office cable" in before.text  # "offlce" is a misread "office" ...
    dictionary.write_text("# product names\nOfflce\n")  # ... until the folder is taught it
    after = correct_text(text, languages=("eng",), enabled=True, dictionary=dictionary)
    assert "The offlce cable" in after.text


def test_a_batch_documents_pdf_is_drawn_again_from_its_folder(daemon_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = daemon_factory(
        watch_extra='assemble = "folder"\nquiet_seconds = 2\n[watch.ocr]\noutputs = ["json", "pdf"]'
    )
    batch = daemon.root / "stack"
    batch.mkdir()
    render_page(("First page of the stack.",), height=600).save(batch / "a.png", dpi=(300, 300))
    render_page(("Second page of the stack.",), height=600).save(batch / "b.png", dpi=(300, 300))
    batch.rename(daemon.inbox / "stack")
    daemon.wait_done(1, timeout=120)
    cfg = config_module.load(daemon.root / "config.toml")
    catalogue = Catalogue(cfg)
    document = catalogue.get("0/stack")
    second = word_index(document.data, 2, "Second")
    catalogue.save("0/stack", document.version, who="anna", page=2, fixes={second: "Last"})
    shown = pdftotext(daemon.outbox / "stack.ocr.pdf")
    assert "Last page of the stack." in shown and "First page" in shown
    assert not [p for p in daemon.outbox.iterdir() if p.name.startswith(".")]
