#!/usr/bin/env python3
"""Group a `perf record --call-graph dwarf` profile of a wristband function by subsystem.

Input: the output of
  perf script -i perf.data --inline --full-source-path \
      -F comm,tid,time,period,ip,sym,symoff,dso,srcline
(inlined frames and their source files matter: with fat LTO much of the code is inlined,
e.g. the handler into lambda_runtime's RuntimeApiResponseFuture::poll and the SDK's
orchestrator into tracing's Instrumented::poll, so symbol names alone mislead).

Prints markdown:
  1. self time by crate: the crate of the innermost non-std source location of the
     sampled instruction (kernel, malloc/free and other libc kept apart);
  2. self time by subsystem: crates grouped; helper crates (sha2, hmac, http, bytes, std,
     base64, itoa, ...) are charged to the nearest caller that is not a helper, so sha2
     under SigV4 counts as SigV4 and sha2 under jsonwebtoken as JWT; a second column also
     folds kernel and malloc/free into their callers;
  3. an exclusive split by phase of the invocation: the innermost frame that matches a
     phase marker decides (SigV4 inside the orchestrator inside the revocation check
     counts as SigV4); hyper's connection tasks are told apart by their body type;
  4. inclusive time of key frames (a sample counts once if any frame matches);
  5. the top symbols by self time (like perf report --no-children --sort dso,symbol).
Usage: aggregate.py PERF_SCRIPT_TXT [--top 25]
"""
import argparse
import collections
import re
import sys

STD = {"core", "alloc", "std", "panic_unwind", "proc_macro"}
WRISTBAND_DIRS = {"core": "wristband_core", "http": "wristband_http",
                  "dynamodb": "wristband_dynamodb", "keys": "wristband_keys",
                  "shared/services": "wristband_services", "functions/protected": "protected"}
MALLOC = re.compile(r"^(_int_malloc|malloc|_int_free|cfree|free|realloc|_int_realloc|calloc|"
                    r"malloc_consolidate|unlink_chunk|tcache_\w+|__libc_(malloc|free|realloc|calloc)|"
                    r"_int_free_\w+|__default_morecore|sysmalloc|alloc_perturb|munmap_chunk)")

SUBSYSTEMS = [
    ("SigV4 signing (aws_sigv4)", {"aws_sigv4"}),
    ("SDK orchestration (smithy runtime, interceptors, retry, endpoint, identity, config bag)",
     {"aws_smithy_runtime", "aws_smithy_runtime_api", "aws_runtime", "aws_types",
      "aws_credential_types", "aws_smithy_async", "aws_smithy_types", "aws_smithy_http",
      "aws_config", "aws_smithy_observability", "aws_smithy_schema"}),
    ("DynamoDB operation + its JSON (aws_sdk_dynamodb, aws_smithy_json)",
     {"aws_sdk_dynamodb", "aws_smithy_json"}),
    ("HTTP client (hyper, hyper_util, SDK connector, url)",
     {"hyper", "hyper_util", "http_body", "http_body_util", "httparse", "want", "try_lock",
      "tower", "tower_service", "tower_layer", "aws_smithy_http_client", "h2", "url", "idna",
      "httpdate"}),
    ("tokio (+ futures combinators)",
     {"tokio", "mio", "futures_util", "futures_core", "futures_channel", "futures_task",
      "slab", "async_stream", "tokio_stream", "atomic_waker"}),
    ("JSON: serde_json/serde + Lambda event types",
     {"serde_json", "serde", "serde_core", "aws_lambda_events", "serde_path_to_error",
      "http_serde", "query_map", "serde_urlencoded"}),
    ("JWT (jsonwebtoken, wristband_keys)", {"jsonwebtoken", "wristband_keys", "signature"}),
    ("logging/tracing", {"tracing", "tracing_core", "tracing_subscriber", "sharded_slab",
                         "thread_local", "nu_ansi_term", "tracing_log"}),
    ("lambda_runtime / lambda_http", {"lambda_runtime", "lambda_runtime_api_client",
                                      "lambda_http"}),
    ("wristband (guard, handler, revocation keys)",
     {"wristband_core", "wristband_http", "wristband_dynamodb", "protected", "wristband_shared"}),
]
HELPERS = {"sha2", "hmac", "digest", "block_buffer", "crypto_common", "cpufeatures", "subtle",
           "hex", "base64", "http", "bytes", "itoa", "ryu", "memchr", "percent_encoding",
           "form_urlencoded", "fnv", "hashbrown", "smallvec", "once_cell", "pin_project_lite",
           "pin_project", "ring", "zeroize", "generic_array", "typenum", "libc", "time",
           "fastrand", "uuid", "getrandom", "rand", "indexmap", "equivalent", "foldhash", "hybrid_array",
           "std", "libc-other", "unknown", "percent_encoding"}
CRATE_TO_SUB = {c: name for name, crates in SUBSYSTEMS for c in crates}

PHASES = [
    ("SDK: SigV4 signing", r"aws-sigv4-|aws_sigv4::|SigV4Signer|aws-runtime-[^/]+/src/auth"),
    ("SDK: endpoint resolution",
     r"resolve_endpoint|orchestrator/endpoints\.rs|apply_endpoint|EndpointParams|"
     r"aws-sdk-dynamodb-[^/]+/src/config/endpoint|aws-smithy-types-[^/]+/src/endpoint"),
    ("SDK: identity/credentials cache", r"client/identity|resolve_cached_identity|aws-credential-types"),
    ("SDK: retry strategy/classifiers", r"client/retries|retries::"),
    ("SDK: request serialization (BatchGetItem input -> JSON)",
     r"ser_batch_get_item|BatchGetItemRequestSerializer|shape_batch_get_item_input|"
     r"aws-smithy-json-[^/]+/src/serialize"),
    ("SDK: response deserialization (JSON -> BatchGetItemOutput)",
     r"de_batch_get_item|BatchGetItemResponseDeserializer|shape_batch_get_item\.rs|"
     r"aws-smithy-json-[^/]+/src/deserialize|protocol_serde/shape_|deserialize_nonstreaming"),
    ("SDK: HTTP connector call (request side, hyper_util pool)",
     r"aws-smithy-http-client|HttpConnector>::call|/work/main/shared/dynamodb/src/https\.rs"),
    ("SDK: interceptors (user agent, recursion detection, invocation id, ...)",
     r"interceptors|Interceptor|user_agent|recursion_detection|invocation_id"),
    ("SDK: orchestrator, config bag, runtime plugins (rest)",
     r"aws-smithy-runtime|aws_smithy_runtime|aws-sdk-dynamodb|aws_sdk_dynamodb|aws-runtime-|"
     r"aws_runtime::|aws-smithy-types|aws_smithy_types|aws-types-|aws-smithy-async"),
    ("wristband: revocation check (keys, items)", r"is_revoked|/work/main/shared/dynamodb/src/store\.rs"),
    ("JWT verification (decode header, HMAC-SHA256, claims JSON, checks)",
     r"jsonwebtoken|/work/main/keys/src|TokenVerifier|check_text"),
    ("handler: reply body (json!, Value -> string)",
     r"/work/main/functions/protected/src/lib\.rs|/work/main/shared/http/src/response\.rs|json_response"),
    ("wristband: guard, request parsing, routing, audit, CORS (rest)",
     r"/work/main/(core|http|dynamodb|functions)/"),
    ("runtime: response serialization (ApiGatewayV2httpResponse -> JSON)",
     r"Serialize for aws_lambda_events|serialize_headers|serialize_multi_value|"
     r"ApiGatewayV2httpResponse as serde|EventCompletionRequest|IntoFunctionResponse|"
     r"FunctionResponse|api_response\.rs"),
    ("runtime: event deserialization (API GW v2 JSON -> LambdaRequest)",
     r"Deserialize for aws_lambda_events|deserialize_headers|LambdaRequest|"
     r"aws_lambda_events-[^/]+/src/custom_serde|lambda_http-[^/]+/src/deserializer"),
    ("runtime: lambda_http request conversion", r"lambda_http-|lambda_http::"),
    ("runtime: Runtime API client (next / response HTTP requests)",
     r"lambda_runtime_api_client-|lambda_runtime_api_client|NextEventRequest"),
    ("runtime: rest (run loop, Context, layers, _X_AMZN_TRACE_ID set_var)",
     r"lambda_runtime-|lambda_runtime::"),
]
PHASES = [(name, re.compile(rx)) for name, rx in PHASES]
CONN_RUNTIME = "hyper connection task: Runtime API"
CONN_DDB = "hyper connection task: DynamoDB"
IDLE = "tokio: scheduler, IO driver (epoll), timers"

KEY_FRAMES = [
    ("whole invocation loop (lambda_runtime run_with_incoming)", r"run_with_incoming|lambda_runtime-[^/]+/src/"),
    ("handler future (inside lambda_runtime's CatchPanicFuture: routing, guard, reply)", r"lambda_runtime-[^/]+/src/layers/panic\.rs|CatchPanicFuture"),
    ("Authenticator::authenticate (JWT verify + revocation check)", r"Authenticator::authenticate|/work/main/shared/core/src/authenticator\.rs"),
    ("JWT verify (TokenVerifier::verify / keyring decode)", r"jsonwebtoken|/work/main/keys/src/keyring\.rs|TokenVerifier"),
    ("revocation check is_revoked (SDK batch_get_item send, main task)", r"is_revoked"),
    ("SDK orchestrator (aws_smithy_runtime::client::orchestrator)", r"orchestrator"),
    ("SigV4 (aws_sigv4 / SigV4Signer)", r"aws-sigv4-|aws_sigv4::|SigV4Signer"),
    ("SDK BatchGetItem request serialization", r"BatchGetItemRequestSerializer|ser_batch_get_item"),
    ("SDK BatchGetItem response deserialization", r"BatchGetItemResponseDeserializer|de_batch_get_item"),
    ("lambda_runtime_api_client (next + response requests, main task)", r"lambda_runtime_api_client|lambda_runtime_api_client-"),
    ("event JSON -> LambdaRequest (aws_lambda_events Deserialize)", r"Deserialize for aws_lambda_events|LambdaRequest|deserialize_headers"),
    ("tracing-core / tracing-subscriber code (any frame: spans, events, dispatch)", r"/tracing-core-|/tracing-subscriber-|tracing_core::|tracing_subscriber::"),
    ("tracing spans (tracing::Span new/enter/exit/drop, any frame)", r"/tracing-0[^/]*/src/span\.rs|tracing::span::"),
    ("std::env::set_var (lambda_runtime: _X_AMZN_TRACE_ID)", r"setenv|set_var|add_to_environ"),
    ("hyper (any frame)", r"/hyper-1|/hyper-util-|hyper::|hyper_util::"),
    ("tokio IO driver turn (epoll)", r"io::driver::Driver::turn|io/driver\.rs"),
]
KEY_FRAMES = [(n, re.compile(rx)) for n, rx in KEY_FRAMES]

FRAME = re.compile(r"^\t\s*([0-9a-f]+) (.*?)(?:\+0x([0-9a-f]+))?(?: \((.*)\))?$")
SRC = re.compile(r"^  (\S.*?)(?::\d+)?( \(inlined\))?$")


def crate_of_file(path):
    if not path or path.startswith("??"):
        return None
    m = re.search(r"/library/([a-z_]+)/src/", path)
    if m:
        return "std" if m.group(1) in STD else m.group(1)
    m = re.search(r"/registry/src/[^/]+/([A-Za-z0-9_\-]+?)-\d+\.\d+\.\d+[^/]*/", path)
    if m:
        return m.group(1).replace("-", "_")
    m = re.search(r"/git/checkouts/([A-Za-z0-9_\-]+?)-[0-9a-f]{6,}/", path)
    if m:
        return m.group(1).replace("-", "_")
    m = re.search(r"/work/main/(functions/[^/]+|[^/]+)/", path)
    if m:
        return WRISTBAND_DIRS.get(m.group(1), "wristband_" + m.group(1).replace("/", "_"))
    return None


def crate_of_symbol(sym):
    s = sym
    m = re.match(r"core::ptr::drop_in_place<(.*)>$", s)
    if m:
        s = m.group(1)
    s = re.sub(r"^[<&\s(\[*]+|^(mut|dyn|const) ", "", s)
    s = re.sub(r"^(mut|dyn|const) ", "", s)
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", s)
    if not m:
        return None
    c = m.group(1)
    return "std" if c in STD else c


_GENERIC = re.compile(r"<([^<>]*)>")


def strip_generics(sym):
    kept = []

    def repl(m):
        inner = m.group(1)
        if " as " in inner or inner.startswith("impl "):
            kept.append(m.group(0))
            return f"\x00{len(kept) - 1}\x01"
        return ""

    prev = None
    while prev != sym:
        prev, sym = sym, _GENERIC.sub(repl, sym)
    while "\x00" in sym:
        sym = re.sub(r"\x00(\d+)\x01", lambda m: strip_generics_inner(kept[int(m.group(1))]), sym)
    return sym


def strip_generics_inner(group):
    return group


class Frame:
    """One logical frame: a callchain address gives one, or several when perf resolves
    inlined functions (innermost first; the last of a group is the real function)."""
    __slots__ = ("addr", "sym", "dso", "inlined", "file", "start", "group")

    def __init__(self, addr, sym, off, dso, group, inlined):
        self.addr = int(addr, 16)
        self.sym = sym
        self.dso = dso
        self.inlined = inlined
        self.group = group
        self.file = None
        self.start = self.addr - int(off, 16) if off else self.addr

    def crate(self):
        if self.dso and "kernel" in self.dso:
            return "kernel"
        if self.dso and "libc.so" in self.dso:
            return "malloc/free" if MALLOC.match(self.sym) else "libc-other"
        if self.sym == "[unknown]":
            return "unknown"
        return crate_of_file(self.file) or (None if self.inlined else crate_of_symbol(self.sym))

    def name(self):
        """The symbol without generic arguments (inlined names carry concrete type
        parameters that would match any pattern); `<A as B>` and `<impl X for Y>` stay."""
        return strip_generics(self.sym)

    def text(self):
        return f"{self.name()} {self.file or ''}"


def _fix_group(group):
    """Lines of one callchain address: the dso is printed on at most one of them."""
    dso = next((f.dso for f in group if f.dso), None)
    if dso is None:
        files = [f.file or "" for f in group]
        if any(x.startswith("./") for x in files):
            dso = "/usr/lib/x86_64-linux-gnu/libc.so.6"
        else:
            dso = "protected"
    for f in group:
        f.dso = dso
    return group


def _is_root(group):
    return any(f.sym == "protected::main" or f.name().endswith("__rust_begin_short_backtrace")
               or (f.sym == "main" and "/src/main.rs" in (f.file or ""))
               for f in group)


def parse(path):
    """Yields (period, [Frame], header) per sample, frames leaf first, without the
    process's root frames (main and what is inlined into it: the tokio block_on)."""
    period, groups, header = 0, [], ""

    def done():
        frames = []
        for g in groups:
            g = _fix_group(g)
            if _is_root(g):
                break
            frames.extend(g)
        return frames

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if groups:
                    frames = done()
                    if frames:
                        yield period, frames, header
                period, groups, header = 0, [], ""
                continue
            if not line.startswith((" ", "\t")):
                header = line
                parts = line.split()
                period = int(parts[-1]) if parts and parts[-1].isdigit() else 1
                continue
            if line.startswith("\t"):
                m = FRAME.match(line)
                if m:
                    addr = m.group(1)
                    if groups and groups[-1][0].addr == int(addr, 16):
                        groups[-1].append(Frame(addr, m.group(2), m.group(3), m.group(4),
                                                len(groups) - 1, True))
                    else:
                        groups.append([Frame(addr, m.group(2), m.group(3), m.group(4),
                                             len(groups), False)])
                continue
            m = SRC.match(line)
            if m and groups and groups[-1][-1].file is None:
                groups[-1][-1].file = m.group(1)
    if groups:
        frames = done()
        if frames:
            yield period, frames, header


def real_symbol(frames):
    """The leaf function's name as perf report shows it."""
    g = [f for f in frames if f.group == frames[0].group]
    full = next((f for f in g if f.sym and f.dso and not f.inlined), None)
    return (full or g[-1]).sym


def leaf_crate(frames):
    """Crate of the innermost non-std location within the leaf (real) function."""
    first = frames[0]
    c = first.crate()
    if c in ("kernel", "malloc/free", "libc-other", "unknown"):
        return c
    seen_std = False
    for fr in frames:
        if fr.group != first.group:
            break
        c = fr.crate()
        if c == "std":
            seen_std = True
            continue
        if c:
            return c
    return "std" if seen_std else (crate_of_symbol(first.sym) or "unknown")


def owner_subsystem(frames, fold_kernel_malloc):
    """Subsystem of the nearest frame (leaf outwards) whose crate is not a helper."""
    lc = leaf_crate(frames)
    if not fold_kernel_malloc and lc in ("kernel", "malloc/free"):
        return "kernel" if lc == "kernel" else "malloc/free (libc)"
    if lc in CRATE_TO_SUB:
        return CRATE_TO_SUB[lc]
    for fr in frames[1:]:
        c = fr.crate()
        if c in CRATE_TO_SUB:
            return CRATE_TO_SUB[c]
    if lc == "kernel":
        return "kernel (no user caller)"
    return "other (std/unknown without a known caller)"


def conn_label(frames, task_labels):
    """For samples in a spawned tokio task: which hyper connection, by body type."""
    for i, fr in enumerate(frames):
        if "tokio::runtime::task::raw::poll" in fr.sym or "task/raw.rs" in (fr.file or ""):
            # the task's future: the nearest real frame leafwards of raw::poll
            fut = next((g for g in reversed(frames[:i]) if g.group != fr.group), None)
            return fut.start if fut else None
    return None


JSON_FILES = re.compile(r"/(serde_json|serde_core|serde|aws_lambda_events|serde_path_to_error|"
                        r"http-serde|query_map)-[^/]+/")
RUNTIME_PHASES = ("runtime: rest (run loop, Context, layers, _X_AMZN_TRACE_ID set_var)",
                  "runtime: lambda_http request conversion",
                  "runtime: Runtime API client (next / response HTTP requests)")
EVENT_DE = "runtime: event deserialization (API GW v2 JSON -> LambdaRequest)"
RESPONSE_SER = "runtime: response serialization (ApiGatewayV2httpResponse -> JSON)"


def match_text(frames, i):
    """What a phase marker may match in frame i: the first line of an address with
    inlined functions carries the real function's name but the innermost inlined
    location, so only its file counts; the real name comes again as the last entry."""
    f = frames[i]
    nxt = frames[i + 1] if i + 1 < len(frames) else None
    if not f.inlined and nxt is not None and nxt.group == f.group:
        return f.file or ""
    return f.text()


def classify_phase(frames):
    for i, fr in enumerate(frames):
        t = match_text(frames, i)
        for name, rx in PHASES:
            if rx.search(t):
                if name in RUNTIME_PHASES:
                    inner = frames[:i + 1]
                    json_frames = [g for g in inner if JSON_FILES.search(g.file or "")]
                    if json_frames:
                        de = any(re.search(r"/de(/|\.rs)|deserializ|/read\.rs", g.text())
                                 for g in json_frames)
                        return EVENT_DE if de else RESPONSE_SER
                return name
    if any("tokio" in fr.text() for fr in frames):
        return IDLE
    return "other/unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("script")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--us-per-request", type=float,
                    help="the process's CPU us per request (drive.py): adds a us column")
    args = ap.parse_args()

    samples = list(parse(args.script))
    total = sum(p for p, _, _ in samples)
    n = len(samples)

    # Learn which spawned task future is which hyper connection from the body types
    # mentioned anywhere in its samples' frames.
    evidence = collections.defaultdict(collections.Counter)
    task_of = []
    for _, frames, _ in samples:
        t = conn_label(frames, None)
        task_of.append(t)
        if t is None:
            continue
        text = " ".join(fr.text() for fr in frames)
        if "SdkBody" in text or "aws-smithy" in text or "aws_smithy" in text:
            evidence[t]["ddb"] += 1
        if "lambda_runtime_api_client" in text or "lambda_runtime_api_client-" in text:
            evidence[t]["rt"] += 1
    task_name = {}
    for t, ev in evidence.items():
        if ev["ddb"] > ev["rt"]:
            task_name[t] = CONN_DDB
        elif ev["rt"] > ev["ddb"]:
            task_name[t] = CONN_RUNTIME
    for t in set(task_of):
        if t is not None and t not in task_name:
            task_name[t] = "other spawned task"

    by_crate = collections.Counter()
    by_sub = collections.Counter()
    by_sub_folded = collections.Counter()
    by_phase = collections.Counter()
    phase_kernel = collections.Counter()
    key = collections.Counter()
    top = collections.Counter()
    for (period, frames, _), task in zip(samples, task_of):
        lc = leaf_crate(frames)
        by_crate[lc] += period
        by_sub[owner_subsystem(frames, False)] += period
        by_sub_folded[owner_subsystem(frames, True)] += period
        dso = (frames[0].dso or "").rsplit("/", 1)[-1]
        top[f"{dso} {real_symbol(frames)}"] += period

        if task is not None:
            phase = task_name[task]
        else:
            phase = classify_phase(frames)
        by_phase[phase] += period
        if lc == "kernel":
            phase_kernel[phase] += period
        texts = [fr.text() for fr in frames]
        for name, rx in KEY_FRAMES:
            if any(rx.search(t) for t in texts):
                key[name] += period

    pct = lambda v: 100.0 * v / total if total else 0.0
    us = args.us_per_request
    ucol = lambda v: f" {us * v / total:.0f} |" if us else ""
    uhead = " us/request |" if us else ""
    usep = "---:|" if us else ""
    print(f"{n} samples\n")
    print("### Self time by subsystem\n")
    print("Helper crates (sha2, hmac, base64, http, bytes, itoa, std, ...) are charged to the "
          "nearest caller that is not a helper. The second column also folds kernel and "
          "malloc/free into their callers.\n")
    print(f"| subsystem | self % |{uhead} incl. its kernel + malloc % |{uhead}")
    print(f"|---|---:|{usep}---:|{usep}")
    for name, v in by_sub.most_common():
        f = by_sub_folded.get(name, 0)
        print(f"| {name} | {pct(v):.1f} |{ucol(v)} {pct(f):.1f} |{ucol(f)}")
    for name, v in by_sub_folded.items():
        if name not in by_sub:
            print(f"| {name} | 0.0 |{ucol(0)} {pct(v):.1f} |{ucol(v)}")
    print("\n### Self time by crate (innermost non-std source location)\n")
    print("| crate | self % |")
    print("|---|---:|")
    for name, v in by_crate.most_common():
        if pct(v) >= 0.3:
            print(f"| {name} | {pct(v):.1f} |")
    rest = sum(v for _, v in by_crate.items() if pct(v) < 0.3)
    print(f"| (crates under 0.3 % each) | {pct(rest):.1f} |")
    print("\n### Exclusive split by phase (innermost matching frame decides)\n")
    print(f"| phase | % of samples |{uhead} of which kernel % |")
    print(f"|---|---:|{usep}---:|")
    for name, v in by_phase.most_common():
        print(f"| {name} | {pct(v):.1f} |{ucol(v)} {pct(phase_kernel.get(name, 0)):.1f} |")
    print("\n### Inclusive time of key frames (children included)\n")
    print(f"| frame | inclusive % |{uhead}")
    print(f"|---|---:|{usep}")
    for name, _ in KEY_FRAMES:
        print(f"| {name} | {pct(key.get(name, 0)):.1f} |{ucol(key.get(name, 0))}")
    print(f"\n### Top {args.top} symbols by self time\n")
    print("| self % | dso | symbol |")
    print("|---:|---|---|")
    for name, v in top.most_common(args.top):
        dso, sym = name.split(" ", 1)
        sym = sym if len(sym) < 160 else sym[:157] + "..."
        print(f"| {pct(v):.1f} | {dso} | `{sym}` |")


if __name__ == "__main__":
    sys.exit(main())
