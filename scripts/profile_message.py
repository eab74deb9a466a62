"""CPU per patient message, by stage, of the Rasa server and the action server.

Starts both servers the way ``make run`` does (``bot.serving.launcher``: the same commands,
environment, endpoints file with the SQLite tracker store, warm-up), but on free ports
with a state folder of its own, so it runs beside a ``make run`` and never touches
``var/`` or ``models/``. Then it sends real patient text over REST, one new conversation
per message (``--turns`` for longer ones), records both servers with py-spy and prints:

- the CPU each server spent per message (``/proc``, every thread, exact), split by
  thread (the Python threads py-spy sees, TensorFlow's and ONNX's own pools it does not);
- ms of CPU per message by stage: channel and Sanic, each NLU component, each policy,
  tracker store reads and writes, the call to the action server; on the action server
  query analysis, document frequencies, FTS5, embedding, vectors, candidate signals,
  match model, composition. A stage's time is its py-spy samples (``--rate`` a second,
  Python threads only) divided by the messages;
- with ``--rss N``, the resident memory of both servers after N more conversations.

Usage (py-spy is in the dev extras; ``pip install py-spy`` otherwise)::

    .venv/bin/python scripts/profile_message.py --messages 300 \
        --queries tests/eval/neuro_lay_queries.jsonl [--model /tmp/x.tar.gz] [--rss 1000]

Queries: JSON lines with ``q``, ``Question`` or ``text``; plain text lines otherwise.
The raw py-spy stacks (collapsed, one stack a line) stay in ``--out`` (default
``/tmp/neurobot-profile``); for a flame graph, record a server yourself with
``py-spy record --pid PID --format speedscope`` and open it in speedscope.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Stage of a stack: the outermost frame that names a component (so RulePolicy's calls
# into MemoizationPolicy's code stay RulePolicy's), else the innermost "envelope" frame.
RASA_COMPONENTS = [
    ("NLU WhitespaceTokenizer", r"rasa/nlu/tokenizers/"),
    ("NLU RegexFeaturizer", r"regex_featurizer\.py"),
    ("NLU LexicalSyntacticFeaturizer", r"lexical_syntactic_featurizer\.py"),
    ("NLU CountVectorsFeaturizer (x2)", r"count_vectors_featurizer\.py"),
    ("NLU DIETClassifier", r"diet_classifier\.py"),
    ("NLU RegexEntityExtractor", r"regex_entity_extractor\.py"),
    ("NLU EntitySynonymMapper", r"entity_synonyms\.py"),
    ("NLU FallbackClassifier", r"fallback_classifier\.py"),
    ("NLU HealthQuestionRouter", r"addons/routing\.py"),
    ("policy SafetyPolicy", r"addons/policies\.py"),
    ("policy RulePolicy", r"rule_policy\.py"),
    ("policy MemoizationPolicy", r"core/policies/memoization\.py"),
    ("policy TEDPolicy", r"ted_policy\.py"),
    ("policy ensemble (choosing)", r"core/policies/ensemble\.py"),
    ("tracker store read/write", r"core/tracker_store\.py|addons/stores\.py"),
    ("lock store", r"core/lock_store\.py"),
    ("call to the action server (HTTP, events)", r"rasa/utils/endpoints\.py|REMOTE_ACTION"),
    ("NLG (templates, responses)", r"rasa/core/nlg/|addons/responses\.py"),
]
RASA_ENVELOPE = [
    ("event loop, asyncio", r"asyncio/|uvloop"),
    (
        "channel and Sanic (HTTP)",
        r"sanic|rasa/core/channels/|addons/channels\.py|bot/guard/inbound\.py",
    ),
    ("rate limit", r"bot/guard/ratelimit\.py|limits/"),
    ("processor (other)", r"rasa/core/processor\.py|rasa/core/agent\.py"),
    ("graph runner (dask)", r"rasa/engine/|dask/"),
    ("NLU other (message conversion)", r"rasa/nlu/|rasa/graph_components/"),
    ("actions run by the Rasa server", r"rasa/core/actions/"),
]
ACTION_COMPONENTS = [
    (
        "document frequencies (SQLite)",
        r"_doc_freq \(bot/search/index\.py|_total \(bot/search/index\.py",
    ),
    ("query analysis (concepts, traits)", r"\banalyze \(bot/search/query\.py|content_stems"),
    (
        "embedding the message (ONNX)",
        r"encode_query \(bot/search/embedding|encode \(bot/search/embedding",
    ),
    ("nearest vectors", r"_neighbours \(bot/search/index|bot/search/vectors\.py"),
    ("cosines of FTS candidates", r"_cosines \(bot/search/index"),
    ("match model", r"bot/search/match\.py"),
    ("records read (SQLite)", r"_records \(bot/search/index"),
    ("composition", r"bot/search/compose\.py|addons/cards\.py"),
    ("safety", r"bot/safety/"),
    ("redaction", r"bot/review/redact\.py"),
]
ACTION_ENVELOPE = [
    ("event loop, asyncio", r"asyncio/|uvloop|concurrent/futures|threading\.py"),
    ("Sanic, rasa_sdk (HTTP, JSON)", r"sanic|rasa_sdk/"),
    ("actions/ glue", r"actions/"),
    ("search (other)", r"bot/search/query\.py|bot/search/index\.py"),
]
CANDIDATES_FRAME = re.compile(r"^candidates \(bot/search/index\.py:(\d+)\)$")


def candidates_ranges() -> list[tuple[str, int, int]]:
    """Line ranges of ``ArchiveIndex.candidates`` (bot/search/index.py), found by their code,
    so that its own lines (not calls) are told apart: query analysis, the FTS5
    statement, the records' texts, the signals loop."""
    lines = (ROOT / "bot" / "search" / "index.py").read_text(encoding="utf-8").splitlines()

    def find(text: str, after: int = 0) -> int:
        for number, line in enumerate(lines[after:], start=after + 1):
            if text in line:
                return number
        return after

    top = find("    def candidates(")
    fts = find("rows = (", top)
    dense = find("use_dense =", fts)
    texts = find("texts = self.db.execute", dense)
    loop = find("found: list[Candidate]", texts)
    end = find("    def _neighbours(", loop)
    return [
        ("query analysis (concepts, traits)", top, fts - 1),
        ("FTS5 query (SQLite)", fts, dense - 1),
        ("records' texts read (SQLite)", texts, loop - 1),
        ("candidate signals (coverage, traits, conflicts)", loop, end),
    ]


def remote_action_lines() -> tuple[int, int]:
    """Lines of Rasa's ``RemoteAction`` class (rasa/core/actions/action.py)."""
    import rasa.core.actions.action as module

    lines = Path(module.__file__).read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("class RemoteAction("))
    last = next(
        (i for i, line in enumerate(lines[first:], first + 1) if line.startswith("class ")),
        len(lines),
    )
    return first, last - 1


ACTION_FRAME = re.compile(r"\(rasa/core/actions/action\.py:(\d+)\)$")
#: Leaves of threads that wait (an idle thread pool, uvloop's epoll, a queue): py-spy
#: cannot tell that they are idle in C code; they are not counted.
IDLE = re.compile(
    r"^(_worker \(concurrent/futures/thread\.py|serve \(sanic/server/runners\.py|"
    r"select \(selectors\.py|wait \(threading\.py|_bootstrap|_set_tstate_lock|"
    r"run_forever|run_until_complete \(uvloop)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_queries(paths: list[Path]) -> list[str]:
    texts: list[str] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("{"):
                row = json.loads(line)
                text = row.get("q") or row.get("Question") or row.get("text")
                if text:
                    texts.append(str(text))
            else:
                texts.append(line)
    return texts


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of every thread of a process, summed by thread name."""
    out: dict[str, float] = collections.Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        name = re.sub(r"[-_ ]?\d+$", "", name) or "?"
        out[name] += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def classify(
    frames: list[str], components: list, envelope: list, ranges: list[tuple[str, int, int]] = ()
) -> str:
    for depth, frame in enumerate(frames):  # outermost first
        m = CANDIDATES_FRAME.search(frame) if ranges else None
        if m:
            line = int(m.group(1))
            deeper = classify(frames[depth + 1 :], components, [], ())
            for stage, first, last in ranges:
                if first <= line <= last:
                    if stage.startswith("query") and deeper != "other":
                        return deeper  # document frequencies
                    return stage
            continue
        for stage, pattern in components:
            if re.search(pattern, frame):
                return stage
    for frame in reversed(frames):  # innermost first
        for stage, pattern in envelope:
            if re.search(pattern, frame):
                return stage
    return "other"


def stages(
    raw: Path,
    components: list,
    envelope: list,
    ranges: list = (),
    remote: tuple[int, int] | None = None,
) -> collections.Counter:
    """py-spy samples by stage, idle threads left out."""
    counts: collections.Counter = collections.Counter()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if IDLE.search(frames[-1]):
            continue
        if remote:
            frames = [
                f"REMOTE_ACTION {f}"
                if (m := ACTION_FRAME.search(f)) and remote[0] <= int(m.group(1)) <= remote[1]
                else f
                for f in frames
            ]
        if any("_validate_action_result (rasa/" in f for f in frames):
            stage = "reply of the action server validated (jsonschema)"
        elif frames[-1].startswith("do_commit (sqlalchemy"):
            stage = "tracker store: SQLite commit (disk sync)"
        else:
            stage = classify(frames, components, envelope, ranges)
        counts[stage] += int(count)
    return counts


def post(url: str, body: dict, token: str, timeout: float = 60.0) -> list:
    import urllib.request

    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"[]")


def table(title: str, counts: collections.Counter, rate: int, messages: int, cpu_ms: float) -> str:
    """Stages' shares of the active samples, applied to the process's measured CPU.

    py-spy samples by the clock: on a loaded machine a runnable thread waiting for a core
    is sampled too, so the samples add up to more than the CPU; their shares are what
    counts (I/O waits such as SQLite's commit are counted like work)."""
    total = sum(counts.values()) or 1
    rows = [
        f"\n{title}: {cpu_ms:.1f} ms CPU per message (/proc, every thread); "
        f"{total} active py-spy samples ({1000 * total / rate / messages:.0f} ms "
        "of samples a message: waits for a core included)",
        "| stage | ms CPU / message | share of active samples |",
        "|---|---|---|",
    ]
    for stage, n in counts.most_common():
        rows.append(f"| {stage} | {cpu_ms * n / total:.1f} | {100 * n / total:.1f}% |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "neurobot.tar.gz")
    parser.add_argument(
        "--queries",
        type=Path,
        nargs="+",
        default=[ROOT / "tests" / "eval" / "neuro_lay_queries.jsonl"],
    )
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--turns", type=int, default=1, help="messages per conversation")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples a second")
    parser.add_argument("--no-profile", action="store_true", help="CPU and RSS only")
    parser.add_argument(
        "--rss", type=int, default=0, help="then this many more conversations, printing RSS"
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/neurobot-profile"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="neurobot-profile-"))
    os.environ.update(
        {
            "NEUROBOT_STATE_DIR": str(state),
            "NEUROBOT_RASA_PORT": str(free_port()),
            "NEUROBOT_ACTIONS_PORT": str(free_port()),
            "NEUROBOT_LOG_LEVEL": os.environ.get("NEUROBOT_LOG_LEVEL", "WARNING"),
        }
    )
    from bot.secrets import rest_token
    from bot.serving import launcher
    from bot.settings import load_settings

    settings = load_settings()
    env = launcher.server_env(settings)
    endpoints = launcher.prepare_conversations(settings)
    with open(args.out / "servers.log", "wb") as log:
        actions = subprocess.Popen(
            launcher.action_server_command(settings), env=env, cwd=ROOT, stdout=log, stderr=log
        )
        rasa = None
        spies: list[subprocess.Popen] = []
        try:
            launcher.wait_until_up(
                f"http://{settings.local_host}:{settings.actions_port}/health", actions, 120
            )
            rasa = subprocess.Popen(
                launcher.rasa_server_command(
                    settings,
                    model=args.model.resolve(),
                    credentials=ROOT / "credentials.yml",
                    endpoints=endpoints,
                ),
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=log,
            )
            base = f"http://{settings.local_host}:{settings.rasa_port}"
            launcher.wait_until_up(f"{base}/webhooks/rest/", rasa, 300)
            took = launcher.warm_up(base, processes=[actions, rasa])
            print(f"warm-up answered after {took:.1f} s; model {args.model}", flush=True)
            url = f"{base}/webhooks/rest/webhook"
            token = rest_token(settings)
            texts = read_queries(args.queries)
            for i in range(10):  # the first messages still load lazy parts
                post(url, {"sender": f"warm-{i}", "message": texts[i % len(texts)]}, token)
            pids = {"rasa": rasa.pid, "actions": actions.pid}
            if not args.no_profile:
                for name, pid in pids.items():
                    spies.append(
                        subprocess.Popen(
                            [
                                str(Path(sys.executable).with_name("py-spy")),
                                "record",
                                "--pid",
                                str(pid),
                                "--rate",
                                str(args.rate),
                                "--format",
                                "raw",
                                "--output",
                                str(args.out / f"{name}.txt"),
                            ],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )
                    )
                time.sleep(2.0)
            before = {name: thread_cpu(pid) for name, pid in pids.items()}
            latencies = []
            start = time.monotonic()
            run = uuid.uuid4().hex[:6]
            for i in range(args.messages):
                sender = f"profile-{run}-{i // args.turns}"
                t0 = time.monotonic()
                post(url, {"sender": sender, "message": texts[i % len(texts)]}, token)
                latencies.append(time.monotonic() - t0)
            wall = time.monotonic() - start
            after = {name: thread_cpu(pid) for name, pid in pids.items()}
            for spy in spies:
                spy.send_signal(signal.SIGINT)
            for spy in spies:
                spy.wait(timeout=60)
            latencies.sort()
            n = args.messages
            print(
                f"\n{n} messages ({args.turns} per conversation) in {wall:.1f} s; latency "
                f"median {1000 * latencies[n // 2]:.0f} ms, p95 "
                f"{1000 * latencies[int(n * 0.95)]:.0f} ms"
            )
            cpu_ms = {}
            for name in pids:
                delta = {k: after[name][k] - before[name].get(k, 0.0) for k in after[name]}
                cpu_ms[name] = 1000 * sum(delta.values()) / n
                threads = ", ".join(
                    f"{k} {1000 * v / n:.1f}"
                    for k, v in sorted(delta.items(), key=lambda kv: -kv[1])
                    if v > 0
                )
                print(
                    f"{name}: {cpu_ms[name]:.1f} ms CPU per message; by thread name: {threads}; "
                    f"RSS {rss_mib(pids[name]):.0f} MiB"
                )
            if not args.no_profile:
                rasa_stages = stages(
                    args.out / "rasa.txt",
                    RASA_COMPONENTS,
                    RASA_ENVELOPE,
                    remote=remote_action_lines(),
                )
                action_stages = stages(
                    args.out / "actions.txt",
                    ACTION_COMPONENTS,
                    ACTION_ENVELOPE,
                    candidates_ranges(),
                )
                report = (
                    table("Rasa server", rasa_stages, args.rate, n, cpu_ms["rasa"])
                    + "\n"
                    + table("Action server", action_stages, args.rate, n, cpu_ms["actions"])
                )
                print(report)
                (args.out / "stages.md").write_text(report + "\n")
            if args.rss:
                print(
                    f"\nRSS after more conversations ({args.turns} message(s) each, new senders):"
                )
                print(
                    f"  0 conversations: Rasa server {rss_mib(rasa.pid):.0f} MiB, "
                    f"action server {rss_mib(actions.pid):.0f} MiB",
                    flush=True,
                )
                for i in range(args.rss):
                    sender = f"rss-{run}-{i}"
                    for turn in range(args.turns):
                        text = texts[(args.turns * i + turn) % len(texts)]
                        post(url, {"sender": sender, "message": text}, token)
                    if (i + 1) % max(1, args.rss // 5) == 0:
                        print(
                            f"  {i + 1} conversations: Rasa server {rss_mib(rasa.pid):.0f} MiB, "
                            f"action server {rss_mib(actions.pid):.0f} MiB",
                            flush=True,
                        )
        finally:
            for spy in spies:
                if spy.poll() is None:
                    spy.kill()
            launcher.stop([p for p in (rasa, actions) if p is not None])
    return 0


if __name__ == "__main__":
    sys.exit(main())
