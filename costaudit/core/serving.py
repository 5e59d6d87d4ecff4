"""Replay requests through a continuous-batching server: iteration-level scheduling on the roofline.

`core/capacity.py` answers "how much can one replica serve in steady state"; this module answers "what
happens to *these* requests, arriving when they did": each one waits in a queue, is admitted when the
KV cache and the batch have room, has its prompt prefilled, then decodes one token per step alongside
everything else running until its answer is complete. Every step takes the time the roofline gives for
what that step does (research/hardware.md §2), with the capacity model's own terms and calibration:

    t_step = linear_seconds(decodes + prefill tokens)      weights read, or the matmul FLOPs
           + decode_attention_seconds(Σ context of the running sequences)
           + prompt_attention_seconds(prefill chunks)
           + overhead

Scheduling follows vLLM (hardware.md §1.1, §5.1); the scheduler is a parameter:

- `chunked_prefill` (default; Sarathi-Serve, vLLM V1): every step runs all decoding sequences (one
  token each) and fills the rest of a token budget (`max_batched_tokens`) with prompt chunks, first come
  first served. Decodes never stall; long prompts are spread over several steps.
- `prefill_first` (vLLM V0's default): when requests wait and fit, a step prefills whole prompts only
  (up to the token budget) and every running sequence waits for it; otherwise a step decodes.

Admission is first come, first served and limited by the batch (`max_batch` sequences, vLLM's
`max_num_seqs`) and by KV-cache memory: a request is admitted when its prompt fits in the free cache.
Answers grow into the cache one token per step; when the cache is full, the most recently admitted
sequence is pre-empted (vLLM's recompute mode): its cache is freed, it goes back to the front of the
queue, and its prompt and the tokens it had generated are prefilled again when it is re-admitted.

A fleet is N replicas behind a load balancer that assigns each request on arrival: `round_robin` (in
turn) or `random`. Both assign without looking at the replicas' state, so each replica's replay is
independent of the others'.

Speed: between two events (an arrival that can be admitted, a completion, a full cache) every step has
the same running batch, and the step time grows linearly with the context, so a run of k steps is summed
in closed form (and the step at which a given time is reached solved from a quadratic). The cost is a
few Python operations per request and event, not per token or per step.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import math
import multiprocessing
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from costaudit.core.capacity import (
    Replica,
    decode_attention_seconds,
    linear_seconds,
    prompt_attention_seconds,
)

Scheduler = Literal["chunked_prefill", "prefill_first"]
Balancer = Literal["round_robin", "random"]
Metric = Literal["ttft", "tpot", "e2e"]

SCHEDULERS: tuple[Scheduler, ...] = ("chunked_prefill", "prefill_first")
BALANCERS: tuple[Balancer, ...] = ("round_robin", "random")
PERCENTILES = (50, 90, 99)

_WAITING, _PREFILLING, _RUNNING, _DONE = 0, 1, 2, 3


@dataclass(frozen=True)
class ServerSettings:
    """How each replica's engine schedules work."""

    scheduler: Scheduler = "chunked_prefill"
    max_batch: int = 256
    """Sequences running at once at most (vLLM's `max_num_seqs`, default 256)."""
    max_batched_tokens: int = 2048
    """Tokens one step may process (decodes + prompt chunks); a prompt-first step takes whole prompts
    up to this budget, and always at least one."""
    balancer: Balancer = "round_robin"

    def __post_init__(self) -> None:
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}")
        if self.balancer not in BALANCERS:
            raise ValueError(f"balancer must be one of {', '.join(BALANCERS)}")
        if self.max_batch < 1 or self.max_batched_tokens < 1:
            raise ValueError("max_batch and max_batched_tokens must be at least 1")


@dataclass(frozen=True)
class LatencyTarget:
    """One latency objective: `percentile` of `metric` over the requests at most `seconds`."""

    metric: Metric
    percentile: float
    seconds: float

    def __post_init__(self) -> None:
        if not 0 < self.percentile < 100 or not self.seconds > 0:
            raise ValueError("a latency target needs a percentile in (0, 100) and positive seconds")

    @property
    def label(self) -> str:
        return f"{self.metric}_p{self.percentile:g}"


VIDUR_SLO = (LatencyTarget("ttft", 90, 2.0), LatencyTarget("tpot", 99, 0.2))
"""Vidur-Search's SLO: TTFT P90 under 2 s and time between tokens P99 under 200 ms (hardware.md §1.1)."""


@dataclass(frozen=True)
class ServingWorkload:
    """Requests in arrival order: seconds from the start of the window, prompt and answer tokens."""

    arrival_s: npt.NDArray[np.float64]
    input_tokens: npt.NDArray[np.int64]
    output_tokens: npt.NDArray[np.int64]
    window_s: float

    def __post_init__(self) -> None:
        size = self.arrival_s.size
        if self.input_tokens.size != size or self.output_tokens.size != size:
            raise ValueError("arrivals, input and output tokens must have one value per request")
        if size and (np.diff(self.arrival_s) < 0).any():
            raise ValueError("arrivals must be sorted")
        if size and (self.output_tokens < 1).any():
            raise ValueError("every request needs at least one output token")
        if not self.window_s > 0:
            raise ValueError("the window must be positive")

    @property
    def size(self) -> int:
        return int(self.arrival_s.size)


@dataclass(frozen=True)
class Percentiles:
    p50: float | None
    p90: float | None
    p99: float | None


@dataclass(frozen=True)
class BatchShare:
    """Share of the replicas' busy time spent running `batch` sequences per step."""

    batch: int
    share: float


@dataclass(frozen=True)
class BatchSizes:
    """How many sequences the steps ran, weighted by how long each step took."""

    mean: float
    p50: int
    p90: int
    p99: int
    max: int
    histogram: list[BatchShare] = field(metadata={"omit": True})
    """Share of busy time by batch size (for the chart; powers-of-two buckets)."""


@dataclass(frozen=True)
class BusyShare:
    """GPU busy share: time with a step running over wall time, averaged over the replicas."""

    mean: float
    peak: float
    """The busiest bin's share."""
    bin_seconds: int
    bins: list[float] = field(metadata={"omit": True})
    """Busy share in each bin of the window (for the chart)."""


@dataclass(frozen=True)
class QueuePeak:
    requests: int
    """Most requests waiting for admission on one replica at once."""
    at_s: float | None
    """When, in seconds from the start of the window (None: nothing ever waited)."""


@dataclass(frozen=True)
class ReplayResult:
    """What the replay of a workload through a fleet shows."""

    replicas: int
    requests: int
    completed: int
    """Requests replayed to the end (fewer than `requests` only when the replay stopped early)."""
    stopped_early: bool
    """The replay stopped once the SLO could no longer be met (a search does this to save time)."""
    ttft_s: Percentiles
    tpot_s: Percentiles
    e2e_s: Percentiles
    batch: BatchSizes
    busy: BusyShare
    queue_peak: QueuePeak
    preemptions: int
    slo_misses: int
    """Requests over any target's threshold (TTFT or TPOT)."""
    meets_slo: bool
    output_tokens_per_s: float
    """Output tokens served per second of the window, all replicas."""


@dataclass
class _Log:
    """One replica's record of its requests (indexes into the replica's own request list)."""

    first: array[float]
    end: array[float]
    batch_time: list[float]
    busy_bins: list[float]
    queue_peak: int = 0
    queue_peak_at: float | None = None
    preemptions: int = 0
    ttft_misses: int = 0
    tpot_misses: int = 0
    stopped: bool = False
    itl: list[tuple[float, float]] | None = None
    """(step seconds, decoded tokens) per run of steps, when asked for (closed-loop benchmarks)."""


@dataclass(frozen=True)
class _Limits:
    """When a replica's replay may stop: the misses the SLO tolerates over the whole fleet."""

    ttft_s: float
    tpot_s: float
    ttft_allowed: float
    tpot_allowed: float

    @classmethod
    def of(cls, targets: Sequence[LatencyTarget], requests: int) -> _Limits:
        ttft = [t for t in targets if t.metric == "ttft"]
        tpot = [t for t in targets if t.metric == "tpot"]
        return cls(
            ttft_s=min((t.seconds for t in ttft), default=math.inf),
            tpot_s=min((t.seconds for t in tpot), default=math.inf),
            ttft_allowed=min((requests * (1 - t.percentile / 100) for t in ttft), default=math.inf),
            tpot_allowed=min((requests * (1 - t.percentile / 100) for t in tpot), default=math.inf),
        )


class _Steps:
    """The step-time terms of one replica, from the capacity model (nothing restated here)."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self.per_context_token = decode_attention_seconds(replica, 1.0)
        """Decode attention is proportional to the context read (both roofline sides are)."""
        self.per_prompt_position = prompt_attention_seconds(replica, 1.0, 1.0)
        """Prompt attention is proportional to tokens × span."""
        self.overhead = replica.overhead_s
        self.kv_tokens = replica.kv_budget_bytes / replica.kv_bytes_per_token

    def fixed(self, tokens: int) -> float:
        """The part of a step that does not depend on the context: linear layers and overhead."""
        return linear_seconds(self.replica, tokens) + self.overhead

    def run_seconds(self, steps: int, base: float, batch: int, context: float) -> float:
        """Seconds of `steps` decode steps, each `base` plus attention over a context that starts
        at `context` and grows by `batch` tokens per step."""
        attention = self.per_context_token * (steps * context + batch * steps * (steps - 1) / 2)
        return steps * base + attention

    def steps_until(self, elapsed: float, base: float, batch: int, context: float) -> int:
        """Fewest decode steps (at least 1) whose total time reaches `elapsed` seconds."""
        per_token = self.per_context_token
        a = per_token * batch / 2
        b = base + per_token * context - a
        if a > 0:
            steps = math.ceil((-b + math.sqrt(b * b + 4 * a * elapsed)) / (2 * a))
        else:
            steps = math.ceil(elapsed / b)
        steps = max(steps, 1)
        # The root is exact up to rounding: nudge it by a step either way if rounding moved it.
        while steps * (a * steps + b) < elapsed:
            steps += 1
        while steps > 1 and (steps - 1) * (a * (steps - 1) + b) >= elapsed:
            steps -= 1
        return steps


def _add_busy(bins: list[float], bin_seconds: float, start: float, seconds: float) -> None:
    """Credit `seconds` of work starting at `start` to the bins it spans (adding bins past the
    window while a backlog drains)."""
    end = start + seconds
    index = int(start // bin_seconds)
    while start < end:
        while index >= len(bins):
            bins.append(0.0)
        bound = (index + 1) * bin_seconds
        piece = min(end, bound) - start
        bins[index] += piece
        start += piece
        index += 1


def _replay_replica(  # noqa: C901 - one event loop, kept whole for speed
    arrival: list[float],
    prompt_in: list[int],
    output: list[int],
    steps: _Steps,
    settings: ServerSettings,
    limits: _Limits,
    bin_seconds: float,
    bins: int,
    misses_so_far: tuple[int, int] = (0, 0),
    closed_loop: bool = False,
    record_itl: bool = False,
) -> _Log:
    """Replay one replica's requests; see the module docstring for the scheduling rules.

    With `closed_loop`, arrivals after the first are ignored: each completion lets the next request in
    (a benchmark's fixed number of concurrent users).
    """
    n = len(arrival)
    log = _Log(
        first=array("d", bytes(8 * n)),
        end=array("d", bytes(8 * n)),
        batch_time=[0.0] * (settings.max_batch + 1),
        busy_bins=[0.0] * bins,
        itl=[] if record_itl else None,
    )
    if n == 0:
        return log
    first, end, batch_time, busy = log.first, log.end, log.batch_time, log.busy_bins
    prompt = list(prompt_in)
    left = list(output)
    state = [_WAITING] * n
    finish = [0] * n
    joined = [0] * n
    context0 = [0] * n
    first_done = [False] * n
    kv_tokens = steps.kv_tokens
    max_batch = settings.max_batch
    budget_max = settings.max_batched_tokens
    chunked = settings.scheduler == "chunked_prefill"
    ttft_limit, tpot_limit = limits.ttft_s, limits.tpot_s
    ttft_misses, tpot_misses = misses_so_far
    per_context = steps.per_context_token
    per_position = steps.per_prompt_position
    arrivals = list(arrival)
    spawned = n
    if closed_loop:
        spawned = sum(1 for value in arrival if value <= arrival[0])
        for index in range(spawned, n):
            arrivals[index] = math.inf

    queue: deque[int] = deque()
    prefilling: list[list[int]] = []  # [request, prompt tokens done]
    prefill_kv = 0
    heap: list[tuple[int, int]] = []
    admitted: list[int] = []
    running = 0
    context_base = 0  # Σ (context at join − step counter at join) over running sequences
    counter = 0  # decode steps done
    now = arrivals[0]
    nxt = 0
    queue_peak, queue_peak_at = 0, None
    preemptions = 0

    fixed: dict[int, float] = {}
    busy_since = now  # start of the current stretch of back-to-back steps

    def fixed_seconds(tokens: int) -> float:
        seconds = fixed.get(tokens)
        if seconds is None:
            seconds = fixed[tokens] = steps.fixed(tokens)
        return seconds

    while True:
        while nxt < n and arrivals[nxt] <= now:
            queue.append(nxt)
            nxt += 1
        if len(queue) > queue_peak:
            queue_peak, queue_peak_at = len(queue), now

        used = context_base + running * counter + prefill_kv
        # Admission: first come, first served, while the batch and the KV cache have room.
        new_prefills: list[list[int]] = []
        if chunked or not prefilling:
            taken = 0
            while queue and running + len(prefilling) + len(new_prefills) < max_batch:
                request = queue[0]
                need = prompt[request]
                if used + need + 1 > kv_tokens:
                    break
                if not chunked and new_prefills and taken + need > budget_max:
                    break
                queue.popleft()
                state[request] = _PREFILLING
                new_prefills.append([request, 0])
                used += need
                prefill_kv += need
                taken += need
            prefilling.extend(new_prefills)

        if prefilling and (not chunked or running < budget_max):
            # A step with prompt work: chunks within the budget (chunked), or whole prompts only.
            budget = budget_max - running if chunked else budget_max
            if not chunked:
                budget = max(budget, sum(prompt[entry[0]] for entry in prefilling))
            chunk_tokens = 0
            span_tokens = 0.0
            chunks = 0
            completed_prefills: list[int] = []
            for entry in prefilling:
                if budget <= 0:
                    break
                request, done = entry
                chunk = min(prompt[request] - done, budget)
                span_tokens += chunk * (2 * done + chunk)
                chunk_tokens += chunk
                budget -= chunk
                chunks += 1
                entry[1] = done + chunk
                if entry[1] >= prompt[request]:
                    completed_prefills.append(request)
            decoding = running if chunked else 0
            if decoding:
                # Every running sequence adds one token to the cache this step.
                while running and used + running > kv_tokens:
                    preemptions += 1
                    while True:
                        victim = admitted.pop()
                        if state[victim] == _RUNNING:
                            break
                    generated = counter - joined[victim]
                    prompt[victim] = context0[victim] + generated
                    left[victim] = finish[victim] - counter
                    context_base -= context0[victim] - joined[victim]
                    used -= context0[victim] + generated
                    running -= 1
                    state[victim] = _WAITING
                    queue.appendleft(victim)
                decoding = running
            seconds = (
                fixed_seconds(decoding + chunk_tokens)
                + per_context * (context_base + running * counter if decoding else 0)
                + per_position * span_tokens
            )
            batch = decoding + chunks
            batch_time[batch] += seconds
            if log.itl is not None and decoding:
                log.itl.append((seconds, float(decoding)))
            now += seconds
            if decoding:
                counter += 1
            if completed_prefills:
                finished_set = set(completed_prefills)
                prefilling = [entry for entry in prefilling if entry[0] not in finished_set]
                for request in completed_prefills:
                    prefill_kv -= prompt[request]
                    left[request] -= 1
                    if not first_done[request]:
                        first_done[request] = True
                        first[request] = now
                        if now - arrival[request] > ttft_limit:
                            ttft_misses += 1
                    if left[request] == 0:
                        state[request] = _DONE
                        end[request] = now
                        if closed_loop and spawned < n:
                            arrivals[spawned] = now
                            spawned += 1
                        continue
                    state[request] = _RUNNING
                    joined[request] = counter
                    context0[request] = prompt[request] + 1
                    finish[request] = counter + left[request]
                    context_base += context0[request] - counter
                    running += 1
                    heapq.heappush(heap, (finish[request], request))
                    admitted.append(request)
        elif running:
            # A run of decode-only steps up to the next event.
            while heap and (state[heap[0][1]] != _RUNNING or finish[heap[0][1]] != heap[0][0]):
                heapq.heappop(heap)
            room = int((kv_tokens - used) // running)
            if room < 1:
                preemptions += 1
                while True:
                    victim = admitted.pop()
                    if state[victim] == _RUNNING:
                        break
                generated = counter - joined[victim]
                prompt[victim] = context0[victim] + generated
                left[victim] = finish[victim] - counter
                context_base -= context0[victim] - joined[victim]
                running -= 1
                state[victim] = _WAITING
                queue.appendleft(victim)
                continue
            count = min(heap[0][0] - counter, room)
            base = fixed.get(running)
            if base is None:
                base = fixed[running] = steps.fixed(running)
            context = float(context_base + running * counter)
            if not queue and nxt < n and arrivals[nxt] < math.inf:
                count = min(count, steps.steps_until(arrivals[nxt] - now, base, running, context))
            seconds = count * base + per_context * (
                count * context + running * count * (count - 1) / 2
            )
            batch_time[running] += seconds
            if log.itl is not None:
                log.itl.append((seconds / count, float(running * count)))
            now += seconds
            counter += count
        elif queue:
            # Nothing runs and the head of the queue cannot be admitted: it can never fit.
            raise ValueError(
                f"a {prompt[queue[0]]:,}-token prompt does not fit the replica's KV cache "
                f"({int(kv_tokens):,} tokens)"
            )
        else:
            if now > busy_since:
                _add_busy(busy, bin_seconds, busy_since, now - busy_since)
            if nxt >= n or arrivals[nxt] == math.inf:
                break
            now = busy_since = arrivals[nxt]
            continue

        # Completions at this step counter.
        while heap and heap[0][0] <= counter:
            done_at, request = heapq.heappop(heap)
            if state[request] != _RUNNING or finish[request] != done_at:
                continue
            state[request] = _DONE
            end[request] = now
            running -= 1
            context_base -= context0[request] - joined[request]
            if output[request] > 1:
                tpot = (now - first[request]) / (output[request] - 1)
                if tpot > tpot_limit:
                    tpot_misses += 1
            if closed_loop and spawned < n:
                arrivals[spawned] = now
                spawned += 1
        if ttft_misses > limits.ttft_allowed or tpot_misses > limits.tpot_allowed:
            log.stopped = True
            if now > busy_since:
                _add_busy(busy, bin_seconds, busy_since, now - busy_since)
            break

    log.queue_peak, log.queue_peak_at = queue_peak, queue_peak_at
    log.preemptions = preemptions
    log.ttft_misses, log.tpot_misses = ttft_misses, tpot_misses
    return log


def assign_replicas(
    requests: int, replicas: int, balancer: Balancer, seed: int = 0
) -> npt.NDArray[np.int64]:
    """The replica each request goes to, in arrival order."""
    if balancer == "round_robin":
        return np.arange(requests, dtype=np.int64) % replicas
    rng = np.random.default_rng(seed)
    return rng.integers(0, replicas, size=requests, dtype=np.int64)


def _percentiles(values: npt.NDArray[np.float64]) -> Percentiles:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return Percentiles(None, None, None)
    p50, p90, p99 = np.percentile(finite, PERCENTILES)
    return Percentiles(float(p50), float(p90), float(p99))


def _weighted_quantile(
    values: npt.NDArray[np.float64], weights: npt.NDArray[np.float64], q: float
) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    if not cumulative.size or cumulative[-1] <= 0:
        return 0.0
    index = int(np.searchsorted(cumulative, q * cumulative[-1]))
    return float(values[order][min(index, values.size - 1)])


def _batch_sizes(batch_time: npt.NDArray[np.float64]) -> BatchSizes:
    sizes = np.arange(batch_time.size, dtype=np.float64)
    total = float(batch_time.sum())
    if total <= 0:
        return BatchSizes(0.0, 0, 0, 0, 0, [])
    used = np.flatnonzero(batch_time)
    buckets: dict[int, float] = {}
    for size in used:
        bucket = 1 << max(0, int(size) - 1).bit_length() if size else 0
        buckets[bucket] = buckets.get(bucket, 0.0) + float(batch_time[size]) / total
    return BatchSizes(
        mean=float((sizes * batch_time).sum() / total),
        p50=int(_weighted_quantile(sizes, batch_time, 0.5)),
        p90=int(_weighted_quantile(sizes, batch_time, 0.9)),
        p99=int(_weighted_quantile(sizes, batch_time, 0.99)),
        max=int(used[-1]),
        histogram=[BatchShare(batch, share) for batch, share in sorted(buckets.items())],
    )


def busy_bin_seconds(window_s: float) -> int:
    """Bins of 5 minutes, widened in whole 5-minute steps to keep a window under ~300 bins."""
    return int(300 * max(1, math.ceil(window_s / 300 / 300)))


@dataclass(frozen=True)
class _Trace:
    """Per-request times of a whole replay (for summaries and tests)."""

    ttft: npt.NDArray[np.float64]
    tpot: npt.NDArray[np.float64]
    e2e: npt.NDArray[np.float64]
    logs: list[_Log]
    completed: int
    stopped: bool


_Job = tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    _Steps,
    ServerSettings,
    _Limits,
    float,
    int,
]


def _replay_job(job: _Job) -> _Log:
    """One replica's replay in a worker process (arrays travel as raw bytes, lists are built here)."""
    arrival, inputs, outputs, steps, settings, limits, bin_seconds, bins = job
    return _replay_replica(
        arrival.tolist(),
        inputs.tolist(),
        outputs.tolist(),
        steps,
        settings,
        limits,
        bin_seconds,
        bins,
    )


def _replay_trace(
    workload: ServingWorkload,
    replica: Replica,
    replicas: int,
    settings: ServerSettings,
    targets: Sequence[LatencyTarget],
    *,
    stop_when_missed: bool,
    seed: int,
    progress: Callable[[float], None] | None,
    workers: int = 1,
) -> tuple[_Trace, int]:
    if replicas < 1:
        raise ValueError("a fleet needs at least one replica")
    steps = _Steps(replica)
    size = workload.size
    limits = _Limits.of(targets, size)
    if not stop_when_missed:
        limits = _Limits(limits.ttft_s, limits.tpot_s, math.inf, math.inf)
    bin_seconds = busy_bin_seconds(workload.window_s)
    bins = max(1, math.ceil(workload.window_s / bin_seconds))
    where = assign_replicas(size, replicas, settings.balancer, seed)
    first = np.full(size, np.nan)
    end = np.full(size, np.nan)
    logs: list[_Log] = []
    stopped = False
    rows_of = [np.flatnonzero(where == index) for index in range(replicas)]

    def collect(rows: npt.NDArray[np.int64], log: _Log) -> None:
        logs.append(log)
        replica_first = np.frombuffer(log.first, dtype=np.float64)
        replica_end = np.frombuffer(log.end, dtype=np.float64)
        first[rows] = np.where(replica_end > 0, replica_first, np.nan)
        end[rows] = np.where(replica_end > 0, replica_end, np.nan)
        if progress is not None:
            progress(len(logs) / replicas)

    if workers > 1 and replicas > 1 and not stop_when_missed:
        jobs = [
            (
                workload.arrival_s[rows],
                workload.input_tokens[rows],
                workload.output_tokens[rows],
                steps,
                settings,
                limits,
                bin_seconds,
                bins,
            )
            for rows in rows_of
        ]
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(_replay_job, job): index for index, job in enumerate(jobs)}
            for future in concurrent.futures.as_completed(futures):
                collect(rows_of[futures[future]], future.result())
    else:
        misses = (0, 0)
        for rows in rows_of:
            log = _replay_replica(
                workload.arrival_s[rows].tolist(),
                workload.input_tokens[rows].tolist(),
                workload.output_tokens[rows].tolist(),
                steps,
                settings,
                limits,
                bin_seconds,
                bins,
                misses,
            )
            collect(rows, log)
            misses = (log.ttft_misses, log.tpot_misses)
            if log.stopped:
                stopped = True
                break
    arrival = workload.arrival_s
    outputs = workload.output_tokens.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(outputs > 1, (end - first) / (outputs - 1), np.nan)
    trace = _Trace(
        ttft=first - arrival,
        tpot=tpot,
        e2e=end - arrival,
        logs=logs,
        completed=int(np.isfinite(end).sum()),
        stopped=stopped,
    )
    return trace, bin_seconds


def _meets(trace: _Trace, targets: Sequence[LatencyTarget]) -> bool:
    if trace.stopped:
        return False
    for target in targets:
        values = {"ttft": trace.ttft, "tpot": trace.tpot, "e2e": trace.e2e}[target.metric]
        finite = values[np.isfinite(values)]
        if finite.size and float(np.percentile(finite, target.percentile)) > target.seconds:
            return False
    return True


def _misses(trace: _Trace, targets: Sequence[LatencyTarget]) -> int:
    missed = np.zeros(trace.ttft.size, dtype=np.bool_)
    for target in targets:
        values = {"ttft": trace.ttft, "tpot": trace.tpot, "e2e": trace.e2e}[target.metric]
        with np.errstate(invalid="ignore"):
            missed |= values > target.seconds
    return int(missed.sum())


def replay(
    workload: ServingWorkload,
    replica: Replica,
    replicas: int,
    settings: ServerSettings | None = None,
    targets: Sequence[LatencyTarget] = VIDUR_SLO,
    *,
    stop_when_missed: bool = False,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
    workers: int = 1,
) -> ReplayResult:
    """Replay `workload` through `replicas` replicas of `replica` and summarise latency and load.

    `stop_when_missed` ends the replay as soon as more requests have missed a target than its
    percentile allows (the result then `stopped_early` and does not meet the SLO): a search uses it
    to reject a fleet that is too small without replaying the whole window. `progress` is called with
    the share of replicas replayed. `workers` > 1 replays replicas in that many processes at once
    (they are independent); a replay that may stop early runs in this process, in order.
    """
    settings = settings or ServerSettings()
    trace, bin_seconds = _replay_trace(
        workload,
        replica,
        replicas,
        settings,
        targets,
        stop_when_missed=stop_when_missed,
        seed=seed,
        progress=progress,
        workers=workers,
    )
    batch_time = np.sum([np.asarray(log.batch_time) for log in trace.logs], axis=0)
    done = np.isfinite(trace.e2e)
    horizon = max(
        workload.window_s, float(np.max(trace.e2e[done] + workload.arrival_s[done], initial=0.0))
    )
    longest = max(len(log.busy_bins) for log in trace.logs)
    busy_bins = np.zeros(longest)
    for log in trace.logs:
        busy_bins[: len(log.busy_bins)] += log.busy_bins
    edges = np.arange(longest + 1, dtype=np.float64) * bin_seconds
    widths = np.minimum(edges[1:], horizon) - edges[:-1]
    widths = np.where(widths > 0, widths, bin_seconds)
    shares = np.minimum(busy_bins / (widths * len(trace.logs)), 1.0)
    peak_log = max(trace.logs, key=lambda log: log.queue_peak)
    output_tokens = float(workload.output_tokens[done].sum())
    return ReplayResult(
        replicas=replicas,
        requests=workload.size,
        completed=trace.completed,
        stopped_early=trace.stopped,
        ttft_s=_percentiles(trace.ttft),
        tpot_s=_percentiles(trace.tpot),
        e2e_s=_percentiles(trace.e2e),
        batch=_batch_sizes(batch_time),
        busy=BusyShare(
            mean=float(busy_bins.sum() / (horizon * len(trace.logs))),
            peak=float(shares.max()) if shares.size else 0.0,
            bin_seconds=bin_seconds,
            bins=[float(share) for share in shares],
        ),
        queue_peak=QueuePeak(peak_log.queue_peak, peak_log.queue_peak_at),
        preemptions=sum(log.preemptions for log in trace.logs),
        slo_misses=_misses(trace, targets),
        meets_slo=_meets(trace, targets),
        output_tokens_per_s=output_tokens / workload.window_s,
    )


@dataclass(frozen=True)
class ClosedLoopPoint:
    """A fixed number of concurrent users, each sending its next request when the last one ends."""

    concurrency: int
    output_tokens_per_s: float
    """Output tokens per second while every user is active (ramp-down excluded)."""
    tpot_s: float
    """Median time per output token over the requests."""
    itl_s: float
    """Median time between tokens over all tokens generated (the benchmarks' ITL)."""
    ttft_s: float
    """Median time to first token."""
    e2e_s: float
    """Median request latency."""
    preemptions: int


def closed_loop(
    replica: Replica,
    input_tokens: Sequence[int],
    output_tokens: Sequence[int],
    concurrency: int,
    settings: ServerSettings | None = None,
    requests: int | None = None,
) -> ClosedLoopPoint:
    """Run `concurrency` users against one replica, as `vllm bench serve --max-concurrency` does.

    Requests take their lengths from the lists in turn. `requests` (default: 8 per user, at least 64)
    is how many are sent in all; throughput counts the tokens produced until the last request is sent,
    while all users are active.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    total = requests or max(8 * concurrency, 64)
    settings = settings or ServerSettings(max_batch=max(concurrency, 1))
    inputs = [int(input_tokens[i % len(input_tokens)]) for i in range(total)]
    outputs = [int(output_tokens[i % len(output_tokens)]) for i in range(total)]
    arrivals = [0.0] * concurrency + [1.0] * (total - concurrency)
    log = _replay_replica(
        arrivals,
        inputs,
        outputs,
        _Steps(replica),
        settings,
        _Limits(math.inf, math.inf, math.inf, math.inf),
        3600.0,
        1,
        closed_loop=True,
        record_itl=True,
    )
    first = np.frombuffer(log.first, dtype=np.float64)
    end = np.frombuffer(log.end, dtype=np.float64)
    out = np.asarray(outputs, dtype=np.float64)
    start = _start_times(end, concurrency, total)
    horizon = float(start.max()) if total > concurrency else float(end.max())
    produced = _tokens_by(horizon, first, end, out)
    itl = np.asarray(log.itl or [(0.0, 0.0)])
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out > 1, (end - first) / (out - 1), np.nan)
    return ClosedLoopPoint(
        concurrency=concurrency,
        output_tokens_per_s=produced / horizon if horizon > 0 else 0.0,
        tpot_s=float(np.nanmedian(tpot)) if np.isfinite(tpot).any() else 0.0,
        itl_s=_weighted_quantile(itl[:, 0], itl[:, 1], 0.5),
        ttft_s=float(np.median(first - start)),
        e2e_s=float(np.median(end - start)),
        preemptions=log.preemptions,
    )


def _start_times(
    end: npt.NDArray[np.float64], concurrency: int, total: int
) -> npt.NDArray[np.float64]:
    """When each closed-loop request was sent: the first `concurrency` at 0, the next ones at the
    completions, in order (the replay sends request k when the (k − concurrency)-th completion happens)."""
    completions = np.sort(end)
    return np.concatenate([np.zeros(concurrency), completions[: total - concurrency]])


def _tokens_by(
    horizon: float,
    first: npt.NDArray[np.float64],
    end: npt.NDArray[np.float64],
    outputs: npt.NDArray[np.float64],
) -> float:
    """Output tokens produced by `horizon`, each answer's tokens spread evenly between its first
    and last token."""
    started = first <= horizon
    span = np.where(end > first, end - first, 1.0)
    progress = np.clip((horizon - first) / span, 0.0, 1.0)
    produced = np.where(started, 1 + (outputs - 1) * progress, 0.0)
    return float(produced.sum())
