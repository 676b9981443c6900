"""Procrastinate side of the queue benchmark (benches/src/bin/queue.rs runs it).

Usage: python procrastinate_bench.py CONNINFO JOBS CONCURRENCIES
For each concurrency: defer JOBS no-op jobs one by one, then run a worker with that
concurrency until the queue is empty (wait=False). Prints one JSON line per measurement.
"""

import asyncio
import json
import logging
import sys
import time

import procrastinate

conninfo, jobs, concurrencies = sys.argv[1], int(sys.argv[2]), sys.argv[3]
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
logging.basicConfig(level=logging.WARNING)


@app.task(name="noop", queue="bench")
async def noop():
    return None


async def main():
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for concurrency in (int(c) for c in concurrencies.split(",")):
            start = time.perf_counter()
            for _ in range(jobs):
                await noop.defer_async()
            secs = time.perf_counter() - start
            print(json.dumps({"what": "enqueue", "tasks": 1, "jobs": jobs, "secs": secs}), flush=True)
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


asyncio.run(main())
