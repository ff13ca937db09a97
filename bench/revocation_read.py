#!/usr/bin/env python3
"""What a one-item revocation read would save on this stack: DynamoDB Local's latency for
the check wristband makes (BatchGetItem of three keys, ConsistentRead) against one
consistent GetItem (the floor, and what a one-item design would make), interleaved on one
keep-alive connection, keys that do not exist (a token that is not revoked).

Raw HTTP as the peer's ddb_floor.py does (DynamoDB Local checks no signature).
Usage: revocation_read.py --endpoint URL --table NAME [--n 2000] [--json out.json]
"""
import argparse
import http.client
import json
import secrets
import statistics
import sys
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--json")
    args = ap.parse_args()
    u = urllib.parse.urlsplit(args.endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())

    def call(target, body):
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{target}",
            "X-Amz-Date": amz_date,
            "Authorization": f"AWS4-HMAC-SHA256 Credential=dummy/{amz_date[:8]}/us-east-1/"
                             "dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                             "x-amz-target, Signature=" + "0" * 64,
        }
        payload = json.dumps(body)
        t0 = time.perf_counter()
        conn.request("POST", "/", body=payload, headers=headers)
        r = conn.getresponse()
        data = r.read()
        dt = time.perf_counter() - t0
        if r.status != 200:
            sys.exit(f"{target} failed: {r.status} {data[:200]!r}")
        return dt

    jti, sid, sub = (secrets.token_urlsafe(16) for _ in range(3))
    get = {"TableName": args.table, "Key": {"jti": {"S": jti}}, "ConsistentRead": True}
    batch = {"RequestItems": {args.table: {"ConsistentRead": True, "Keys": [
        {"jti": {"S": jti}}, {"jti": {"S": f"sid#{sid}"}}, {"jti": {"S": f"user#{sub}"}}]}}}
    for _ in range(200):
        call("GetItem", get)
        call("BatchGetItem", batch)
    one, three = [], []
    for _ in range(args.n):
        one.append(call("GetItem", get))
        three.append(call("BatchGetItem", batch))
    result = {
        "getitem_one_key_p50_ms": statistics.median(one) * 1000,
        "batchget_three_keys_p50_ms": statistics.median(three) * 1000,
        "n": args.n,
    }
    print(f"GetItem, 1 key: p50 {result['getitem_one_key_p50_ms']:.3f} ms; "
          f"BatchGetItem, 3 keys: p50 {result['batchget_three_keys_p50_ms']:.3f} ms "
          f"({args.n} each, interleaved; 1 vs 3 read units per check in AWS)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
