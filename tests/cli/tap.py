"""TAP for the Python tests of tests/cli: one numbered line per check, its detail as comments."""

results = []


def check(ok, what, detail=""):
    results.append(bool(ok))
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {what}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print("# " + line)
    return ok


def done():
    """Prints the plan; the exit status: 0 when every check passed."""
    print(f"1..{len(results)}")
    return 0 if all(results) else 1
