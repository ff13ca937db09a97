#!/usr/bin/env python3
"""A recording proxy in front of DynamoDB Local and the SES emulator (issue 20, item 2).

Every AWS call the functions make during `make test` passes through here and is written
as one JSON line per resource it touches, with the caller's name: the functions send
`app/<name>` in their user agent (AWS_LAMBDA_FUNCTION_NAME, see
wristband_dynamodb_lite::env::AwsEnv::app_name). scripts/iam-check.py then holds each
function's policy in template.yaml to that record.

One line:
  {"app": "login", "service": "dynamodb", "operation": "TransactWriteItems",
   "action": "dynamodb:PutItem", "table": "e2e-users-1a2b", "index": null,
   "leading_keys": ["user#ann"], "status": 200, "call": 17}
  {"app": "register", "service": "ses", "operation": "SendEmail", "action": "ses:SendEmail",
   "from_address": "no-reply@wristband.test", "status": 200, "call": 18}

`call` numbers the requests: the lines of one transaction or batch share it.

A transaction is recorded item by item under the actions IAM authorizes it by (PutItem,
UpdateItem, DeleteItem, ConditionCheckItem; GetItem for TransactGetItems); a batch under
its own action once per table. `leading_keys` are the partition key values (the
`dynamodb:LeadingKeys` condition key); a Scan has none. The proxy learns each table's
partition key name with one DescribeTable of its own (not recorded).

With --capacity, requests that do not ask for it get `ReturnConsumedCapacity: TOTAL` and
the record carries the capacity units DynamoDB Local reports (the field is taken out of
the answer again): for the cost table of docs/performance.md.

Usage: aws-recorder.py --port P --dynamodb URL --ses URL --record FILE [--capacity]
"""
import argparse
import http.client
import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

APP = re.compile(r"(?:^|\s)app/([A-Za-z0-9!#$%&'*+\-.^_`|~]+)")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te",
              "trailer", "upgrade", "proxy-connection"}
TARGET_PREFIX = "DynamoDB_20120810."
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


class Upstreams:
    """One keep-alive connection per upstream and thread."""

    def __init__(self, dynamodb: str, ses: str):
        self.urls = {"dynamodb": urllib.parse.urlsplit(dynamodb),
                     "ses": urllib.parse.urlsplit(ses)}
        self.local = threading.local()

    def request(self, service, method, path, body, headers):
        conns = self.local.__dict__.setdefault("conns", {})
        for attempt in range(2):
            conn = conns.get(service)
            if conn is None:
                url = self.urls[service]
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                conns[service] = conn
            try:
                conn.request(method, path, body=body, headers=headers)
                answer = conn.getresponse()
                return answer.status, answer.getheaders(), answer.read()
            except (ConnectionError, http.client.HTTPException):
                # A kept-alive connection the upstream closed: once more on a new one.
                conn.close()
                conns.pop(service, None)
                if attempt:
                    raise


class KeySchemas:
    """Each table's partition key name, asked of DynamoDB Local once (DescribeTable)."""

    def __init__(self, upstreams: Upstreams):
        self.upstreams = upstreams
        self.names: dict[str, str | None] = {}
        self.lock = threading.Lock()

    def hash_key(self, table: str, headers: dict) -> str | None:
        with self.lock:
            if table in self.names:
                return self.names[table]
        body = json.dumps({"TableName": table}).encode()
        ask = {k: v for k, v in headers.items() if k.lower() in ("authorization", "x-amz-date", "host")}
        ask.update({"Content-Type": "application/x-amz-json-1.0",
                    "X-Amz-Target": TARGET_PREFIX + "DescribeTable"})
        status, _, answer = self.upstreams.request("dynamodb", "POST", "/", body, ask)
        name = None
        if status == 200:
            for key in json.loads(answer)["Table"]["KeySchema"]:
                if key["KeyType"] == "HASH":
                    name = key["AttributeName"]
        with self.lock:
            self.names[table] = name
        return name


def scalar(value: dict) -> str | None:
    """An attribute value (`{"S": "x"}`, `{"N": "1"}`, `{"B": ...}`) as IAM sees a key."""
    for kind in ("S", "N", "B"):
        if kind in value:
            return str(value[kind])
    return None


def key_value(item: dict | None, hash_key: str | None) -> list[str]:
    if not item or not hash_key or hash_key not in item:
        return []
    value = scalar(item[hash_key])
    return [] if value is None else [value]


def query_key(body: dict, hash_key: str | None) -> list[str]:
    """The partition key's value in a Query's KeyConditionExpression (`#pk = :v`)."""
    expression = body.get("KeyConditionExpression") or ""
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    for left, right in re.findall(r"([#\w.]+)\s*=\s*(:[\w]+)", expression):
        if names.get(left, left) == hash_key and right in values:
            value = scalar(values[right])
            return [] if value is None else [value]
    return []


def dynamodb_entries(operation: str, body: dict, schemas: KeySchemas, headers: dict) -> list[dict]:
    def entry(action, table, keys, index=None, consistent=None):
        out = {"service": "dynamodb", "operation": operation, "action": "dynamodb:" + action,
               "table": table, "index": index, "leading_keys": keys}
        if consistent is not None:
            out["consistent"] = bool(consistent)  # a read's ConsistentRead (its units)
        return out

    hk = lambda table: schemas.hash_key(table, headers)  # noqa: E731
    if operation == "GetItem":
        table = body.get("TableName")
        return [entry(operation, table, key_value(body.get("Key"), hk(table)),
                      consistent=body.get("ConsistentRead", False))]
    if operation in ("UpdateItem", "DeleteItem"):
        table = body.get("TableName")
        return [entry(operation, table, key_value(body.get("Key"), hk(table)))]
    if operation == "PutItem":
        table = body.get("TableName")
        return [entry(operation, table, key_value(body.get("Item"), hk(table)))]
    if operation == "Query":
        table = body.get("TableName")
        # An index's partition key is not the table's: IAM's LeadingKeys is the table's.
        keys = [] if body.get("IndexName") else query_key(body, hk(table))
        return [entry(operation, table, keys, body.get("IndexName"), body.get("ConsistentRead", False))]
    if operation == "Scan":
        return [entry(operation, body.get("TableName"), [], body.get("IndexName"),
                      body.get("ConsistentRead", False))]
    if operation == "BatchGetItem":
        return [entry(operation, table, [v for k in spec.get("Keys", []) for v in key_value(k, hk(table))],
                      consistent=spec.get("ConsistentRead", False))
                for table, spec in (body.get("RequestItems") or {}).items()]
    if operation == "BatchWriteItem":
        out = []
        for table, requests in (body.get("RequestItems") or {}).items():
            keys = []
            for request in requests:
                if "PutRequest" in request:
                    keys += key_value(request["PutRequest"].get("Item"), hk(table))
                elif "DeleteRequest" in request:
                    keys += key_value(request["DeleteRequest"].get("Key"), hk(table))
            out.append(entry(operation, table, keys))
        return out
    if operation in ("TransactWriteItems", "TransactGetItems"):
        out = []
        for item in body.get("TransactItems") or []:
            for kind, spec in item.items():
                table = spec.get("TableName")
                source = spec.get("Item") if kind == "Put" else spec.get("Key")
                out.append(entry(TRANSACT_ACTIONS.get(kind, kind), table, key_value(source, hk(table)),
                                 consistent=True if kind == "Get" else None))
        return out
    return [entry(operation, body.get("TableName"), [])]


def address_of(from_field: str) -> str:
    """`Name <a@b>` -> `a@b` (ses:FromAddress is the address alone)."""
    match = re.search(r"<([^<>]+)>\s*$", from_field or "")
    return (match.group(1) if match else from_field or "").strip()


def make_handler(upstreams: Upstreams, schemas: KeySchemas, record, lock, capacity: bool):
    calls = iter(range(1, 1 << 62))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in one segment, at once (no 40 ms of Nagle and delayed
        # ACK on each answer).
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_GET(self):
            self.forward(b"")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.forward(self.rfile.read(length))

        def forward(self, body: bytes):
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            agent = " ".join(self.headers.get_all("x-amz-user-agent", []) + self.headers.get_all("user-agent", []))
            found = APP.search(agent)
            app = found.group(1) if found else None
            target = self.headers.get("x-amz-target") or ""
            entries, asked_capacity = [], True
            if target.startswith(TARGET_PREFIX):
                service = "dynamodb"
                operation = target[len(TARGET_PREFIX):]
                try:
                    parsed = json.loads(body or b"{}")
                except ValueError:
                    parsed = {}
                if isinstance(parsed, dict):
                    entries = dynamodb_entries(operation, parsed, schemas, headers)
                    if capacity and "ReturnConsumedCapacity" not in parsed and operation not in (
                            "DescribeTable", "CreateTable", "UpdateTimeToLive", "DescribeTimeToLive",
                            "ListTables", "DeleteTable"):
                        asked_capacity = False
                        parsed["ReturnConsumedCapacity"] = "TOTAL"
                        body = json.dumps(parsed).encode()
            elif self.path.startswith("/v2/email/"):
                service = "ses"
                operation = "SendEmail" if self.path.startswith("/v2/email/outbound-emails") else self.path
                try:
                    sender = json.loads(body or b"{}").get("FromEmailAddress", "")
                except (ValueError, AttributeError):
                    sender = ""
                if self.command == "POST":
                    entries = [{"service": "ses", "operation": operation, "action": "ses:" + operation,
                                "from_address": address_of(sender)}]
            else:
                service = "ses"
            headers["Content-Length"] = str(len(body))
            try:
                status, answer_headers, answer = upstreams.request(service, self.command, self.path, body, headers)
            except OSError as err:
                self.send_error(502, f"upstream: {err}")
                return
            consumed = None
            if not asked_capacity and status == 200:
                try:
                    parsed_answer = json.loads(answer)
                    consumed = parsed_answer.pop("ConsumedCapacity", None)
                    answer = json.dumps(parsed_answer).encode()
                except ValueError:
                    pass
            if entries:
                with lock:
                    call = next(calls)
                    for i, entry in enumerate(entries):
                        entry = {"app": app, **entry, "status": status, "call": call}
                        if consumed is not None and i == 0:
                            entry["consumed_capacity"] = consumed
                        record.write(json.dumps(entry) + "\n")
                    record.flush()
            self.send_response(status)
            for key, value in answer_headers:
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dynamodb", required=True)
    parser.add_argument("--ses", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--capacity", action="store_true")
    args = parser.parse_args()
    upstreams = Upstreams(args.dynamodb, args.ses)
    record = open(args.record, "a", encoding="utf-8")
    handler = make_handler(upstreams, KeySchemas(upstreams), record, threading.Lock(), args.capacity)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    print(f"aws-recorder: 127.0.0.1:{args.port} -> dynamodb {args.dynamodb}, ses {args.ses}; "
          f"record {args.record}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
