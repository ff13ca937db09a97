#!/usr/bin/env python3
"""docs/performance.md's cost table, on paper, from measured figures (issue 20, item 6).

Inputs: the per-flow counts of scripts/cost-flows.py (function calls, DynamoDB units and
mails, counted by make test from the recording proxy), each function's MemorySize in
template.yaml, and the CPU each function spends per request as `make bench` measured it
(CPU_MS below, with where each figure comes from). The model of a billed Lambda duration:

    CPU ms x max(1, 1769 / MemorySize)     Lambda gives a full vCPU at 1,769 MB, and a
                                           share in proportion below it
  + DynamoDB calls x DDB_RTT_MS            the flow's calls, one after another
  + mails x SES_MS                         SES SendEmail, awaited before the answer
  at least the flow's floor (forgot: 300 ms, the same time for every address)

Prices are AWS's public list prices for us-east-1 (PRICES_DATE): without free tiers.

Usage: cost-table.py COST_FLOWS.json [template.yaml]   (prints Markdown)
"""
import json
import re
import sys

PRICES_DATE = ("AWS list prices for us-east-1 as published in 2025 (DynamoDB on-demand after "
               "its 2024-11-01 reduction, Cognito's tiers of 2024-11-22); not re-read on "
               "2026-12-07, as this machine has no network")
LAMBDA_ARM_GB_S = 0.0000133334  # per GB-second, arm64, first 7.5 billion GB-s a month
LAMBDA_REQUEST = 0.20 / 1e6
HTTP_API_REQUEST = 1.00 / 1e6  # first 300 million a month
DDB_RRU = 0.125 / 1e6
DDB_WRU = 0.625 / 1e6
SES_MAIL = 0.10 / 1000
LOGS_GB = 0.50  # CloudWatch Logs ingestion (standard class)
LOG_BYTES = 1500  # per request: Lambda's START/END/REPORT lines, the audit line, the access log
COGNITO = {  # per MAU a month, user pools
    "Lite": (10_000, 0.0055),
    "Essentials": (10_000, 0.015),  # passkeys and the managed login are Essentials features
    "Plus": (0, 0.02),
}

DDB_RTT_MS = 5.0  # one DynamoDB call in the region, p50 (assumed; not measured here)
SES_MS = 50.0  # one SES SendEmail call (assumed; not measured here)
FLOORS_MS = {"forgot password (a reset mail)": 300.0}
# CPU ms per request of each flow's function on one x86_64 core of the bench VM
# (docs/performance.md, run of 2026-12-07): argon2id m=19 MiB t=2 is 14.7 ms a verify
# (criterion); the verifiers' user+sys CPU per request was 0.12 to 0.30 ms (bench/verifiers.py);
# the other functions sign or check a token and build requests: 0.5 ms assumed. Graviton is
# taken as fast as this core (argon2id has AVX2 here and NEON there: likely slower).
CPU_MS = {
    "register (with an address: a verification mail)": 15.2,
    "verify the address (POST /email/verify)": 0.5,
    "login (password)": 15.2,
    "GET /protected (valid token)": 0.30,
    "authorizer (a service behind API Gateway)": 0.16,
    "refresh (rotation)": 0.5,
    "logout": 0.5,
    "forgot password (a reset mail)": 0.5,
    "reset password (a notice mail)": 15.2,
}
FUNCTION_OF = {
    "register (with an address: a verification mail)": "register",
    "verify the address (POST /email/verify)": "email",
    "login (password)": "login",
    "GET /protected (valid token)": "protected",
    "authorizer (a service behind API Gateway)": "authorizer",
    "refresh (rotation)": "refresh",
    "logout": "logout",
    "forgot password (a reset mail)": "password-reset",
    "reset password (a notice mail)": "password-reset",
}
# One monthly active user: 8 sign-ins, 30 refreshes, 300 calls to the user's own API
# behind the authorizer, 8 logouts; of 100,000 of them, 2,000 new (register and verify)
# and 1,000 resetting a password.
MAU_MONTH = {
    "login (password)": 8,
    "refresh (rotation)": 30,
    "authorizer (a service behind API Gateway)": 300,
    "logout": 8,
    "register (with an address: a verification mail)": 0.02,
    "verify the address (POST /email/verify)": 0.02,
    "forgot password (a reset mail)": 0.01,
    "reset password (a notice mail)": 0.01,
}


def memory_sizes(template: str) -> dict:
    """Binary -> MemorySize (the Globals' unless the function sets its own)."""
    text = open(template, encoding="utf-8").read()
    default = int(re.search(r"^Globals:.*?^    MemorySize: (\d+)", text, re.S | re.M).group(1))
    out = {}
    for block in re.split(r"\n  (?=\w+:\n    Type: AWS::Serverless::Function)", text):
        binary = re.search(r"Binary: ([\w-]+)", block)
        if binary and "AWS::Serverless::Function" in block.split("\n", 2)[1]:
            memory = re.search(r"^      MemorySize: (\d+)", block, re.M)
            out[binary.group(1)] = int(memory.group(1)) if memory else default
    return out


def per_run(flow: str, counts: dict, memory: dict) -> dict:
    mem = memory[FUNCTION_OF[flow]]
    duration = (CPU_MS[flow] * max(1.0, 1769 / mem) + counts["dynamodb_calls"] * DDB_RTT_MS
                + counts["mails"] * SES_MS)
    duration = max(duration, FLOORS_MS.get(flow, 0.0))
    billed = -(-duration // 1)  # Lambda bills by the millisecond, rounded up
    return {
        "memory": mem,
        "ms": billed,
        "lambda": LAMBDA_REQUEST + mem / 1024 * billed / 1000 * LAMBDA_ARM_GB_S,
        # The authorizer is no HTTP API request of its own: the user's route is.
        "api": 0.0 if flow.startswith("authorizer") else HTTP_API_REQUEST,
        "dynamodb": counts["rru"] * DDB_RRU + counts["wru"] * DDB_WRU,
        "ses": counts["mails"] * SES_MAIL,
        "logs": LOG_BYTES / 1e9 * LOGS_GB,
    }


def money(x: float) -> str:
    return f"${x:,.2f}"


def main() -> None:
    flows = json.load(open(sys.argv[1], encoding="utf-8"))
    memory = memory_sizes(sys.argv[2] if len(sys.argv) > 2 else "template.yaml")
    rows = {flow: per_run(flow, counts, memory) for flow, counts in flows.items()}
    print(f"Prices: {PRICES_DATE}.\n")
    print("| per million | MB | billed ms (model) | DynamoDB calls, RRU, WRU | Lambda | HTTP API "
          "| DynamoDB | SES | logs | **total** |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for flow, r in rows.items():
        c = flows[flow]
        total = r["lambda"] + r["api"] + r["dynamodb"] + r["ses"] + r["logs"]
        print(f"| {flow} | {r['memory']} | {r['ms']:.0f} | {c['dynamodb_calls']:.1f}, {c['rru']:.1f}, "
              f"{c['wru']:.1f} | {money(r['lambda'] * 1e6)} | {money(r['api'] * 1e6)} | "
              f"{money(r['dynamodb'] * 1e6)} | {money(r['ses'] * 1e6)} | {money(r['logs'] * 1e6)} | "
              f"**{money(total * 1e6)}** |")
    month = 0.0
    for flow, per_user in MAU_MONTH.items():
        r = rows[flow]
        month += per_user * 100_000 * (r["lambda"] + r["api"] + r["dynamodb"] + r["ses"] + r["logs"])
    # What a user's own routes cost with either: the HTTP API request itself.
    own = 300 * 100_000 * HTTP_API_REQUEST
    print()
    print("| 100,000 monthly active users | a month |")
    print("|---|---:|")
    print(f"| wristband: its flows (model above) + the user's API requests ({money(own)}) | "
          f"**{money(month + own)}** |")
    for tier, (free, price) in COGNITO.items():
        cost = max(0, 100_000 - free) * price
        print(f"| Amazon Cognito {tier} (${price} per MAU over {free:,}) + the same API requests "
              f"(JWT authorizer: no Lambda) | **{money(cost + own)}** |")


if __name__ == "__main__":
    main()
