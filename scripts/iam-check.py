#!/usr/bin/env python3
"""template.yaml's IAM policies held to what each function calls (issue 20, item 2).

Reads the record of scripts/aws-recorder.py (every DynamoDB and SES call the functions made
during `make test`, with the caller's name) and each function's `Policies` in
template.yaml, and checks both ways:

- every call is allowed by its function's policy, evaluated as IAM does for these cases;
- every grant is used: each (action, resource) of each Allow statement was called at
  least once by that function, and each pattern of a `dynamodb:LeadingKeys` condition
  matched at least one key it was called with (no dead grant).

IAM, as far as these policies need it (anything else in a policy is refused, not guessed):
- identity-based policies only, Allow and Deny; an explicit Deny wins; no Allow is a deny;
- Action / NotAction with `*` and `?`, case-insensitive; Resource / NotResource with `*` and
  `?`, case-sensitive; the template's intrinsics (Ref, Fn::GetAtt, Fn::Sub, Fn::Select,
  Fn::Split, Fn::Join) resolved for account 123456789012 in us-east-1 with the run's table
  names and parameter values;
- condition operators StringEquals, StringNotEquals, StringLike, StringNotLike, each also
  with the ForAllValues: / ForAnyValue: set qualifiers and the IfExists suffix; several
  values of one key are ORed, several keys and operators ANDed; ForAllValues over an absent
  or empty key is true (as in IAM), ForAnyValue false; a single-valued operator over an
  absent key is false;
- condition keys: dynamodb:LeadingKeys (the partition key values of the call; none for a
  Scan or a Query on an index) and ses:FromAddress (the address of FromEmailAddress).
  Any other key in a policy is refused.
- A transaction is authorized item by item by PutItem / UpdateItem / DeleteItem /
  ConditionCheckItem (GetItem for TransactGetItems), a batch by BatchGetItem /
  BatchWriteItem on each table with all its keys. SES v2 SendEmail is authorized on the
  identity the sender is verified through: the address, or its domain. The check requires
  both to be allowed (either may be the one verified in an account).

Usage: iam-check.py --template template.yaml RECORD.jsonl [RECORD.jsonl ...]
Table names and parameter values come from the environment variables the template sets
from them (USERS_TABLE, MAIL_FROM, ...), as make test exports them for the functions.
"""
import argparse
import collections
import json
import os
import re
import sys

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
SUPPORTED_KEYS = {"dynamodb:LeadingKeys", "ses:FromAddress"}
MULTI_VALUED = {"dynamodb:LeadingKeys"}
BASE_OPERATORS = {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"}


class Unsupported(Exception):
    """Something in a policy this evaluator does not implement: refused, not guessed."""


# ------------------------------------------------------------------ template


def load_template(path: str) -> dict:
    from cfnlint.decode import decode_str  # .tools/venv (cfn-lint)

    with open(path, encoding="utf-8") as f:
        template, matches = decode_str(f.read())
    if template is None:
        raise SystemExit(f"{path}: {matches}")
    return template


class Resolver:
    """The template's intrinsic functions, with the run's names and values."""

    def __init__(self, template: dict, env: dict):
        self.template = template
        resources = template.get("Resources", {})
        self.values = {"AWS::Partition": PARTITION, "AWS::Region": REGION,
                       "AWS::AccountId": ACCOUNT, "AWS::StackName": "wristband"}
        for name, spec in template.get("Parameters", {}).items():
            if "Default" in spec:
                self.values[name] = str(spec["Default"])
        # A variable set from `!Ref X` carries X's value in this run (USERS_TABLE -> the
        # users table's name, MAIL_FROM -> the MailFrom parameter).
        variables = dict(template.get("Globals", {}).get("Function", {})
                         .get("Environment", {}).get("Variables", {}))
        for spec in resources.values():
            if spec.get("Type") == "AWS::Serverless::Function":
                variables.update(spec.get("Properties", {}).get("Environment", {}).get("Variables", {}))
        for var, value in variables.items():
            if isinstance(value, dict) and set(value) == {"Ref"} and var in env:
                self.values[value["Ref"]] = env[var]
        self.arns = {}
        for name, spec in resources.items():
            if spec.get("Type") == "AWS::DynamoDB::Table":
                table = self.values.get(name) or spec.get("Properties", {}).get("TableName") or name
                self.values[name] = table
                self.arns[name] = f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}"

    def attribute(self, resource: str, attribute: str) -> str:
        if attribute == "Arn" and resource in self.arns:
            return self.arns[resource]
        raise Unsupported(f"Fn::GetAtt {resource}.{attribute}")

    def resolve(self, node):
        if isinstance(node, list):
            return [self.resolve(n) for n in node]
        if not isinstance(node, dict):
            return node if not isinstance(node, (int, float)) else str(node)
        if len(node) != 1 or not next(iter(node)).startswith(("Fn::", "Ref")):
            return {k: self.resolve(v) for k, v in node.items()}
        (fn, arg), = node.items()
        if fn == "Ref":
            if arg not in self.values:
                raise Unsupported(f"Ref {arg}")
            return self.values[arg]
        if fn == "Fn::GetAtt":
            resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.attribute(resource, attribute)
        if fn == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

            def sub(match):
                name = match.group(1)
                if name in local:
                    return str(local[name])
                if "." in name:
                    return self.attribute(*name.split(".", 1))
                return self.resolve({"Ref": name})

            return re.sub(r"\$\{([^}!]+)\}", sub, text)
        if fn == "Fn::Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if fn == "Fn::Split":
            sep, text = arg[0], self.resolve(arg[1])
            return text.split(sep)
        if fn == "Fn::Join":
            sep, items = arg[0], self.resolve(arg[1])
            return sep.join(items)
        raise Unsupported(fn)


def function_policies(template: dict, env: dict) -> dict[str, list[dict]]:
    """Binary name -> the Statements of its function's inline policies, resolved."""
    resolver = Resolver(template, env)
    out = {}
    for name, spec in template.get("Resources", {}).items():
        if spec.get("Type") != "AWS::Serverless::Function":
            continue
        binary = spec.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        if not binary:
            continue
        statements = []
        for policy in spec.get("Properties", {}).get("Policies", []) or []:
            if not isinstance(policy, dict) or "Statement" not in policy:
                raise Unsupported(f"{name}: a policy other than an inline Statement list: {policy}")
            for statement in policy["Statement"]:
                statements.append(resolver.resolve(statement))
        out[binary] = statements
    return out


# ------------------------------------------------------------------ evaluation


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def like(pattern: str, value: str, case_sensitive=True) -> bool:
    """IAM's wildcard match: `*` any run, `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def action_matches(statement: dict, action: str) -> bool:
    if "Action" in statement:
        return any(like(a, action, case_sensitive=False) for a in as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(like(a, action, case_sensitive=False) for a in as_list(statement["NotAction"]))
    raise Unsupported("a statement without Action or NotAction")


def resource_matches(statement: dict, resource: str) -> bool:
    if "Resource" in statement:
        return any(like(r, resource) for r in as_list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(like(r, resource) for r in as_list(statement["NotResource"]))
    raise Unsupported("a statement without Resource or NotResource")


def string_test(base: str, pattern: str, value: str) -> bool:
    if base in ("StringEquals", "StringNotEquals"):
        hit = pattern == value
    else:
        hit = like(pattern, value)
    return not hit if "Not" in base else hit


def operator_holds(operator: str, patterns: list, values: list | None) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base[: -len("IfExists")] if if_exists else base
    if base not in BASE_OPERATORS or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise Unsupported(f"condition operator {operator}")
    matches = lambda v: any(string_test(base, str(p), v) for p in patterns)  # noqa: E731
    if qualifier == "ForAllValues":
        return all(matches(v) for v in values or [])
    if qualifier == "ForAnyValue":
        return any(matches(v) for v in values or [])
    if not values:
        return if_exists
    if len(values) > 1:
        raise Unsupported(f"{operator} on a multi-valued key without a set qualifier")
    return matches(values[0])


def conditions_hold(statement: dict, context: dict) -> bool:
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, patterns in keys.items():
            if key not in SUPPORTED_KEYS:
                raise Unsupported(f"condition key {key}")
            if not operator_holds(operator, as_list(patterns), context.get(key)):
                return False
    return True


def statement_applies(statement: dict, action: str, resource: str, context: dict) -> bool:
    return (action_matches(statement, action) and resource_matches(statement, resource)
            and conditions_hold(statement, context))


def allowed(statements: list[dict], action: str, resource: str, context: dict) -> bool:
    """IAM's answer for one identity policy set: an explicit Deny wins, then any Allow."""
    for statement in statements:
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise Unsupported(f"Effect {statement.get('Effect')}")
    if any(s["Effect"] == "Deny" and statement_applies(s, action, resource, context) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and statement_applies(s, action, resource, context) for s in statements)


# ------------------------------------------------------------------ the record


def requests_of(call: dict) -> list[tuple[str, str, dict]]:
    """One recorded call as IAM authorizes it: [(action, resource ARN, context)]."""
    if call["service"] == "dynamodb":
        table = call.get("table") or ""
        resource = f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
        if call.get("index"):
            resource += f"/index/{call['index']}"
        context = {}
        if call.get("leading_keys"):
            context["dynamodb:LeadingKeys"] = call["leading_keys"]
        return [(call["action"], resource, context)]
    if call["service"] == "ses":
        address = call.get("from_address") or ""
        domain = address.rpartition("@")[2]
        context = {"ses:FromAddress": [address]}
        base = f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/"
        return [(call["action"], base + address, context), (call["action"], base + domain, context)]
    raise Unsupported(f"service {call['service']}")


def read_records(paths: list[str]) -> list[dict]:
    calls = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            calls += [json.loads(line) for line in f if line.strip()]
    return calls


def grants(statement: dict) -> list[tuple[str, str]]:
    if "Action" not in statement or "Resource" not in statement:
        return []  # NotAction / NotResource grant too much to list: refused by check()
    return [(a, r) for a in as_list(statement["Action"]) for r in as_list(statement["Resource"])]


def leading_key_patterns(statement: dict) -> list[str]:
    out = []
    for operator, keys in (statement.get("Condition") or {}).items():
        if operator.startswith("ForAllValues:") and "dynamodb:LeadingKeys" in keys:
            out += as_list(keys["dynamodb:LeadingKeys"])
    return out


def check(policies: dict[str, list[dict]], calls: list[dict]) -> tuple[list[str], dict]:
    """(problems, per-function summary)."""
    problems = []
    summary = collections.defaultdict(collections.Counter)
    used = collections.defaultdict(set)  # binary -> {(statement index, action, resource)}
    used_keys = collections.defaultdict(set)  # binary -> {(statement index, pattern)}
    for call in calls:
        app = call.get("app")
        if app is None:
            continue  # tools (create-tables, the admin CLI): not a function, no policy
        if app not in policies:
            problems.append(f"a call from {app!r}, which is not a function of template.yaml: {call}")
            continue
        statements = policies[app]
        summary[app][call["action"]] += 1
        for action, resource, context in requests_of(call):
            if not allowed(statements, action, resource, context):
                problems.append(f"{app}: {action} on {resource} with {context or 'no condition keys'} "
                                f"is not allowed by its policy ({call.get('operation')})")
                continue
            for i, statement in enumerate(statements):
                if statement["Effect"] == "Allow" and statement_applies(statement, action, resource, context):
                    for granted_action, granted_resource in grants(statement):
                        if like(granted_action, action, False) and like(granted_resource, resource):
                            used[app].add((i, granted_action, granted_resource))
                    for pattern in leading_key_patterns(statement):
                        if any(like(pattern, k) for k in context.get("dynamodb:LeadingKeys", [])):
                            used_keys[app].add((i, pattern))
    for app, statements in sorted(policies.items()):
        for i, statement in enumerate(statements):
            if statement["Effect"] != "Allow":
                continue
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{app}: statement {i + 1} allows by NotAction/NotResource: not reviewable")
                continue
            for granted in grants(statement):
                if (i, *granted) not in used[app]:
                    problems.append(f"{app}: dead grant (statement {i + 1}): {granted[0]} on {granted[1]}"
                                    f" was never called by the tests")
            for pattern in leading_key_patterns(statement):
                if (i, pattern) not in used_keys[app]:
                    problems.append(f"{app}: dead grant (statement {i + 1}): no call under the leading key "
                                    f"{pattern!r}")
    return problems, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("records", nargs="+")
    args = parser.parse_args()
    policies = function_policies(load_template(args.template), dict(os.environ))
    calls = read_records(args.records)
    try:
        problems, summary = check(policies, calls)
    except Unsupported as err:
        raise SystemExit(f"iam-check: the template uses what this evaluator does not implement: {err}")
    checked = 0
    for app in sorted(policies):
        actions = summary.get(app, {})
        checked += sum(actions.values())
        shown = ", ".join(f"{a.split(':')[1]} {n}" for a, n in sorted(actions.items())) or "no AWS call"
        print(f"    {app:14} {shown}")
    tools = sum(1 for c in calls if c.get("app") is None)
    print(f"iam-check: {checked} calls of {len(policies)} functions checked against their policies "
          f"({tools} calls of tools without a policy not counted)")
    if problems:
        for problem in problems:
            print(f"  FAIL {problem}", file=sys.stderr)
        raise SystemExit(f"iam-check: {len(problems)} problem(s)")
    print("iam-check: every call allowed, every grant used")


if __name__ == "__main__":
    main()
