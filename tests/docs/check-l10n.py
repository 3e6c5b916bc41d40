#!/usr/bin/env python3
"""check-l10n.py — `LANG=ko_KR.UTF-8 sdvisor check bad.conf` prints the Korean message.

usage: check-l10n.py SDVISOR LOCALEDIR SRCDIR          Prints TAP.

Runs the built binary with the build tree's compiled catalogs (LOCALEDIR holds
ko/LC_MESSAGES/sdvisor.mo; sdvisor binds its text domain there when SDVISOR_LOCALEDIR
says so) and expects, word for word, the message po/ko.po gives. The ko_KR.UTF-8
locale is the system's when it is generated; otherwise it is compiled here with
localedef into a temporary LOCPATH (needs the `locales` package's sources). Without
either the test is skipped, saying why.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SDVISOR, LOCALEDIR, SRC = sys.argv[1:4]
results = []


def check(ok, name, details=()):
    results.append((bool(ok), name, list(details)))


def finish():
    print("1..%d" % len(results))
    for i, (ok, name, details) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok:
            for d in details:
                print("# " + d)
    return 0 if all(ok for ok, _, _ in results) else 1


def unescape(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)


def catalog(po):
    """msgid → msgstr of a .po file (single-line and continued strings)."""
    entries, cur, field = {}, {}, None
    with open(po, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r'^(msgid|msgstr) "(.*)"$', line)
            if m:
                if m.group(1) == "msgid" and "msgstr" in cur:
                    entries[cur["msgid"]] = cur["msgstr"]
                    cur = {}
                field = m.group(1)
                cur[field] = unescape(m.group(2))
            elif line.startswith('"') and field:
                cur[field] += unescape(line[1:-1])
            elif not line.strip():
                field = None
    if "msgstr" in cur:
        entries[cur["msgid"]] = cur["msgstr"]
    return entries


def korean_locale(tmp):
    """Extra environment that makes ko_KR.UTF-8 usable, or None."""
    names = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    if any(n.lower().replace("-", "") in ("ko_kr.utf8",) for n in names):
        return {}
    localedef = shutil.which("localedef")
    if localedef and os.path.exists("/usr/share/i18n/locales/ko_KR"):
        out = os.path.join(tmp, "locale")
        os.makedirs(out)
        r = subprocess.run([localedef, "-i", "ko_KR", "-f", "UTF-8", os.path.join(out, "ko_KR.UTF-8")],
                           capture_output=True, text=True)
        if os.path.isdir(os.path.join(out, "ko_KR.UTF-8")):
            return {"LOCPATH": out}
        print("# localedef failed: " + r.stderr.strip())
    return None


def run(args, lang, extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LC_", "SDVISOR_")) and k not in ("LANG", "LANGUAGE")}
    env.update(extra)
    env["LANG"] = lang
    env["SDVISOR_LOCALEDIR"] = LOCALEDIR
    return subprocess.run([SDVISOR] + args, capture_output=True, text=True, env=env)


def main():
    ko = catalog(os.path.join(SRC, "po", "ko.po"))
    mo = os.path.join(LOCALEDIR, "ko", "LC_MESSAGES", "sdvisor.mo")
    check(os.path.exists(mo), "the build compiles po/ko.po into %s" % mo)

    with tempfile.TemporaryDirectory() as tmp:
        extra = korean_locale(tmp)
        if extra is None:
            print("1..0 # SKIP the ko_KR.UTF-8 locale is not generated and cannot be made here "
                  "(apt-get install locales; localedef -i ko_KR -f UTF-8 ko_KR.UTF-8)")
            return 0

        bad = os.path.join(tmp, "bad.conf")
        with open(bad, "w") as f:
            f.write("[app]\nexec=/bin/true\nstop-timout=5s\n")
        os.chmod(bad, 0o644)

        # The Korean text as po/ko.po has it, filled in as sdvisor fills the English.
        fmt, hint = ko.get("%s:%d: [%s] %s: unknown key%s"), ko.get(" (did you mean '%s'?)")
        check(fmt and hint, "po/ko.po translates the unknown-key message and its suggestion")
        if fmt and hint:
            want = fmt % (bad, 3, "app", "stop-timout", hint % "stop-timeout")
            p = run(["check", bad], "ko_KR.UTF-8", extra)
            check(p.returncode == 78 and p.stderr.strip() == want,
                  "LANG=ko_KR.UTF-8 sdvisor check bad.conf prints the Korean message and exits 78",
                  ["want: " + want, "got (exit %d): %s" % (p.returncode, p.stderr.strip()),
                   "(English here means the catalog was not found: main.c must bind the text domain "
                   "to $SDVISOR_LOCALEDIR when it is set)"])

        english = "%s:3: [app] stop-timout: unknown key (did you mean 'stop-timeout'?)" % bad
        p = run(["check", bad], "C.UTF-8", extra)
        check(p.returncode == 78 and p.stderr.strip() == english, "LANG=C.UTF-8: the same message in English",
              ["got: " + p.stderr.strip()])

        usage = ko.get("Usage: sdvisor COMMAND [OPTIONS]")
        p = run(["--help"], "ko_KR.UTF-8", extra)
        check(usage and p.returncode == 0 and usage in p.stdout, "LANG=ko_KR.UTF-8 sdvisor --help is Korean",
              p.stdout.splitlines()[:3])

        summary = ko.get("Validate a configuration file and print the effective configuration, "
                         "environment overrides applied.")
        p = run(["check", "--help"], "ko_KR.UTF-8", extra)
        check(summary and p.returncode == 0 and summary in p.stdout,
              "LANG=ko_KR.UTF-8 sdvisor check --help describes the command in Korean", p.stdout.splitlines()[:6])

        good = os.path.join(tmp, "good.conf")
        with open(good, "w") as f:
            f.write("[app]\nexec=/bin/true\n")
        os.chmod(good, 0o644)
        header = ko.get("effective configuration (defaults, file, environment overrides)")
        p = run(["check", good], "ko_KR.UTF-8", extra)
        check(header and p.returncode == 0 and ("# %s" % header) in p.stdout,
              "LANG=ko_KR.UTF-8 sdvisor check good.conf prints its header in Korean", p.stdout.splitlines()[:2])
    return finish()


sys.exit(main())
