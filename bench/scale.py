"""Scale-out on Dask: pages per minute with 1 and 2 workers, the speed-up, and what the
cluster costs per page against the local pool. All in one run on one machine.

This process plays the daemon: a ``PageScheduler`` with the local executor or the Dask one,
fed the same documents; each run is timed from the first page handed out to the last result,
after the workers are up and warm (start-up is paid once by a daemon, not per batch).

1. eval pages (PNG, TIFF, PDF) repeated: local pool with 1 and 2 workers, then a Dask
   scheduler on loopback with 1 and 2 ``dask worker`` processes (``--nthreads 1``);
2. small pages (about 0.3 s of Tesseract each), 1 local worker against 1 Dask worker: the
   difference per page is the cluster's overhead (cutting the page out, transport, the
   scheduler's round trip, correction in the daemon);
3. the daemon's own CPU per page with the cluster (its main loop is one thread: that is its
   ceiling), and the scheduler's rate on no-op tasks (its ceiling).

    .venv/bin/python bench/scale.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import distributed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EVAL, OUT, machine
from bench.throughput import build_corpus
from hotocr import pages, sidecars
from hotocr.datatypes import PageSettings
from hotocr.executors.cluster import CUT_THREADS
from hotocr.scheduler import DocumentJob, PageScheduler
from tests.dask_cluster import Cluster

SMALL = ("tess_phototest.tif", "tess_eurotext.tif")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(files: list[Path], executor: str, workers: int) -> dict[str, float]:
    """Process ``files`` once through ``executor``; seconds, pages, and this process's CPU."""
    settings = PageSettings.defaults()
    scheduler = PageScheduler(workers, executor=executor, warm=(settings,))
    try:
        deadline = time.monotonic() + 120
        while scheduler.executor.slots() < workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{executor}: {workers} workers did not come up")
            scheduler.executor.maintain()
            time.sleep(0.2)
        sources = [pages.inspect(path) for path in files]
        cpu, start = cpu_seconds(), time.perf_counter()
        for source in sources:
            scheduler.submit(DocumentJob(source=source, settings=settings))
        failed, publish = 0, 0.0
        out = Path(tempfile.mkdtemp(prefix="hotocr-scale-out-"))
        while scheduler.documents:
            for done in scheduler.poll(0.05):
                if done.result is None:
                    failed += 1
                    continue
                # The daemon's last step, on its main thread: the sidecars.
                begin = time.perf_counter()
                path = done.result.source.path
                sidecars.publish_result(
                    done.result, original=path, folder=out, stem=path.stem, move_original=False
                )
                publish += time.perf_counter() - begin
        seconds = time.perf_counter() - start
        cpu = cpu_seconds() - cpu
        shutil.rmtree(out, ignore_errors=True)
    finally:
        scheduler.close()
    if failed:
        raise RuntimeError(f"{executor}: {failed} documents failed")
    count = sum(s.pages for s in sources)
    return {
        "seconds": seconds,
        "pages": count,
        "ppm": count / seconds * 60,
        "daemon_cpu": cpu,
        "publish_seconds": publish,
    }


def cut_seconds(files: list[Path]) -> tuple[float, int]:
    """Wall time of cutting every page out of its document, as the Dask executor does."""
    total, count = 0.0, 0
    for path in files:
        info = pages.inspect(path)
        for n in range(1, info.pages + 1):
            begin = time.perf_counter()
            pages.page_bytes(path, info.kind, n, info.pages, timeout=60)
            total += time.perf_counter() - begin
            count += 1
    return total, count


def scheduler_rate(address: str, tasks: int = 2000) -> float:
    """No-op tasks per second through the scheduler and its workers."""
    with distributed.Client(address, set_as_default=False) as client:
        client.gather(client.map(abs, range(100), pure=False))  # warm
        start = time.perf_counter()
        client.gather(client.map(abs, range(tasks), pure=False))
        return tasks / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hotocr-scale-"))
    corpus = work / "corpus"
    total = build_corpus(corpus, args.repeat)
    files = sorted(corpus.iterdir())
    small = work / "small"
    small.mkdir()
    for r in range(10):
        for name in SMALL:
            shutil.copy(EVAL / "pages" / name, small / f"r{r}_{name}")
    small_files = sorted(small.iterdir())
    print(f"corpus: {total} pages in {len(files)} files; small: {len(small_files)} pages")

    results: dict[str, dict[str, float]] = {}
    for workers in (1, 2):
        results[f"local-{workers}"] = run(files, "local", workers)
        print(f"  local pool, {workers} workers: {results[f'local-{workers}']}", flush=True)
    results["small-local-1"] = run(small_files, "local", 1)
    print(f"  small pages, 1 local worker: {results['small-local-1']}", flush=True)

    cluster = Cluster(work / "cluster")
    try:
        cluster.ensure(("w1",))
        results["small-dask-1"] = run(small_files, cluster.address, 1)
        print(f"  small pages, 1 Dask worker: {results['small-dask-1']}", flush=True)
        results["dask-1"] = run(files, cluster.address, 1)
        print(f"  Dask, 1 worker: {results['dask-1']}", flush=True)
        cluster.ensure(("w1", "w2"))
        results["dask-2"] = run(files, cluster.address, 2)
        print(f"  Dask, 2 workers: {results['dask-2']}", flush=True)
        rate = scheduler_rate(cluster.address)
        print(f"  scheduler: {rate:.0f} no-op tasks/s", flush=True)
    finally:
        cluster.close()

    cut, cut_pages = cut_seconds(files)
    print(f"  cutting pages out: {cut / cut_pages * 1000:.1f} ms per page", flush=True)
    small_pages = results["small-dask-1"]["pages"]
    overhead = (
        results["small-dask-1"]["seconds"] - results["small-local-1"]["seconds"]
    ) / small_pages
    dask2 = results["dask-2"]
    # Per page on the daemon's side: its own CPU (correction, results, the client's and the
    # cutters' threads) and the sidecars, mostly on its main loop; cutting the page out
    # (a pdfseparate child for PDF pages) runs in CUT_THREADS threads beside it.
    daemon_cpu = (dask2["daemon_cpu"] + dask2["publish_seconds"]) / dask2["pages"]
    cut_per_page = cut / cut_pages
    per_page = results["local-1"]["seconds"] / results["local-1"]["pages"]
    report = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "runs": results,
        "speedup_dask_2_over_1": results["dask-2"]["ppm"] / results["dask-1"]["ppm"],
        "speedup_local_2_over_1": results["local-2"]["ppm"] / results["local-1"]["ppm"],
        "dask_vs_local_2_workers": results["dask-2"]["ppm"] / results["local-2"]["ppm"],
        "overhead_seconds_per_page": overhead,
        "cut_seconds_per_page": cut_per_page,
        "daemon_seconds_per_page": daemon_cpu,
        "worker_seconds_per_page": per_page,
        "scheduler_tasks_per_second": rate,
        # The model: N single-threaded worker processes each take per_page + overhead seconds
        # per page; the daemon's one main thread and the scheduler cap the total.
        "model_ceiling_daemon_ppm": 60 / daemon_cpu,
        "model_ceiling_cutting_ppm": CUT_THREADS * 60 / cut_per_page,
        "model_ceiling_scheduler_ppm": rate * 60,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
