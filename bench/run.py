"""Run the costaudit benchmarks side by side with their reference programs and report the ratios.

    python bench/run.py                      # full run (`make bench`): results/latest.json + summary
    python bench/run.py --quick              # tiny sizes, seconds (`make bench-smoke`, the smoke test)
    python bench/run.py --sizes 100000,1000000 --text-sizes 100000
    python bench/run.py --markdown           # print the README block of the last results (no run)
    python bench/run.py --write-readme       # run, then replace the results block in bench/README.md
    python bench/run.py --markdown --write-readme   # README from the last results, no run

Every program is a subprocess timed with `time.perf_counter` around spawn and wait, so interpreter
start-up and imports count the same for `costaudit analyze` and for the references; peak RSS and CPU
time come from `os.wait4`, the child's own resource usage. Commands on one file run interleaved
(reference, analyze, reference, analyze, …) and the median is reported. Simulation strategies run
in-process on a synthetic workload built with `costaudit.core.simulate.synthetic.generate`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import importlib.metadata
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402 - needs bench/ on the path when imported from elsewhere
import serving  # noqa: E402 - likewise

SCHEMA = 1
T = TypeVar("T")
README = BENCH / "README.md"
BEGIN, END = "<!-- BEGIN results -->", "<!-- END results -->"
DEFAULT_RESULTS = BENCH / "results" / "latest.json"
QUICK_RESULTS = BENCH / "results" / "quick.json"
MB = 1_000_000
GB = 1_000_000_000

# Targets of the issue "Performance: analyze at the speed of parsing and tokenizing, …".
USAGE_RATIO_MAX = 1.3
"""analyze ÷ the orjson loop on usage-only OpenAI logs."""
DUCKDB_RATIO_MAX = 1.5
"""analyze ÷ DuckDB's read_json_auto + group-by on the same usage-only file."""
TOKENIZE_RATIO_MAX = 1.5
"""analyze ÷ the one-thread parse+tokenize loop, on the file whose requests share system prompts."""
DISTINCT_RATIO_MAX = 0.6
"""The same on the file whose every prompt is distinct (no dedupe helps: every core must)."""
OTHER_READER_RATIO_MAX = 2.5
"""analyze ÷ the orjson loop for the other readers (Anthropic batch results)."""
SCALE_RSS_GROWTH_MAX = 1.2
"""Peak RSS at the larger usage-only file ÷ at the smaller (three times the records)."""
RSS_MAX_BYTES = GB
RSS_FILE_GROWTH_MAX = 0.10
"""Extra peak RSS per extra byte of file at the same request table (see README: "RSS")."""
VECTORIZED_SCENARIO_MAX_S = 1.0
REPLAY_MIN_BLOCKS_PER_S = 1_000_000
STARTUP_MAX_S = 0.3
BENCH_MAX_S = 300.0


@dataclass(frozen=True)
class Plan:
    """What one run measures."""

    sizes: tuple[int, ...]
    anthropic_sizes: tuple[int, ...]
    text_sizes: tuple[int, ...]
    rss_records: int
    sim_requests: int
    repeats: int
    long_above_s: float
    """A subprocess whose first run took longer than this runs `long_repeats` times in all."""
    long_repeats: int
    once_above_s_in_process: float
    """Likewise for the in-process simulate timings."""
    startup_runs: int
    peer: bool
    quick: bool
    serving_month: bool = False
    """Also replay a month at 10^6 requests a day (several minutes; `--serving-month`)."""
    distinct_sizes: tuple[int, ...] = ()
    """Record counts of the tokenized file whose prompts are all distinct."""
    scale_records: tuple[int, ...] = ()
    """Usage-only record counts whose peak RSS is compared (memory must not grow with records)."""
    dask: bool = False
    """Also analyze the largest usage-only file with `--engine dask` (a LocalCluster)."""

    @classmethod
    def full(cls) -> Plan:
        return cls(
            sizes=(100_000, 1_000_000),
            anthropic_sizes=(100_000,),
            text_sizes=(100_000,),
            rss_records=300_000,
            sim_requests=1_000_000,
            repeats=3,
            long_above_s=20.0,
            long_repeats=2,
            once_above_s_in_process=5.0,
            startup_runs=5,
            peer=True,
            quick=False,
            distinct_sizes=(40_000,),
            scale_records=(1_000_000, 3_000_000),
            dask=True,
        )

    @classmethod
    def smoke(cls) -> Plan:
        return cls(
            sizes=(2_000,),
            anthropic_sizes=(2_000,),
            text_sizes=(300,),
            rss_records=2_000,
            sim_requests=20_000,
            repeats=1,
            long_above_s=60.0,
            long_repeats=1,
            once_above_s_in_process=5.0,
            startup_runs=2,
            peer=True,
            quick=True,
            distinct_sizes=(200,),
            scale_records=(2_000, 6_000),
            dask=True,
        )


# --- subprocesses -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One subprocess run: wall seconds, CPU seconds (user + sys) and peak RSS of the child."""

    wall_s: float
    cpu_s: float
    max_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str


class CommandFailed(RuntimeError):
    pass


def child_env() -> dict[str, str]:
    """The environment of every timed program: bytecode caches written and used, as for a user's
    installed package."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # LiteLLM must never fetch its price map
    env["NO_COLOR"] = "1"
    return env


def run_command(command: Sequence[str], *, check: bool = True) -> Sample:
    """Run `command`, timing spawn → exit, and read the child's own rusage with `os.wait4`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=child_env()
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        sample = Sample(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            max_rss_bytes=usage.ru_maxrss * 1024,
            returncode=process.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )
    if check and sample.returncode != 0:
        raise CommandFailed(
            f"{' '.join(command)} exited {sample.returncode}:\n{sample.stderr[-2000:]}"
        )
    return sample


def costaudit_command() -> list[str]:
    """The `costaudit` console script of this interpreter's environment (what users run)."""
    script = Path(sys.executable).parent / "costaudit"
    if script.is_file():
        return [str(script)]
    found = shutil.which("costaudit")
    return [found] if found else [sys.executable, "-m", "costaudit"]


def analyze_command(path: Path) -> list[str]:
    return [*costaudit_command(), "analyze", str(path), "-o", "json", "--out", os.devnull]


def reference_command(program: str, path: Path) -> list[str]:
    return [sys.executable, str(BENCH / "references.py"), program, str(path)]


def summarize(samples: list[Sample]) -> dict[str, Any]:
    return {
        "runs": len(samples),
        "wall_s": [round(s.wall_s, 4) for s in samples],
        "median_s": round(statistics.median(s.wall_s for s in samples), 4),
        "cpu_s": round(statistics.median(s.cpu_s for s in samples), 4),
        "max_rss_bytes": max(s.max_rss_bytes for s in samples),
    }


def interleaved(commands: dict[str, list[str]], plan: Plan) -> dict[str, list[Sample]]:
    """Run the commands round-robin `plan.repeats` times; a command whose first run took longer
    than `plan.long_above_s` runs `plan.long_repeats` times."""
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for _ in range(plan.repeats):
        for name, command in commands.items():
            runs = samples[name]
            if runs and runs[0].wall_s > plan.long_above_s and len(runs) >= plan.long_repeats:
                continue
            runs.append(run_command(command))
    return samples


SUMMARY_LINE = re.compile(
    r"costaudit: ([\d,]+) records, ([\d,]+) priced, ([\d,]+) unpriced, ([\d,]+) skipped — \$([\d,.]+) total"
)


def analyze_summary(stderr: str) -> dict[str, Any]:
    """Counts from the summary line `costaudit analyze` prints on stderr (a sanity check)."""
    match = SUMMARY_LINE.search(stderr)
    if match is None:
        return {}
    read, priced, unpriced, skipped, total = (group.replace(",", "") for group in match.groups())
    return {
        "read": int(read),
        "priced": int(priced),
        "unpriced": int(unpriced),
        "skipped": int(skipped),
        "total_usd": total,
    }


# --- other load ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuSnapshot:
    """Machine-wide busy CPU time (from /proc/stat) and this process tree's own CPU time."""

    wall: float
    busy_s: float | None
    steal_s: float | None
    ours_s: float

    @classmethod
    def take(cls) -> CpuSnapshot:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        ours = children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime
        busy = steal = None
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
            ticks = [int(value) for value in fields]
            per_s = os.sysconf("SC_CLK_TCK")
            # user nice system idle iowait irq softirq steal (guest time is inside user)
            busy = sum(ticks[i] for i in (0, 1, 2, 5, 6)) / per_s
            steal = ticks[7] / per_s if len(ticks) > 7 else 0.0
        except (OSError, ValueError, IndexError):
            pass
        return cls(time.perf_counter(), busy, steal, ours)


def other_load(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float | None]:
    """CPU used by processes outside the benchmark, in cores on average, and the VM's steal."""
    wall = after.wall - before.wall
    if before.busy_s is None or after.busy_s is None or wall <= 0:
        return {"other_cores": None, "steal_cores": None}
    ours = after.ours_s - before.ours_s
    other = max(0.0, after.busy_s - before.busy_s - ours) / wall
    steal = ((after.steal_s or 0.0) - (before.steal_s or 0.0)) / wall
    return {"other_cores": round(other, 3), "steal_cores": round(steal, 3)}


@contextmanager
def measuring_load(into: dict[str, Any]) -> Iterator[None]:
    before = CpuSnapshot.take()
    yield
    into["load"] = other_load(before, CpuSnapshot.take())


# --- sections -----------------------------------------------------------------------------------


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


@dataclass
class Files:
    """Generated test files, kept in `data_dir` and reused (the name carries kind, size, version)."""

    data_dir: Path
    generated_s: float = 0.0
    generated: list[str] = dataclasses.field(default_factory=list)

    def path(self, kind: str, count: int) -> Path:
        return self.data_dir / f"{kind}-{count}-s1-v{generate.GENERATOR_VERSION}.jsonl"

    def prepare(self, wanted: Sequence[tuple[str, int]]) -> None:
        """Generate the missing files before anything is timed, one process per core."""
        missing = sorted(
            {(kind, count) for kind, count in wanted if not self.path(kind, count).is_file()},
            key=lambda item: -item[1],
        )
        if not missing:
            return
        log(f"generating {len(missing)} files: {', '.join(f'{k} × {n:,}' for k, n in missing)}")
        start = time.perf_counter()
        workers = min(len(missing), os.cpu_count() or 1)
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            jobs = [
                pool.submit(generate.write, kind, count, self.path(kind, count), 1)
                for kind, count in missing
            ]
            for job in jobs:
                self.generated.append(job.result().name)
        self.generated_s += time.perf_counter() - start

    def get(self, kind: str, count: int) -> Path:
        self.prepare([(kind, count)])
        return self.path(kind, count)


def file_info(kind: str, count: int, path: Path) -> dict[str, Any]:
    return {"kind": kind, "records": count, "bytes": path.stat().st_size, "name": path.name}


def compile_package() -> None:
    """Write the package's bytecode once, so no timed run pays for compiling it."""
    import costaudit

    run_command([sys.executable, "-m", "compileall", "-q", str(Path(costaudit.__file__).parent)])


def has_duckdb() -> bool:
    return _version("duckdb") is not None


def references_for(kind: str) -> list[str]:
    """The reference programs a file is compared with."""
    if kind in {"openai-text", "openai-distinct-text"}:
        return ["parse", "tokenize"]
    if kind == "openai-usage" and has_duckdb():
        return ["parse", "duckdb"]
    return ["parse"]


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def analyze_case(kind: str, count: int, path: Path, plan: Plan) -> dict[str, Any]:
    references = references_for(kind)
    commands = {name: reference_command(name, path) for name in references}
    commands["analyze"] = analyze_command(path)
    log(f"analyze {kind} × {count:,} vs {', '.join(references)}")
    load: dict[str, Any] = {}
    with measuring_load(load):
        samples = interleaved(commands, plan)
    results = {name: summarize(runs) for name, runs in samples.items()}
    results["analyze"]["summary"] = analyze_summary(samples["analyze"][0].stderr)
    for name in references:
        results[name]["output"] = json.loads(samples[name][0].stdout)
    info = file_info(kind, count, path)
    analyze_s = results["analyze"]["median_s"]
    return {
        "file": info,
        "commands": results,
        "records_per_s": count / analyze_s,
        "mb_per_s": info["bytes"] / MB / analyze_s,
        "ratios": {name: analyze_s / results[name]["median_s"] for name in references},
        "paired_ratios": {
            # analyze ÷ reference within each round (runs next to each other), for noisy machines
            name: statistics.median(
                a.wall_s / r.wall_s for a, r in zip(samples["analyze"], samples[name], strict=False)
            )
            for name in references
        },
        "paired_spread": {
            name: spread(
                [
                    a.wall_s / r.wall_s
                    for a, r in zip(samples["analyze"], samples[name], strict=False)
                ]
            )
            for name in references
        },
        **load,
    }


def peer_case(case: dict[str, Any], path: Path) -> dict[str, Any]:
    """The LiteLLM loop on the file of an `analyze_case` (usage-only OpenAI)."""
    count = case["file"]["records"]
    analyze = case["commands"]["analyze"]
    command = [sys.executable, str(BENCH / "peer_litellm.py"), str(path)]
    log(f"peer: LiteLLM cost_per_token loop × {count:,}")
    sample = run_command(command, check=False)
    if sample.returncode == 3:  # peer_litellm.NOT_INSTALLED
        return {"skipped": "litellm not installed"}
    if sample.returncode != 0:
        raise CommandFailed(f"peer_litellm.py exited {sample.returncode}:\n{sample.stderr[-2000:]}")
    peer = summarize([sample])
    peer["output"] = json.loads(sample.stdout)
    peer["litellm"] = _version("litellm")
    return {
        "file": case["file"],
        "peer": peer,
        "analyze_median_s": analyze["median_s"],
        "analyze_total_usd": analyze["summary"].get("total_usd"),
        "ratio_peer_over_analyze": sample.wall_s / analyze["median_s"],
        "records_per_s": count / sample.wall_s,
    }


def rss_case(files: Files, plan: Plan, usage_cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Peak RSS at `rss_records` usage-only records and of the same table from a much larger file
    (the highest of `plan.repeats` interleaved runs each: peak RSS varies by tens of MB between runs
    of one command), and the analyze runs of every size (RSS per record as the table grows)."""
    count = plan.rss_records
    kinds = ("openai-usage", "openai-usage-text")
    paths = {kind: files.get(kind, count) for kind in kinds}
    log(f"peak RSS: analyze {count:,} records, usage only and with text, interleaved")
    samples = interleaved({kind: analyze_command(paths[kind]) for kind in kinds}, plan)
    runs: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        summary = summarize(samples[kind])
        runs[kind] = {
            "file": file_info(kind, count, paths[kind]),
            "max_rss_bytes": summary["max_rss_bytes"],
            "rss_bytes_each_run": [sample.max_rss_bytes for sample in samples[kind]],
            "wall_s": summary["median_s"],
            "summary": analyze_summary(samples[kind][-1].stderr),
        }
    extra_file = runs["openai-usage-text"]["file"]["bytes"] - runs["openai-usage"]["file"]["bytes"]
    extra_rss = runs["openai-usage-text"]["max_rss_bytes"] - runs["openai-usage"]["max_rss_bytes"]
    by_size = sorted(
        {(count, runs["openai-usage"]["max_rss_bytes"], runs["openai-usage"]["file"]["bytes"])}
        | {
            (
                case["file"]["records"],
                case["commands"]["analyze"]["max_rss_bytes"],
                case["file"]["bytes"],
            )
            for case in usage_cases
        }
    )
    return {
        "runs": runs,
        "file_growth_bytes": extra_file,
        "rss_growth_bytes": extra_rss,
        "rss_per_file_byte": extra_rss / extra_file if extra_file else 0.0,
        "by_size": [
            {"records": n, "max_rss_bytes": rss, "file_bytes": size} for n, rss, size in by_size
        ],
        "rss_bytes_per_record": _slope(by_size),
    }


def _slope(points: list[tuple[int, int, int]]) -> float | None:
    """Extra peak RSS per extra record between the smallest and the largest usage-only run."""
    (n0, rss0, _), (n1, rss1, _) = points[0], points[-1]
    return (rss1 - rss0) / (n1 - n0) if n1 > n0 else None


def scale_case(files: Files, plan: Plan) -> dict[str, Any]:
    """Peak RSS of analyze on usage-only files of `plan.scale_records` records, interleaved: it must
    not grow with the number of records (partitions and partial results)."""
    counts = plan.scale_records
    paths = {count: files.get("openai-usage", count) for count in counts}
    log(f"scale: analyze {' and '.join(f'{c:,}' for c in counts)} usage-only records, interleaved")
    samples = interleaved({str(c): analyze_command(paths[c]) for c in counts}, plan)
    runs = {
        str(count): {
            "file": file_info("openai-usage", count, paths[count]),
            "max_rss_bytes": max(sample.max_rss_bytes for sample in samples[str(count)]),
            "rss_bytes_each_run": [sample.max_rss_bytes for sample in samples[str(count)]],
            "wall_s": summarize(samples[str(count)])["median_s"],
            "cpu_s": summarize(samples[str(count)])["cpu_s"],
            "summary": analyze_summary(samples[str(count)][-1].stderr),
        }
        for count in counts
    }
    small, large = runs[str(counts[0])], runs[str(counts[-1])]
    return {
        "runs": runs,
        "rss_growth": large["max_rss_bytes"] / small["max_rss_bytes"],
        "records_growth": counts[-1] / counts[0],
    }


def dask_case(files: Files, plan: Plan, count: int) -> dict[str, Any]:
    """`analyze --engine dask` (a LocalCluster started by the run) next to the local engine on the
    same usage-only file, interleaved; the JSON reports must be byte-identical."""
    if _version("distributed") is None:
        return {"skipped": "dask[distributed] not installed"}
    path = files.get("openai-usage", count)
    with tempfile.TemporaryDirectory() as scratch:
        outputs = {name: Path(scratch) / f"{name}.json" for name in ("local", "dask")}
        base = [*costaudit_command(), "analyze", str(path), "-o", "json"]
        commands = {
            "local": [*base, "--out", str(outputs["local"])],
            "dask": [*base, "--engine", "dask", "--out", str(outputs["dask"])],
        }
        log(f"dask: analyze {count:,} usage-only records, --engine dask vs local")
        samples = interleaved(commands, plan)
        identical = outputs["local"].read_bytes() == outputs["dask"].read_bytes()
    ratios = [
        d.wall_s / lo.wall_s for d, lo in zip(samples["dask"], samples["local"], strict=False)
    ]
    return {
        "file": file_info("openai-usage", count, path),
        "commands": {name: summarize(runs) for name, runs in samples.items()},
        "identical": identical,
        "paired_ratio": spread(ratios),
        "distributed": _version("distributed"),
    }


STACK_IMPORTS = "import typer, pydantic, numpy, pyarrow.json, yaml, rich.console"
"""The libraries `costaudit analyze` is built on, imported and nothing else done."""


def startup_case(plan: Plan, one_record: Path) -> dict[str, Any]:
    """Fixed costs: `--help`, analyze of a one-record log, the libraries' imports, bare Python;
    run round-robin so that a slow spell of the machine weighs on all of them alike."""
    commands = {
        "costaudit_help": [*costaudit_command(), "--help"],
        "analyze_one_record": analyze_command(one_record),
        "stack_imports": [sys.executable, "-c", STACK_IMPORTS],
        "python_bare": [sys.executable, "-c", "pass"],
    }
    for command in commands.values():
        run_command(command)  # warm the bytecode cache
    log(f"start-up: {len(commands)} commands × {plan.startup_runs}")
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for _ in range(plan.startup_runs):
        for name, command in commands.items():
            samples[name].append(run_command(command))
    return {name: summarize(runs) for name, runs in samples.items()}


# --- simulate -----------------------------------------------------------------------------------


def synthetic_spec(requests: int) -> dict[str, Any]:
    """Two streams sharing no prompt: gpt-4o chat (70%) and gpt-4o-mini search (30%), each with a
    system prompt above OpenAI's 1,024-token caching minimum, over one day."""
    return {
        "streams": [
            {
                "name": "chat",
                "requests_per_day": requests * 7 // 10,
                "model": "gpt-4o",
                "input_tokens": {"distribution": "lognormal", "mean": 400, "sigma": 0.8},
                "output_tokens": {"distribution": "lognormal", "mean": 250, "sigma": 0.6},
                "complexity": {"distribution": "beta", "a": 2, "b": 5},
                "arrival": {"pattern": "diurnal", "peak_to_average": 2},
            },
            {
                "name": "search",
                "requests_per_day": requests - requests * 7 // 10,
                "model": "gpt-4o-mini",
                "input_tokens": {"distribution": "lognormal", "mean": 300, "sigma": 0.5},
                "output_tokens": {"distribution": "lognormal", "mean": 120, "sigma": 0.5},
                "complexity": {"distribution": "beta", "a": 2, "b": 3},
            },
        ],
        "days": 1,
        "max_requests": requests,
        "seed": 7,
    }


SYSTEM_PROMPT_TOKENS = (1_200, 1_100)
DUPLICATE_SHARE = 0.3
"""Share of requests whose prompt hash repeats one of a hot set (exact response-cache hits)."""

SCENARIOS: dict[str, dict[str, Any]] = {
    "as logged (pricing only)": {},
    "routing: 2 tiers by share": {
        "routing": {"tiers": [{"model": "gpt-4o-mini", "share": 0.7}, {"model": "gpt-4o"}]}
    },
    "batching: 30% share": {"batching": {"share": 0.3}},
    "response cache: exact, 1 h TTL": {"response_cache": {"ttl": 3600}},
    "prompt-cache replay: openai rule": {"prompt_cache": {"preset": "openai"}},
}
VECTORIZED = ("routing: 2 tiers by share", "batching: 30% share", "response cache: exact, 1 h TTL")
PROMPT_CACHE = "prompt-cache replay: openai rule"


@contextmanager
def counting_replays() -> Iterator[list[int]]:
    """Count the blocks every replay goes through (wrapping both import sites of
    `replay_prefix_cache_at`): a group's blocks once per lifetime it is replayed at."""
    from costaudit.core import prompt_cache
    from costaudit.core.simulate import caching

    name = "replay_prefix_cache_at"
    original = getattr(prompt_cache, name)
    blocks: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        view = args[2]
        blocks.append(int(view.block_counts.sum()) * len(kwargs["ttls"]))
        return original(*args, **kwargs)

    for module in (prompt_cache, caching):
        setattr(module, name, counted)
    try:
        yield blocks
    finally:
        for module in (prompt_cache, caching):
            setattr(module, name, original)


def _timed(function: Callable[[], T], plan: Plan) -> tuple[list[float], T]:
    """Wall times of `plan.repeats` calls (one when the first took longer than
    `plan.once_above_s_in_process`), and the last call's result."""
    times: list[float] = []
    while True:
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
        if len(times) >= plan.repeats or times[0] > plan.once_above_s_in_process:
            return times, result


def simulate_case(plan: Plan) -> dict[str, Any]:
    import numpy as np

    from costaudit.config.scenario import Scenario, Synthetic
    from costaudit.core.prompt_cache import PrefixBlocks, replay_prefix_cache
    from costaudit.core.simulate.engine import run_scenario
    from costaudit.core.simulate.synthetic import StreamPrompt
    from costaudit.core.simulate.synthetic import generate as generate_workload
    from costaudit.pricetable.layers import load_prices

    table = load_prices().table
    count = plan.sim_requests
    log(f"simulate: building a {count:,}-request synthetic workload")
    start = time.perf_counter()
    workload = generate_workload(
        Synthetic.model_validate(synthetic_spec(count)),
        [StreamPrompt(tokens) for tokens in SYSTEM_PROMPT_TOKENS],
    )
    build_s = time.perf_counter() - start
    rng = np.random.default_rng(11)
    keys = np.arange(1, count + 1, dtype=np.uint64)
    hot = rng.random(count) < DUPLICATE_SHARE
    keys[hot] = rng.integers(count + 1, count + 1 + max(count // 100, 1), int(hot.sum()))
    requests = dataclasses.replace(workload.requests, prompt_hash=keys)
    workload = dataclasses.replace(workload, requests=requests)

    scenarios: dict[str, Any] = {}
    for name, body in SCENARIOS.items():
        scenario = Scenario.model_validate({"name": name, **body})
        log(f"simulate: {name}")

        def one_run(scenario: Scenario = scenario) -> object:
            return run_scenario(workload, scenario, table, seed=7, days_per_month=Decimal(30))

        with counting_replays() as replayed:
            times, _ = _timed(one_run, plan)
        median = statistics.median(times)
        entry: dict[str, Any] = {"runs": len(times), "times_s": times, "median_s": median}
        if replayed:
            per_run = sum(replayed) // len(times)
            entry["replays_per_run"] = len(replayed) // len(times)
            entry["blocks_replayed_per_run"] = per_run
            entry["blocks_per_s"] = per_run / median
        scenarios[name] = entry

    frame = workload.requests
    blocks = frame.prefix_blocks
    assert isinstance(blocks, PrefixBlocks), "synthetic workloads carry prefix blocks in memory"
    arrival = frame.timestamp_ns.astype(np.float64) / 1e9
    scope = frame.model.codes.astype(np.int64)
    inputs = frame.tokens["input_tokens"]
    log(f"simulate: replay_prefix_cache over {blocks.hashes.size:,} blocks")
    replay_times, hit = _timed(
        lambda: replay_prefix_cache(
            arrival, scope, blocks, inputs, ttl_s=600.0, min_prefix_tokens=1024
        ),
        plan,
    )
    replay_s = statistics.median(replay_times)
    return {
        "requests": len(frame),
        "build_s": build_s,
        "prefix_blocks": int(blocks.hashes.size),
        "block_tokens": blocks.block_tokens,
        "scenarios": scenarios,
        "replay": {
            "blocks": int(blocks.hashes.size),
            "block_tokens": blocks.block_tokens,
            "times_s": replay_times,
            "median_s": replay_s,
            "blocks_per_s": blocks.hashes.size / replay_s,
            "hit_rate": hit.hit_rate,
        },
    }


# --- machine ------------------------------------------------------------------------------------


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    uname = os.uname()
    return {
        "uname": " ".join(
            (uname.sysname, uname.nodename, uname.release, uname.version, uname.machine)
        ),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "mem_total_bytes": _mem_total_bytes(),
        "python": platform.python_version(),
        "packages": {
            name: _version(name)
            for name in (
                "costaudit",
                "numpy",
                "pandas",
                "pyarrow",
                "orjson",
                "tiktoken",
                "litellm",
                "duckdb",
                "distributed",
            )
        },
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--", "costaudit")),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
    }


# --- the run ------------------------------------------------------------------------------------


def run(plan: Plan, data_dir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    files = Files(data_dir)
    load: dict[str, list[float]] = {"start": list(os.getloadavg())}
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": plan.quick,
        "plan": dataclasses.asdict(plan),
        "machine": machine(),
        "load": load,
    }
    matrix = [
        *(("openai-usage", count) for count in plan.sizes),
        *(("anthropic-batch", count) for count in plan.anthropic_sizes),
        *(("openai-text", count) for count in plan.text_sizes),
        *(("openai-distinct-text", count) for count in plan.distinct_sizes),
    ]
    rss_files = [(kind, plan.rss_records) for kind in ("openai-usage", "openai-usage-text")]
    scale_files = [("openai-usage", count) for count in plan.scale_records]
    files.prepare([*matrix, *rss_files, *scale_files, ("openai-usage", 1)])
    compile_package()
    results["startup"] = startup_case(plan, files.get("openai-usage", 1))
    cases = [analyze_case(kind, count, files.get(kind, count), plan) for kind, count in matrix]
    results["analyze"] = cases
    load["after_analyze"] = list(os.getloadavg())
    usage_cases = [case for case in cases if case["file"]["kind"] == "openai-usage"]
    if plan.peer:
        smallest = usage_cases[0]
        results["peer"] = peer_case(
            smallest, files.get("openai-usage", smallest["file"]["records"])
        )
    else:
        results["peer"] = {"skipped": "--no-peer"}
    results["rss"] = rss_case(files, plan, usage_cases)
    if plan.scale_records:
        results["scale"] = scale_case(files, plan)
    if plan.dask:
        results["dask"] = dask_case(files, plan, max(plan.sizes))
    simulate_load: dict[str, Any] = {}
    with measuring_load(simulate_load):
        results["simulate"] = simulate_case(plan)
    results["simulate"].update(simulate_load)
    results["serving"] = serving.serving_case(plan.quick, plan.serving_month)
    load["end"] = list(os.getloadavg())
    results["generated"] = {"files": files.generated, "seconds": files.generated_s}
    results["elapsed_s"] = time.perf_counter() - started
    results["targets"] = targets(results)
    return results


def _analyze_targets(
    results: dict[str, Any], check: Callable[[str, float, float, str], None]
) -> None:
    """The ratio targets of each analyze case (paired ratios: the runs next to each other)."""
    for case in results["analyze"]:
        info, ratios = case["file"], case["paired_ratios"]
        label = f"{info['records']:,} records"
        if info["kind"] == "openai-usage":
            check(
                f"analyze usage-only OpenAI ÷ parse, {label}",
                ratios["parse"],
                USAGE_RATIO_MAX,
                f"≤ {USAGE_RATIO_MAX}×",
            )
            if "duckdb" in ratios:
                check(
                    f"analyze usage-only OpenAI ÷ DuckDB, {label}",
                    ratios["duckdb"],
                    DUCKDB_RATIO_MAX,
                    f"≤ {DUCKDB_RATIO_MAX}×",
                )
        elif info["kind"] == "openai-text":
            check(
                f"analyze tokenizing OpenAI (shared system prompts) ÷ parse+tokenize, {label}",
                ratios["tokenize"],
                TOKENIZE_RATIO_MAX,
                f"≤ {TOKENIZE_RATIO_MAX}×",
            )
        elif info["kind"] == "openai-distinct-text":
            check(
                f"analyze tokenizing OpenAI (distinct prompts) ÷ parse+tokenize, {label}",
                ratios["tokenize"],
                DISTINCT_RATIO_MAX,
                f"≤ {DISTINCT_RATIO_MAX}×",
            )
        else:
            check(
                f"analyze {info['kind']} ÷ parse, {label}",
                ratios["parse"],
                OTHER_READER_RATIO_MAX,
                f"≤ {OTHER_READER_RATIO_MAX}×",
            )


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every checked target: what was measured, the limit, and PASS/FAIL."""
    rows: list[dict[str, Any]] = []

    def check(name: str, value: float, limit: float, shown: str, below: bool = True) -> None:
        ok = value <= limit if below else value >= limit
        rows.append({"target": name, "measured": value, "limit": limit, "shown": shown, "pass": ok})

    _analyze_targets(results, check)
    rss = results["rss"]
    plain = rss["runs"]["openai-usage"]
    check(
        f"peak RSS, {plain['file']['records']:,} usage-only records",
        plain["max_rss_bytes"],
        RSS_MAX_BYTES,
        "< 1 GB",
    )
    check(
        "peak RSS grows with the table, not the file (ΔRSS ÷ Δfile)",
        rss["rss_per_file_byte"],
        RSS_FILE_GROWTH_MAX,
        f"≤ {RSS_FILE_GROWTH_MAX}",
    )
    if "scale" in results:
        scale = results["scale"]
        check(
            f"peak RSS ×{scale['records_growth']:.0f} records ÷ peak RSS (usage-only)",
            scale["rss_growth"],
            SCALE_RSS_GROWTH_MAX,
            f"≤ {SCALE_RSS_GROWTH_MAX}×",
        )
    if "dask" in results and "skipped" not in results["dask"]:
        check(
            "--engine dask report identical to local (1 = yes)",
            results["dask"]["identical"],
            1,
            "= 1",
            below=False,
        )
    simulate = results["simulate"]
    for name in VECTORIZED:
        check(
            f"simulate {name}, {simulate['requests']:,} requests",
            simulate["scenarios"][name]["median_s"],
            VECTORIZED_SCENARIO_MAX_S,
            f"< {VECTORIZED_SCENARIO_MAX_S:g} s",
        )
    check(
        "replay_prefix_cache blocks/s",
        simulate["replay"]["blocks_per_s"],
        REPLAY_MIN_BLOCKS_PER_S,
        "≥ 1M/s",
        below=False,
    )
    prompt = simulate["scenarios"][PROMPT_CACHE]
    if "blocks_per_s" in prompt:
        check(
            "prompt-cache scenario blocks/s",
            prompt["blocks_per_s"],
            REPLAY_MIN_BLOCKS_PER_S,
            "≥ 1M/s",
            below=False,
        )
    if "serving" in results:
        serving.targets(results["serving"], check)
    check(
        "costaudit --help start-up",
        results["startup"]["costaudit_help"]["median_s"],
        STARTUP_MAX_S,
        f"< {STARTUP_MAX_S} s",
    )
    if not results["quick"]:
        check("whole benchmark run", results["elapsed_s"], BENCH_MAX_S, "< 5 min")
    return rows


# --- Markdown -----------------------------------------------------------------------------------


def _si(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _mb(value: float) -> str:
    return f"{value / MB:,.0f} MB" if value >= 10 * MB else f"{value / MB:.1f} MB"


def _measured(row: dict[str, Any]) -> str:
    name, value = row["target"], row["measured"]
    if "RSS, " in name:
        return _mb(value)
    if "blocks/s" in name:
        return f"{_si(value)}/s"
    if "÷ parse" in name or "÷ DuckDB" in name or "÷ peak RSS" in name:
        return f"{value:.2f}×"
    if "identical" in name:
        return "yes" if value else "no"
    if "ΔRSS" in name:
        return f"{value:.2f}"
    return f"{value:.3g} s" if value < 100 else f"{value:,.0f} s"


def _load(results: dict[str, Any]) -> str:
    return ", ".join(
        f"{when} {values[0]:.2f}" for when, values in results["load"].items() if values
    )


def markdown(results: dict[str, Any]) -> str:
    lines: list[str] = []
    add = lines.append
    m = results["machine"]
    mem = m["mem_total_bytes"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    commit = f"{m['git_commit']}{' + uncommitted changes in costaudit/' if m['git_dirty'] else ''}"
    add(
        f"Run of {results['date']}{' (--quick: tiny sizes, not a benchmark)' if results['quick'] else ''}."
    )
    add("")
    add(f"- Machine: `{m['uname']}`")
    add(
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable); RAM "
        f"{(mem or 0) / 2**30:.1f} GiB; Python {m['python']}"
    )
    add(f"- Packages: {packages}; costaudit at {commit}")
    add(f"- Load average (1 min, the benchmark included): {_load(results)}")
    if m["openblas_env"]:
        add(f"- Environment: {', '.join(f'{k}={v}' for k, v in m['openblas_env'].items())}")
    generated = results["generated"]
    add(
        f"- Whole run {results['elapsed_s']:.0f} s, of which generating test files "
        f"{generated['seconds']:.0f} s ({len(generated['files'])} files; reused when present)"
    )
    add("")
    add("**Targets**")
    add("")
    add("| target | measured | limit | result |")
    add("|---|---:|---:|:---:|")
    for row in results["targets"]:
        verdict = "PASS" if row["pass"] else "**FAIL**"
        add(f"| {row['target']} | {_measured(row)} | {row['shown']} | {verdict} |")
    add("")
    add(_analyze_table(results))
    add(_peer_lines(results))
    add(_rss_lines(results))
    if "scale" in results:
        add(_scale_lines(results["scale"]))
    if "dask" in results:
        add(_dask_lines(results["dask"]))
    add(_simulate_table(results))
    if "serving" in results:
        add(serving.markdown(results["serving"]))
        add("")
    add(_startup_line(results["startup"]))
    return "\n".join(lines).rstrip() + "\n"


def _startup_line(startup: dict[str, Any]) -> str:
    def median(name: str) -> str:
        return f"{startup[name]['median_s']:.3f} s" if name in startup else "(not measured)"

    return (
        f"**Start-up** (median of {startup['costaudit_help']['runs']}): `costaudit --help` "
        f"{median('costaudit_help')}; `costaudit analyze` of a one-record usage log "
        f"{median('analyze_one_record')} (the fixed cost of every analyze run); importing the "
        f"libraries it is built on and nothing else (`{STACK_IMPORTS}`) "
        f"{median('stack_imports')}; bare `python -c pass` {median('python_bare')}."
    )


def _cores(load: dict[str, Any] | None) -> str:
    """CPU other processes used meanwhile, in cores (and the VM's steal when there was any)."""
    if not load or load.get("other_cores") is None:
        return "?"
    steal = load.get("steal_cores") or 0.0
    return f"{load['other_cores']:.2f}" + (f" (steal {steal:.2f})" if steal >= 0.01 else "")


def _analyze_table(results: dict[str, Any]) -> str:
    lines = [
        "**analyze** (`costaudit analyze FILE -o json --out /dev/null`; wall time including "
        "start-up, median of the runs shown; CPU = user + sys of the process; other load = "
        "cores busy with processes outside the benchmark meanwhile, from /proc/stat)",
        "",
        "| file | records | size | analyze | records/s | MB/s | CPU | peak RSS | parse ref | "
        "parse+tokenize ref | DuckDB ref | analyze ÷ ref, paired (min–max) | other load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in results["analyze"]:
        info, commands = case["file"], case["commands"]
        analyze = commands["analyze"]
        parse = commands["parse"]
        tokenize = commands.get("tokenize")
        duckdb = commands.get("duckdb")
        spreads = case.get("paired_spread", {})
        ratios = (
            "; ".join(
                f"{name} {value['median']:.2f}× ({value['min']:.2f}–{value['max']:.2f})"
                for name, value in spreads.items()
            )
            or f"{case['ratios'].get('tokenize', case['ratios']['parse']):.2f}×"
        )
        lines.append(
            f"| {info['kind']} | {info['records']:,} | {_mb(info['bytes'])} | "
            f"{analyze['median_s']:.2f} s ×{analyze['runs']} | {_si(case['records_per_s'])} | "
            f"{case['mb_per_s']:.1f} | {analyze['cpu_s']:.2f} s | {_mb(analyze['max_rss_bytes'])} | "
            f"{parse['median_s']:.2f} s ×{parse['runs']} | "
            + (f"{tokenize['median_s']:.2f} s ×{tokenize['runs']}" if tokenize else "—")
            + " | "
            + (f"{duckdb['median_s']:.2f} s ×{duckdb['runs']}" if duckdb else "—")
            + f" | {ratios} | {_cores(case.get('load'))} |"
        )
    lines.append("")
    return "\n".join(lines)


def _scale_lines(scale: dict[str, Any]) -> str:
    runs = ", ".join(
        f"{int(count):,} records ({_mb(run['file']['bytes'])}) → {_mb(run['max_rss_bytes'])} peak "
        f"(runs: {', '.join(_mb(v) for v in run['rss_bytes_each_run'])}), {run['wall_s']:.2f} s"
        for count, run in scale["runs"].items()
    )
    return (
        f"**Memory at scale** (usage-only, read in partitions merged as partial results): {runs}; "
        f"×{scale['records_growth']:.0f} records → ×{scale['rss_growth']:.2f} peak RSS.\n"
    )


def _dask_lines(dask: dict[str, Any]) -> str:
    if "skipped" in dask:
        return f"**Dask**: skipped: {dask['skipped']}.\n"
    commands, ratio = dask["commands"], dask["paired_ratio"]
    return (
        f"**Dask** (distributed {dask['distributed']}, `--engine dask` starting a LocalCluster of "
        f"worker processes on this machine, {dask['file']['records']:,} usage-only records): "
        f"{commands['dask']['median_s']:.2f} s ×{commands['dask']['runs']} vs local "
        f"{commands['local']['median_s']:.2f} s ×{commands['local']['runs']} (paired ratio "
        f"{ratio['median']:.2f}×, {ratio['min']:.2f}–{ratio['max']:.2f}); reports byte-identical: "
        f"{'yes' if dask['identical'] else '**no**'}.\n"
    )


def _peer_lines(results: dict[str, Any]) -> str:
    peer = results["peer"]
    if "skipped" in peer:
        return f"**Peer** (LiteLLM `cost_per_token` per record): skipped: {peer['skipped']}.\n"
    info, run = peer["file"], peer["peer"]
    output = run["output"]
    ours = peer["analyze_total_usd"]
    costaudit_total = f"${float(ours):,.2f}" if ours is not None else "(no summary line)"
    return (
        f"**Peer** (LiteLLM {run['litellm']} `cost_per_token` in a Python loop, same "
        f"{info['records']:,}-record usage-only file): {run['median_s']:.2f} s "
        f"({_si(peer['records_per_s'])} records/s, peak RSS {_mb(run['max_rss_bytes'])}), "
        f"**{peer['ratio_peer_over_analyze']:.1f}×** the time of `costaudit analyze` "
        f"({peer['analyze_median_s']:.2f} s). Cross-check: LiteLLM prices "
        f"{output['records'] - output['failed']:,} records at ${output['total_usd']:,.2f}, "
        f"costaudit at {costaudit_total}.\n"
    )


def _rss_lines(results: dict[str, Any]) -> str:
    rss = results["rss"]
    plain, padded = rss["runs"]["openai-usage"], rss["runs"]["openai-usage-text"]
    sizes = ", ".join(f"{row['records']:,} → {_mb(row['max_rss_bytes'])}" for row in rss["by_size"])
    slope = rss["rss_bytes_per_record"]
    return (
        f"**Peak RSS** of `analyze`: {plain['file']['records']:,} usage-only records "
        f"({_mb(plain['file']['bytes'])} file) {_mb(plain['max_rss_bytes'])}; the same requests "
        f"with completion text ({_mb(padded['file']['bytes'])} file) {_mb(padded['max_rss_bytes'])}, "
        f"i.e. {rss['rss_per_file_byte']:.2f} byte of RSS per extra byte of file. By records "
        f"(usage-only): {sizes}"
        + (f"; {slope:,.0f} bytes per extra record." if slope is not None else ".")
        + "\n"
    )


def _simulate_table(results: dict[str, Any]) -> str:
    simulate = results["simulate"]
    lines = [
        f"**simulate** (in-process `run_scenario` on {simulate['requests']:,} synthetic requests, "
        f"{simulate['prefix_blocks']:,} prefix blocks of {simulate['block_tokens']} tokens; "
        f"building the workload with `synthetic.generate` took {simulate['build_s']:.1f} s; "
        f"other load {_cores(simulate.get('load'))} cores)",
        "",
        "| scenario | time | blocks replayed | blocks/s |",
        "|---|---:|---:|---:|",
    ]
    for name, entry in simulate["scenarios"].items():
        blocks = entry.get("blocks_replayed_per_run")
        replayed = f"{blocks:,} ({entry['replays_per_run']} replays)" if blocks is not None else "—"
        rate = f"{_si(entry['blocks_per_s'])}/s" if "blocks_per_s" in entry else "—"
        lines.append(
            f"| {name} | {entry['median_s']:.3f} s ×{entry['runs']} | {replayed} | {rate} |"
        )
    replay = simulate["replay"]
    lines.append(
        f"| `replay_prefix_cache` alone (TTL 10 min, min 1,024 tokens) | "
        f"{replay['median_s']:.3f} s ×{len(replay['times_s'])} | {replay['blocks']:,} | "
        f"{_si(replay['blocks_per_s'])}/s |"
    )
    lines.append("")
    return "\n".join(lines)


def write_readme(block: str, readme: Path = README) -> None:
    replace_block(block, BEGIN, END, readme)


def replace_block(block: str, begin: str, end: str, readme: Path = README) -> None:
    """Put `block` between the `begin` and `end` markers of `readme`, in place of what was there."""
    text = readme.read_text(encoding="utf-8")
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise SystemExit(f"{readme} has no {begin} … {end} block")
    readme.write_text(text[: start + len(begin)] + "\n" + block + text[stop:], encoding="utf-8")


def results_block(
    results: Path,
    measure: Callable[[], dict[str, Any]],
    markdown: Callable[[dict[str, Any]], str],
    *,
    saved: bool,
    keep: bool,
    readme_markers: tuple[str, str] | None,
) -> None:
    """A side benchmark's results as a Markdown block on stdout: measured now (and kept in
    `results` when `keep`), or the last ones kept there (`saved`); the block also replaces the one
    between `readme_markers` in bench/README.md when given."""
    if saved:
        result = json.loads(results.read_text(encoding="utf-8"))
    else:
        result = measure()
        if keep:
            results.parent.mkdir(parents=True, exist_ok=True)
            results.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    block = markdown(result)
    sys.stdout.write(block)
    if readme_markers is not None:
        replace_block(block, *readme_markers)


# --- command line -------------------------------------------------------------------------------


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--sizes", type=_sizes, help="record counts of the usage-only OpenAI file")
    parser.add_argument(
        "--anthropic-sizes", type=_sizes, help="record counts of the Anthropic batch file"
    )
    parser.add_argument("--text-sizes", type=_sizes, help="record counts of the tokenized file")
    parser.add_argument(
        "--distinct-sizes", type=_sizes, help="record counts of the distinct-prompt tokenized file"
    )
    parser.add_argument(
        "--scale-records", type=_sizes, help="usage-only record counts of the memory-at-scale check"
    )
    parser.add_argument("--no-dask", action="store_true", help="skip the --engine dask run")
    parser.add_argument("--rss-records", type=int, help="records of the peak-RSS check")
    parser.add_argument("--sim-requests", type=int, help="synthetic requests for simulate")
    parser.add_argument("--repeats", type=int, help="runs per command (median reported)")
    parser.add_argument("--no-peer", action="store_true", help="skip the LiteLLM peer loop")
    parser.add_argument(
        "--serving-month",
        action="store_true",
        help="also replay a month at 10^6 requests/day through the serving simulation (minutes)",
    )
    parser.add_argument(
        "--serving-only",
        action="store_true",
        help="run only the serving replay benchmark (results/serving.json, its own README block)",
    )
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"results JSON (default {DEFAULT_RESULTS}; --quick: {QUICK_RESULTS})",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the results block of --out (no run)"
    )
    parser.add_argument(
        "--write-readme", action="store_true", help="replace the results block of --readme"
    )
    parser.add_argument("--readme", type=Path, default=README, help=f"default {README}")
    args = parser.parse_args(argv)
    out: Path = args.out or (QUICK_RESULTS if args.quick else DEFAULT_RESULTS)

    if args.serving_only:
        return _serving_only(args)
    if args.markdown:
        results = json.loads(out.read_text(encoding="utf-8"))
    else:
        plan = Plan.smoke() if args.quick else Plan.full()
        overrides = {
            "sizes": args.sizes,
            "anthropic_sizes": args.anthropic_sizes,
            "text_sizes": args.text_sizes,
            "distinct_sizes": args.distinct_sizes,
            "scale_records": args.scale_records,
            "rss_records": args.rss_records,
            "sim_requests": args.sim_requests,
            "repeats": args.repeats,
        }
        plan = dataclasses.replace(plan, **{k: v for k, v in overrides.items() if v})
        if args.no_peer:
            plan = dataclasses.replace(plan, peer=False)
        if args.no_dask:
            plan = dataclasses.replace(plan, dask=False)
        if args.serving_month:
            plan = dataclasses.replace(plan, serving_month=True)
        results = run(plan, args.data_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        log(f"results written to {out}")
    block = markdown(results)
    sys.stdout.write(block)
    if args.write_readme:
        if results["quick"] and args.readme == README:
            raise SystemExit("refusing to put --quick results in bench/README.md")
        write_readme(block, args.readme)
        log(f"results block of {args.readme} replaced")
    return 0


SERVING_RESULTS = BENCH / "results" / "serving.json"
SERVING_BEGIN, SERVING_END = "<!-- BEGIN serving results -->", "<!-- END serving results -->"


def _serving_only(args: argparse.Namespace) -> int:
    """The serving replay alone: its own results file and README block (the full run keeps its own)."""
    out: Path = args.out or SERVING_RESULTS
    if args.markdown:
        results = json.loads(out.read_text(encoding="utf-8"))
    else:
        started = time.perf_counter()
        results = {
            "schema": SCHEMA,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": args.quick,
            "machine": machine(),
            "load": {"start": list(os.getloadavg())},
        }
        results["serving"] = serving.serving_case(args.quick, args.serving_month)
        results["load"]["end"] = list(os.getloadavg())
        results["elapsed_s"] = time.perf_counter() - started
        rows: list[dict[str, Any]] = []

        def check(name: str, value: float, limit: float, shown: str) -> None:
            rows.append(
                {
                    "target": name,
                    "measured": value,
                    "limit": limit,
                    "shown": shown,
                    "pass": value <= limit,
                }
            )

        serving.targets(results["serving"], check)
        results["targets"] = rows
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        log(f"results written to {out}")
    m = results["machine"]
    lines = [
        f"Run of {results['date']} on {m['cpu']} ({m['cores_usable']} usable cores), Python "
        f"{m['python']}, costaudit at {m['git_commit']}; load average {_load(results)}.",
        "",
        "| target | measured | limit | result |",
        "|---|---:|---:|:---:|",
        *(
            f"| {row['target']} | {_measured(row)} | {row['shown']} | {'PASS' if row['pass'] else '**FAIL**'} |"
            for row in results["targets"]
        ),
        "",
        serving.markdown(results["serving"]),
    ]
    block = "\n".join(lines) + "\n"
    sys.stdout.write(block)
    if args.write_readme:
        if results["quick"]:
            raise SystemExit("refusing to put --quick results in bench/README.md")
        text = args.readme.read_text(encoding="utf-8")
        head, rest = text.split(SERVING_BEGIN, 1)
        _, tail = rest.split(SERVING_END, 1)
        args.readme.write_text(
            f"{head}{SERVING_BEGIN}\n{block}{SERVING_END}{tail}", encoding="utf-8"
        )
        log(f"serving block of {args.readme} replaced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
