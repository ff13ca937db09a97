#!/usr/bin/env python3
"""Rebuild data/common-passwords.txt from the Django wheel on PyPI.

Source: django/contrib/auth/common-passwords.txt.gz inside the `Django` wheel
(BSD-3-Clause). Upstream: Royce Williams' list of the 20,000 most prevalent
Have I Been Pwned "Pwned Passwords" (ranked by breach count), unhexed,
lower-cased and de-duplicated by Django, rank order preserved.

Usage:  python3 regenerate.py [DJANGO_VERSION]     (default: pinned below)
Needs:  pip (network access to PyPI). Writes data/common-passwords.txt and
prints counts + sha256 for common-passwords.SOURCE.md.
"""
import gzip, hashlib, io, pathlib, subprocess, sys, tempfile, zipfile

DJANGO_VERSION = sys.argv[1] if len(sys.argv) > 1 else "5.2.19"
MEMBER = "django/contrib/auth/common-passwords.txt.gz"
TOP_N = 10_000
OUT = pathlib.Path(__file__).resolve().parent / "data" / "common-passwords.txt"

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary=:all:", f"django=={DJANGO_VERSION}", "-d", tmp], check=True)
    (wheel,) = pathlib.Path(tmp).glob("*.whl")
    wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read(MEMBER))

ranked = raw.decode("utf-8").splitlines()           # rank order = file order
out, seen, dropped = [], set(), []
for entry in ranked:
    e = entry.strip().lower()                        # Django already lower-cases
    if not e or e in seen:
        dropped.append(entry)
        continue
    seen.add(e)
    out.append(e)
    if len(out) == TOP_N:
        break
if len(out) != TOP_N:
    sys.exit(f"only {len(out)} usable entries, need {TOP_N}")

OUT.parent.mkdir(exist_ok=True)
OUT.write_bytes(("\n".join(out) + "\n").encode("utf-8"))
print(f"django=={DJANGO_VERSION} wheel sha256 {wheel_sha}")
print(f"source entries: {len(ranked)}; written: {len(out)}; "
      f"dropped by strip/lower/dedup within the top ranks: {len(dropped)} {dropped[:10]}")
print(f">= 8 chars: {sum(len(e) >= 8 for e in out)}; non-ASCII: "
      f"{sum(not e.isascii() for e in out)}; max chars: {max(map(len, out))}")
print(f"{OUT.name} sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}")
