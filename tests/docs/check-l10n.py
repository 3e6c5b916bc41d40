#!/usr/bin/env python3
"""check-l10n.py — `LANG=ko_KR.UTF-8 sdvisor check bad.conf` prints the Korean message.

Also Korean: `check`'s note on a value an environment variable set, and the error that
names that variable; the RESULT column of `sdvisor jobs` (while the state files keep
their English words), with the table's columns lined up in terminal cells, where a
Hangul syllable takes two.

usage: check-l10n.py SDVISOR LOCALEDIR SRCDIR          Prints TAP.

Runs the built binary with the build tree's compiled catalogs (LOCALEDIR holds
ko/LC_MESSAGES/sdvisor.mo; sdvisor binds its text domain there when SDVISOR_LOCALEDIR
says so) and expects, word for word, the message po/ko.po gives. The ko_KR.UTF-8
locale is the system's when it is generated; otherwise it is compiled here with
localedef into a temporary LOCPATH (needs the `locales` package's sources). Without
either the test is skipped, saying why.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata

from tap import check, finish

SDVISOR, LOCALEDIR, SRC = sys.argv[1:4]


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


def cells(text):
    """Terminal columns TEXT takes (East Asian wide and fullwidth characters take two)."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def write_state(state_dir, app, job, result, exit_code=None):
    """A finished run's state file, as jobstate.c's sv_job_record_serialize() writes it."""
    body = ("# sdvisor job state, replaced atomically by sdvisor: do not edit\n"
            "version=1\napp=%s\njob=%s\nslot=1767225600000000\nstate=done\nresult=%s\n"
            % (app, job, result))
    if exit_code is not None:
        body += "exit-code=%d\n" % exit_code
    body += ("run=0123456789abcdef0123456789abcdef\npid=4242\ninstance=fedcba9876543210\n"
             "host=docs-test\nboot-id=00000000000000000000000000000000\n"
             "started=1767225600000000\nduration=1500000\n")
    body += "checksum=sha256:%s\n" % hashlib.sha256(body.encode()).hexdigest()
    os.makedirs(os.path.join(state_dir, app), mode=0o755, exist_ok=True)
    with open(os.path.join(state_dir, app, job + ".state"), "w") as f:
        f.write(body)


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

        # An override: check's comment above the value, and an error naming the variable.
        note, var_word = ko.get(" from %s"), ko.get("environment variable %s")
        var = "SDVISOR_APP_STOP_TIMEOUT"
        p = run(["check", good], "ko_KR.UTF-8", dict(extra, **{var: "5s"}))
        check(note and p.returncode == 0 and ("#" + note % var) in p.stdout.splitlines(),
              "LANG=ko_KR.UTF-8 sdvisor check notes an environment override in Korean",
              ["want: #" + (note or "?") % var] + p.stdout.splitlines()[:6])
        p = run(["check", good], "ko_KR.UTF-8", dict(extra, **{var: "soon"}))
        check(var_word and p.returncode == 78 and (var_word % var) in p.stderr,
              "LANG=ko_KR.UTF-8: a bad override's error names its variable (not the file)",
              ["want: " + (var_word or "?") % var, "got (exit %d): %s" % (p.returncode, p.stderr.strip())])

        # sdvisor jobs: results in Korean, English in C, the table lined up either way.
        state = os.path.join(tmp, "state")
        os.mkdir(state, 0o755)
        jobs_conf = os.path.join(tmp, "jobs.conf")
        with open(jobs_conf, "w") as f:
            f.write("[app]\nname=docs\nexec=/bin/true\n\n"
                    "[job:slow]\nschedule=@daily\nexec=/bin/true\n\n"
                    "[job:broken]\nschedule=@daily\nexec=/bin/true\n\n"
                    "[job:fine]\nschedule=@daily\nexec=/bin/true\n")
        os.chmod(jobs_conf, 0o644)
        write_state(state, "docs", "slow", "timeout")
        write_state(state, "docs", "broken", "failed", 3)
        write_state(state, "docs", "fine", "success", 0)
        want = {"ko_KR.UTF-8": [ko.get("timeout"), (ko.get("failed (%d)") or "%d?") % 3, ko.get("success")],
                "C.UTF-8": ["timeout", "failed (3)", "success"]}
        for lang, results_wanted in want.items():
            p = run(["jobs", "--config", jobs_conf, "--state-directory", state], lang, extra)
            lines = p.stdout.splitlines()
            table = lines[1:]  # under "State directory: …"
            rows = {l.split()[0]: l for l in table[1:] if l.split()}
            got = [rows.get(j, "") for j in ("slow", "broken", "fine")]
            check(p.returncode == 0 and all(w and ("  " + w + "  ") in g for w, g in zip(results_wanted, got)),
                  "LANG=%s sdvisor jobs: the RESULT column reads %s" % (lang, ", ".join(map(str, results_wanted))),
                  ["exit %d" % p.returncode] + lines)
            # Where each header word starts, every row has a column start: two spaces
            # (at least) and then text, counted in terminal cells.
            header = table[0] if table else ""
            starts = [cells(header[:m.start()]) for m in re.finditer(r"(?<=  )\S", header)]
            misaligned = []
            for row in table[1:]:
                for col in starts:
                    text, width = "", 0
                    for c in row:
                        if width >= col:
                            break
                        text += c
                        width += cells(c)
                    if width != col or not text.endswith("  ") or row[len(text):len(text) + 1] in ("", " "):
                        misaligned.append("column at cell %d: %s" % (col, row))
            check(table and len(starts) == 7 and not misaligned,
                  "LANG=%s sdvisor jobs: every column starts where its header does" % lang,
                  misaligned + ["header: " + header] + lines)
    return finish()


sys.exit(main())
