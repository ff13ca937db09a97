#!/usr/bin/env python3
"""Tests of scripts/iam-check.py: IAM's evaluation rules as it implements them, and the real
template.yaml refusing calls its policies do not grant (run by make test, before the e2e
record exists). Prints a cargo-style `test result:` line for make test's summary."""
import contextlib
import importlib.util
import io
import json
import os
import pathlib
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("iam_check", ROOT / "scripts" / "iam-check.py")
iam = importlib.util.module_from_spec(spec)
spec.loader.exec_module(iam)

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/"
ENV = {"USERS_TABLE": "u", "REVOKED_TOKENS_TABLE": "r", "SESSIONS_TABLE": "s",
       "MAIL_FROM": "no-reply@example.com"}


def allow(action, resource, condition=None):
    s = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def ddb(app, action, table, keys=(), index=None, operation=None):
    return {"app": app, "service": "dynamodb", "action": "dynamodb:" + action, "table": table,
            "index": index, "leading_keys": list(keys), "operation": operation or action}


class Evaluation(unittest.TestCase):
    def test_actions_are_case_insensitive_with_wildcards(self):
        s = [allow(["dynamodb:get*"], TABLE + "u")]
        self.assertTrue(iam.allowed(s, "dynamodb:GetItem", TABLE + "u", {}))
        self.assertFalse(iam.allowed(s, "dynamodb:PutItem", TABLE + "u", {}))
        s = [allow("dynamodb:G?tItem", TABLE + "u")]
        self.assertTrue(iam.allowed(s, "dynamodb:GetItem", TABLE + "u", {}))

    def test_resources_are_case_sensitive_and_exact_without_wildcards(self):
        s = [allow("dynamodb:Query", TABLE + "u")]
        self.assertFalse(iam.allowed(s, "dynamodb:Query", TABLE + "U", {}))
        self.assertFalse(iam.allowed(s, "dynamodb:Query", TABLE + "u/index/by-email", {}))
        s = [allow("dynamodb:Query", TABLE + "u/index/*")]
        self.assertTrue(iam.allowed(s, "dynamodb:Query", TABLE + "u/index/by-email", {}))

    def test_no_statement_is_a_deny_and_an_explicit_deny_wins(self):
        self.assertFalse(iam.allowed([], "dynamodb:GetItem", TABLE + "u", {}))
        s = [allow("dynamodb:*", "*"), {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}]
        self.assertTrue(iam.allowed(s, "dynamodb:GetItem", TABLE + "u", {}))
        self.assertFalse(iam.allowed(s, "dynamodb:DeleteItem", TABLE + "u", {}))

    def test_for_all_values_holds_for_no_key_and_needs_every_key_to_match(self):
        s = [allow("dynamodb:*", TABLE + "r",
                   {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["throttle#*", "mfa#*"]}})]
        ok = lambda keys: iam.allowed(s, "dynamodb:BatchWriteItem", TABLE + "r",  # noqa: E731
                                      {"dynamodb:LeadingKeys": keys} if keys is not None else {})
        self.assertTrue(ok(["throttle#1.2.3.4", "mfa#abc"]))
        self.assertFalse(ok(["throttle#x", "sid#y"]))
        # As in IAM: a Scan has no leading key, and ForAllValues over nothing is true.
        self.assertTrue(ok(None))
        self.assertTrue(ok([]))

    def test_for_any_value_needs_a_key(self):
        s = [allow("dynamodb:GetItem", "*", {"ForAnyValue:StringEquals": {"dynamodb:LeadingKeys": "a"}})]
        self.assertTrue(iam.allowed(s, "dynamodb:GetItem", "x", {"dynamodb:LeadingKeys": ["b", "a"]}))
        self.assertFalse(iam.allowed(s, "dynamodb:GetItem", "x", {}))

    def test_single_valued_operators_fail_on_a_missing_key_unless_if_exists(self):
        s = [allow("ses:SendEmail", "*", {"StringEquals": {"ses:FromAddress": "a@b.c"}})]
        self.assertTrue(iam.allowed(s, "ses:SendEmail", "x", {"ses:FromAddress": ["a@b.c"]}))
        self.assertFalse(iam.allowed(s, "ses:SendEmail", "x", {"ses:FromAddress": ["A@b.c"]}))
        self.assertFalse(iam.allowed(s, "ses:SendEmail", "x", {}))
        s = [allow("ses:SendEmail", "*", {"StringEqualsIfExists": {"ses:FromAddress": "a@b.c"}})]
        self.assertTrue(iam.allowed(s, "ses:SendEmail", "x", {}))
        s = [allow("ses:SendEmail", "*", {"StringNotLike": {"ses:FromAddress": "*@evil.test"}})]
        self.assertTrue(iam.allowed(s, "ses:SendEmail", "x", {"ses:FromAddress": ["a@b.c"]}))
        self.assertFalse(iam.allowed(s, "ses:SendEmail", "x", {"ses:FromAddress": ["m@evil.test"]}))

    def test_conditions_are_anded_across_keys_and_operators(self):
        s = [allow("*", "*", {"StringLike": {"ses:FromAddress": "*@b.c"},
                              "ForAllValues:StringLike": {"dynamodb:LeadingKeys": "k#*"}})]
        both = {"ses:FromAddress": ["a@b.c"], "dynamodb:LeadingKeys": ["k#1"]}
        self.assertTrue(iam.allowed(s, "x:Y", "r", both))
        self.assertFalse(iam.allowed(s, "x:Y", "r", {**both, "dynamodb:LeadingKeys": ["j#1"]}))

    def test_what_it_does_not_implement_is_refused(self):
        for statement in (
            allow("*", "*", {"NumericLessThan": {"ses:FromAddress": "1"}}),
            allow("*", "*", {"StringEquals": {"aws:SourceIp": "1.2.3.4"}}),
            {"Effect": "Allow", "Resource": "*"},
        ):
            with self.assertRaises(iam.Unsupported):
                iam.allowed([statement], "x:Y", "r", {"ses:FromAddress": ["a"]})


class Template(unittest.TestCase):
    """The real template.yaml, with synthetic records."""

    @classmethod
    def setUpClass(cls):
        cls.policies = iam.function_policies(iam.load_template(str(ROOT / "template.yaml")), ENV)

    def problems(self, calls):
        return iam.check(self.policies, calls)[0]

    def refused(self, call):
        return [p for p in self.problems([call]) if "is not allowed" in p]

    def test_every_function_with_a_binary_is_read(self):
        functions = {p.name for p in (ROOT / "functions").iterdir() if p.is_dir()}
        self.assertEqual(set(self.policies), functions)

    def test_the_intrinsics_resolve_to_the_runs_names(self):
        resources = {r for s in self.policies["register"] for r in iam.as_list(s["Resource"])}
        self.assertIn(TABLE + "u", resources)
        self.assertIn("arn:aws:ses:us-east-1:123456789012:identity/no-reply@example.com", resources)
        self.assertIn("arn:aws:ses:us-east-1:123456789012:identity/example.com", resources)

    def test_a_verifier_cannot_write_and_nothing_scans_the_users(self):
        self.assertTrue(self.refused(ddb("protected", "PutItem", "r", ["jti#x"])))
        self.assertTrue(self.refused(ddb("login", "Scan", "u")))
        self.assertTrue(self.refused(ddb("login", "GetItem", "s", ["ann"])))

    def test_leading_keys_pin_the_login_to_its_prefixes(self):
        self.assertFalse(self.refused(ddb("login", "UpdateItem", "r", ["throttle#ip#1.2.3.4"])))
        self.assertTrue(self.refused(ddb("login", "UpdateItem", "r", ["jti#abc"])))

    def test_mail_only_from_mail_from(self):
        send = {"app": "register", "service": "ses", "action": "ses:SendEmail", "operation": "SendEmail"}
        self.assertFalse(self.refused({**send, "from_address": "no-reply@example.com"}))
        self.assertTrue(self.refused({**send, "from_address": "ceo@example.com"}))
        self.assertTrue(self.refused({**send, "app": "protected", "from_address": "no-reply@example.com"}))

    def test_a_caller_outside_the_template_and_dead_grants_are_problems(self):
        problems = self.problems([ddb("someone-else", "GetItem", "u", ["user#a"])])
        self.assertTrue(any("not a function of template.yaml" in p for p in problems))
        # With no call at all, every grant of every function is dead.
        problems = self.problems([])
        self.assertTrue(any(p.startswith("login: dead grant") for p in problems))
        self.assertTrue(any("no call under the leading key 'throttle#*'" in p for p in problems))

    def test_main_fails_on_a_refused_call(self):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write(json.dumps({**ddb("login", "Scan", "u"), "status": 200}) + "\n")
        old = sys.argv, dict(os.environ)
        try:
            sys.argv = ["iam-check.py", "--template", str(ROOT / "template.yaml"), f.name]
            os.environ.update(ENV)
            with self.assertRaises(SystemExit) as exit_, contextlib.redirect_stderr(io.StringIO()) as err, \
                    contextlib.redirect_stdout(io.StringIO()):
                iam.main()
            self.assertIn("login: dynamodb:Scan on " + TABLE + "u", err.getvalue())
            self.assertIn("problem", str(exit_.exception.code))
        finally:
            sys.argv = old[0]
            os.environ.clear()
            os.environ.update(old[1])
            os.unlink(f.name)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"test result: {'ok' if not failed else 'FAILED'}. {result.testsRun - failed} passed; "
          f"{failed} failed (iam evaluator)")
    sys.exit(1 if failed else 0)
