#!/usr/bin/env python3
"""`make test` stage: every sample event in events/ through a plain `cargo lambda invoke`.

Each events/<function>[-variant].json goes to its function with only --invoke-port (the
test run's free port) and --data-file: the address is invoke's default, [::1], which the
loopback bridge forwards to the emulator on 127.0.0.1. Every event must be answered: an
HTTP event with a payload 2.0 response (statusCode, JSON body), an authorizer event with
a simple response (isAuthorized).

Usage: invoke-events.py PORT
"""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def function_of(stem: str, functions: list[str]) -> str:
    # The longest function name the file name starts with: "logout-all" before "logout".
    matches = [f for f in functions if stem == f or stem.startswith(f + "-")]
    if not matches:
        sys.exit(f"events/{stem}.json: no function of that name in functions/")
    return max(matches, key=len)


def main() -> None:
    port = sys.argv[1]
    functions = sorted(p.name for p in (ROOT / "functions").iterdir() if p.is_dir())
    failures = 0
    for event in sorted((ROOT / "events").glob("*.json")):
        function = function_of(event.stem, functions)
        out = subprocess.run(
            ["cargo", "lambda", "invoke", function, "--invoke-port", port,
             "--data-file", str(event), "--output-format", "json"],
            capture_output=True, text=True, timeout=180,
        )
        try:
            answer = json.loads(out.stdout)
        except json.JSONDecodeError:
            answer = None
        if json.loads(event.read_text()).get("type") == "REQUEST":
            ok = isinstance(answer, dict) and isinstance(answer.get("isAuthorized"), bool)
            shown = answer
        else:
            ok = isinstance(answer, dict) and isinstance(answer.get("statusCode"), int)
            if ok:
                json.loads(answer.get("body") or "null")
            shown = answer and {"statusCode": answer["statusCode"]}
        print(f"    {event.name:34} -> {function:11} {shown if ok else 'NO ANSWER'}")
        if not ok:
            failures += 1
            print(out.stdout[-2000:], out.stderr[-2000:], file=sys.stderr)
    if failures:
        sys.exit(f"{failures} event(s) not answered")


if __name__ == "__main__":
    main()
