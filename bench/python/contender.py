"""The Python anchor: a batch script as a Python user of Dify writes it with the OpenAI SDK's stack.

asyncio + httpx.AsyncClient (keep-alive pool) + an asyncio.Semaphore for concurrency + tenacity retries
(exponential backoff with jitter on 429, 5xx, Dify's "Too many requests." concurrency limit and transport
errors). Ordered: asyncio.gather over all records. Unordered: asyncio.as_completed.

Reads NDJSON records {"id", "inputs"}; writes one JSON line per record on stdout ({"id", "outputs"} or
{"id", "error"}), then {"_report": {...}} with wall time and CPU of the run (set-up excluded, reading the
input included, as for the Node contenders).

Usage: contender.py --url URL/v1 --key KEY --input FILE --concurrency N --attempts N --base-delay-ms MS --max-delay-ms MS (--ordered|--unordered)
"""

import argparse
import asyncio
import json
import resource
import sys
import time

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential


def retryable(error: BaseException) -> bool:
    if isinstance(error, httpx.TransportError):
        return True
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        if status == 429 or status >= 500:
            return True
        # Dify's app concurrency limit answers 400 invalid_param "Too many requests. ..."
        return status == 400 and error.response.text.find('"Too many requests.') >= 0
    return False


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--attempts", type=int, required=True)
    # The same backoff scale as the Node contenders (dify-batch's RETRY_BACKOFF_DEFAULTS): full jitter,
    # retry n waits uniform(0, min(max, base * 2^(n-1))).
    parser.add_argument("--base-delay-ms", type=float, required=True)
    parser.add_argument("--max-delay-ms", type=float, required=True)
    order = parser.add_mutually_exclusive_group(required=True)
    order.add_argument("--ordered", action="store_true")
    order.add_argument("--unordered", action="store_true")
    args = parser.parse_args()

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=args.url.rstrip("/"),
        headers={"Authorization": f"Bearer {args.key}"},
        limits=limits,
        timeout=120.0,
    ) as client:
        semaphore = asyncio.Semaphore(args.concurrency)

        async def run(record: dict) -> dict:
            async with semaphore:
                try:
                    async for attempt in AsyncRetrying(
                        stop=stop_after_attempt(args.attempts),
                        wait=wait_random_exponential(
                            multiplier=args.base_delay_ms / 1000, max=args.max_delay_ms / 1000
                        ),
                        retry=retry_if_exception(retryable),
                        reraise=True,
                    ):
                        with attempt:
                            response = await client.post(
                                "/workflows/run",
                                json={"inputs": record["inputs"], "response_mode": "blocking", "user": "bench"},
                            )
                            response.raise_for_status()
                            return {"id": record["id"], "outputs": response.json()["data"]["outputs"]}
                except Exception as error:  # one failed record must not end the batch
                    message = str(error).splitlines()[0] if str(error) else ""
                    return {"id": record["id"], "error": f"{type(error).__name__}: {message}"[:200]}
            raise AssertionError("unreachable")

        out = sys.stdout
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        with open(args.input, encoding="utf-8") as lines:
            records = [json.loads(line) for line in lines if line.strip()]
        if args.ordered:
            for result in await asyncio.gather(*(run(record) for record in records)):
                out.write(json.dumps(result) + "\n")
        else:
            for finished in asyncio.as_completed([run(record) for record in records]):
                out.write(json.dumps(await finished) + "\n")
        wall_ms = (time.perf_counter() - t0) * 1000
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        report = {
            "wall_ms": wall_ms,
            "cpu_user_us": (cpu.ru_utime - cpu0.ru_utime) * 1e6,
            "cpu_system_us": (cpu.ru_stime - cpu0.ru_stime) * 1e6,
            "max_rss_kb": cpu.ru_maxrss,
        }
        out.write(json.dumps({"_report": report}) + "\n")
        out.flush()


if __name__ == "__main__":
    asyncio.run(main())
