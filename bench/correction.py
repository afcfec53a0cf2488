"""The corrector on real Tesseract output, on correct text (do no harm), and its speed.

1. Every page of ../shared/eval through hotocr's pipeline with correction off; CER of the raw
   text and of the corrected text against the ground truth.
2. Do no harm: the corrector over the ground-truth texts themselves and over generated
   entities (names, addresses, IBANs, e-mails, dates, amounts in four languages); share of
   tokens changed (target: at most 0.1%).
3. Speed: words per second on one core (target: at least 20,000).

    .venv/bin/python bench/correction.py
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import random
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import cer, eval_items, machine
from hotocr import pages
from hotocr.correct import Corrector, _lexicon
from hotocr.datatypes import PageSettings, PageTask
from hotocr.worker import init_worker, process_page

WORD = re.compile(r"\S+")


def raw_page(task: PageTask) -> tuple[str, dict[str, float]]:
    result = process_page(task)
    return result.raw_text, result.word_confidences()


def real_output() -> None:
    jobs = []
    for item in eval_items():
        info = pages.inspect(item.file)
        settings = dataclasses.replace(PageSettings.defaults(item.languages), correction=False)
        for n in range(1, info.pages + 1):
            truth = item.truth_pages[n - 1] if n <= len(item.truth_pages) else ""
            jobs.append((item, n, truth, PageTask(item.file, info.kind, n, settings)))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(initializer=init_worker, mp_context=ctx) as pool:
        outputs = list(pool.map(raw_page, [j[3] for j in jobs]))
    print("| page | CER raw | CER corrected | corrections |")
    print("|---|---|---|---|")
    total_raw = total_fixed = 0.0
    worse = []
    for (item, n, truth, _), (raw, confs) in zip(jobs, outputs, strict=True):
        corrector = Corrector(_lexicon(item.languages, None))
        fixed = corrector.correct(raw, confs)
        a, b = cer(raw, truth), cer(fixed.text, truth)
        total_raw += a
        total_fixed += b
        if b > a:
            worse.append(f"{item.id} p{n}")
        changes = ", ".join(f"{c.raw}->{c.fixed}" for c in fixed.corrections[:6])
        print(f"| {item.id} p{n} | {a:.4f} | {b:.4f} | {len(fixed.corrections)}: {changes} |")
    print(
        f"\nmean CER raw {total_raw / len(jobs):.4f}, corrected {total_fixed / len(jobs):.4f};"
        f" pages worse: {worse or 'none'}\n"
    )


FIRST = [
    "Jan",
    "Anke",
    "Pieter",
    "Sophie",
    "Jürgen",
    "Hélène",
    "Bram",
    "Ilse",
    "Niels",
    "Aoife",
    "Siobhan",
    "Wojciech",
    "Lê",
    "Maëlle",
    "Gijs",
    "Thijs",
    "Björn",
    "Zoë",
    "Krzysztof",
]
LAST = [
    "de Vries",
    "Janssen",
    "Müller",
    "Schröder",
    "Lefèvre",
    "Dubois",
    "van den Berg",
    "O'Brien",
    "Nguyen",
    "Kowalski",
    "Bakker",
    "Huisman",
    "Fischer",
    "Rousseau",
    "Smit",
]
STREETS = [
    "Keizersgracht",
    "Hauptstraße",
    "rue de Rivoli",
    "Baker Street",
    "Lange Voorhout",
    "Königsallee",
    "boulevard Haussmann",
    "Damrak",
    "Friedrichstraße",
    "Coolsingel",
]
CITIES = ["Amsterdam", "Düsseldorf", "Paris", "London", "Den Haag", "Köln", "Lyon", "Utrecht"]


def entities(seed: int = 1) -> str:
    rng = random.Random(seed)
    r = rng.randint
    lines = []
    for _ in range(400):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        iban = f"NL{r(10, 99)} INGB {r(1000, 9999)} {r(1000, 9999)} {r(10, 99)}"
        domain = rng.choice(["nl", "de", "fr", "com"])
        email = f"{first.lower()}.{last.replace(' ', '').lower()}@example.{domain}"
        day, month, year = r(1, 28), r(1, 12), r(1990, 2030)
        amount = f"{r(1, 99999)},{r(0, 99):02d}"
        house = f"{r(1, 400)}{rng.choice(['', 'a', 'B'])}"
        postcode = f"{r(1000, 9999)} {rng.choice(['AB', 'KL', ''])}"
        lines.append(
            f"{first} {last}, {rng.choice(STREETS)} {house}, {postcode} {rng.choice(CITIES)}; "
            f"IBAN {iban}; {email}; {day:02d}.{month:02d}.{year} or {year}-{month:02d}-{day:02d}; "
            f"EUR {amount} or € {amount}; order PO-{r(10000, 99999)}-{rng.choice('ABC')}; "
            f"invoice {r(2020, 2026)}/{r(1, 999):03d}; tel. +31 {r(10, 99)} {r(1000000, 9999999)}"
        )
    return "\n".join(lines)


def do_no_harm() -> None:
    print("| text | languages | tokens | changed | share | changes |")
    print("|---|---|---|---|---|---|")
    total = changed = 0
    texts = [(i.id, "\n".join(i.truth_pages), i.languages) for i in eval_items()]
    texts += [("generated entities", entities(), ("eng", "deu", "nld", "fra"))]
    for name, text, langs in texts:
        fixed = Corrector(_lexicon(langs, None)).correct(text)
        tokens = len(WORD.findall(text))
        total += tokens
        changed += len(fixed.corrections)
        changes = ", ".join(f"{c.raw}->{c.fixed}" for c in fixed.corrections[:5])
        print(
            f"| {name} | {'+'.join(langs)} | {tokens} | {len(fixed.corrections)} | "
            f"{len(fixed.corrections) / max(tokens, 1):.4%} | {changes} |"
        )
    print(f"\nall: {changed} of {total} tokens changed = {changed / total:.4%}\n")


def speed() -> None:
    corpus = "\n".join("\n".join(i.truth_pages) for i in eval_items() if i.languages == ("eng",))
    corpus += "\nTh1s 1s 4 s@mple w1th typ0s and an invoice INV-2024-0117 of EUR 12,50."
    corrector = Corrector(_lexicon(("eng",), None))
    corrector.correct(corpus)  # warm
    words = len(WORD.findall(corpus))
    start = time.perf_counter()
    rounds = 0
    while time.perf_counter() - start < 3.0:
        corrector.correct(corpus)
        rounds += 1
    secs = time.perf_counter() - start
    t0 = time.perf_counter()
    _lexicon.cache_clear()
    _lexicon(("eng", "deu", "nld", "fra"), None)
    load = time.perf_counter() - t0
    print(
        f"speed: {words * rounds / secs:,.0f} words/s on one core ({words} words x {rounds});"
        f" loading eng+deu+nld+fra lists: {load:.2f} s"
    )


if __name__ == "__main__":
    print(f"Machine: {machine()}\n")
    do_no_harm()
    speed()
    real_output()
