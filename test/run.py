#!/usr/bin/python3
"""run.py - run every test and print one summary line.

Unit tests are the *_test binaries the Makefile built (each prints
"FILE: N passed, M failed"); integration tests are test/test_*.py, run with
unittest against whole instances started from their own config directories.
The last line is "N passed, M failed" over both.

  run.py [--unit "BIN BIN..."] [--only PATTERN] [--no-integration]
"""
import argparse
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def run_unit(binaries):
    passed = failed = 0
    for b in binaries:
        if not b:
            continue
        try:
            p = subprocess.run([b], capture_output=True, text=True, timeout=300)
            out = p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            print(f"FAIL {b}: timed out")
            failed += 1
            continue
        m = re.search(r"(\d+) passed, (\d+) failed", p.stdout)
        if not m:
            print(f"FAIL {b}: no summary (exit {p.returncode})")
            print(out[-3000:])
            failed += 1
            continue
        np_, nf = int(m.group(1)), int(m.group(2))
        if p.returncode != 0 and nf == 0:
            nf = 1  # crashed or sanitizer report after the summary
        passed += np_
        failed += nf
        status = "ok  " if nf == 0 else "FAIL"
        print(f"{status} {os.path.relpath(b)}: {np_} passed, {nf} failed")
        if nf:
            print(out[-3000:])
    return passed, failed


class CountingResult(unittest.TextTestResult):
    pass


def run_integration(only):
    loader = unittest.TestLoader()
    if only:
        loader.testNamePatterns = [f"*{only}*"]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout,
                                     resultclass=CountingResult)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unit", default="")
    ap.add_argument("--only", default="")
    ap.add_argument("--no-integration", action="store_true")
    args = ap.parse_args()
    start = time.time()
    up, uf = run_unit(args.unit.split()) if not args.only else (0, 0)
    ip = if_ = sk = 0
    # Daemons of a sanitizer build write reports into their cwd, the queue
    # directory; Instance.cleanup() fails the test that produced one.
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        os.environ[var] = "log_path=sanitizer:detect_leaks=0:print_stacktrace=1"
    if not args.no_integration:
        ip, if_, sk = run_integration(args.only)
    took = time.time() - start
    print(f"unit: {up} passed, {uf} failed; integration: {ip} passed, "
          f"{if_} failed, {sk} skipped; {took:.0f}s")
    print(f"{up + ip} passed, {uf + if_} failed")
    sys.exit(1 if uf + if_ else 0)


if __name__ == "__main__":
    main()
