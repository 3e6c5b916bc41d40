"""The TAP reporting the checks in tests/docs share: check() records a result, finish()
prints the plan and one line per result (with the details of a failure as comments) and
returns the exit status meson's TAP protocol expects."""

results = []


def check(ok, name, details=()):
    results.append((bool(ok), name, list(details)))


def finish(require_some=False):
    """0 when every check passed (and, with require_some, there was at least one)."""
    print("1..%d" % len(results))
    for i, (ok, name, details) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok:
            for d in details:
                print("# " + d)
    if require_some and not results:
        return 1
    return 0 if all(ok for ok, _, _ in results) else 1
