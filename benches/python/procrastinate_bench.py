"""Procrastinate side of the queue benchmark (benches/src/bin/queue.rs runs it).

Usage: python procrastinate_bench.py CONNINFO JOBS CONCURRENCIES
For each concurrency C: defer JOBS no-op jobs one per transaction from C concurrent producers,
then run a worker with concurrency C until the queue is empty (wait=False). Then defer JOBS
jobs with `batch_defer_async` in batches of BATCH from one producer. Prints one JSON line per
measurement.
"""

import asyncio
import json
import logging
import sys
import time

import procrastinate

conninfo, jobs, concurrencies = sys.argv[1], int(sys.argv[2]), sys.argv[3]
BATCH = 100
# The pool's default (4 connections) would throttle 16 producers or worker tasks; adit-queue's
# pool holds up to 32.
app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(conninfo=conninfo, min_size=4, max_size=32)
)
logging.basicConfig(level=logging.WARNING)


@app.task(name="noop", queue="bench")
async def noop():
    return None


async def main():
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for concurrency in (int(c) for c in concurrencies.split(",")):
            start = time.perf_counter()
            await asyncio.gather(
                *(produce(len(range(p, jobs, concurrency))) for p in range(concurrency))
            )
            secs = time.perf_counter() - start
            print(json.dumps({"what": "enqueue", "tasks": concurrency, "jobs": jobs, "secs": secs}), flush=True)
            start = time.perf_counter()
            await app.run_worker_async(
                queues=["bench"],
                concurrency=concurrency,
                wait=False,
                delete_jobs="never",
                install_signal_handlers=False,
            )
            secs = time.perf_counter() - start
            print(json.dumps({"what": "run", "tasks": concurrency, "jobs": jobs, "secs": secs}), flush=True)
        start = time.perf_counter()
        for first in range(0, jobs, BATCH):
            await noop.batch_defer_async(*({} for _ in range(min(BATCH, jobs - first))))
        secs = time.perf_counter() - start
        print(json.dumps({"what": "batch", "tasks": 1, "jobs": jobs, "secs": secs}), flush=True)


async def produce(n):
    for _ in range(n):
        await noop.defer_async()


asyncio.run(main())
