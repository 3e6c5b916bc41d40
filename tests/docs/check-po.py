#!/usr/bin/env python3
"""check-po.py — the translation files are complete.

usage: check-po.py SRCDIR          Prints TAP.

  - po/POTFILES lists every source file that marks strings for translation (_(),
    N_(), C_(), NC_(), g_dngettext()…), and every file it lists exists and marks some;
  - po/LINGUAS has ko, and each language it lists has its po/LL.po;
  - each po/LL.po is valid (msgfmt --check: formats agree with the msgid's) and
    complete: every message xgettext finds in the POTFILES sources today has a
    translation that is neither missing nor fuzzy (msgcmp). A string added to the
    code without its Korean fails here; `meson compile -C BUILD sdvisor-update-po`
    brings the new msgids into ko.po to be translated;
  - and has no stale entry: every message it translates (obsolete `#~` entries
    aside) is still in the sources. A message reworded in the code leaves its old
    msgid behind, translated, where msgcmp does not look; `sdvisor-update-po` marks
    such entries `#~`, or delete them.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from tap import check, finish, results

SRC = sys.argv[1]
# meson's i18n preset 'glib' (mesonbuild/modules/i18n.py), as `sdvisor-pot` runs it.
XGETTEXT_ARGS = [
    "--from-code=UTF-8", "--add-comments", "--keyword=_", "--keyword=N_", "--keyword=C_:1c,2",
    "--keyword=NC_:1c,2", "--keyword=g_dcgettext:2", "--keyword=g_dngettext:2,3",
    "--keyword=g_dpgettext2:2c,3", "--flag=N_:1:pass-c-format", "--flag=C_:2:pass-c-format",
    "--flag=NC_:2:pass-c-format", "--flag=g_dngettext:2:pass-c-format",
    "--flag=g_strdup_printf:1:c-format", "--flag=g_string_printf:2:c-format",
    "--flag=g_string_append_printf:2:c-format", "--flag=g_error_new:3:c-format",
    "--flag=g_set_error:4:c-format", "--flag=g_print:1:c-format", "--flag=g_printerr:1:c-format",
]
MARK = re.compile(r"(?<![A-Za-z0-9_])(?:_|N_|C_|NC_|Q_|g_dngettext|g_dpgettext2|g_dcgettext|ngettext)\s*\(")


def strip_comments_and_strings(text):
    """C source without comments and string/char literals, so that a comment saying
    "mark it with _()" does not count as a marked string."""
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'',
                  lambda m: " " if m.group(0).startswith("/") else '""', text, flags=re.S)


def messages(text):
    """The (msgctxt, msgid) of every entry of a .po/.pot text, the header and obsolete
    (#~) entries left out; continued strings joined."""
    out, ctxt, cur, field = set(), None, None, None

    def flush():
        if cur is not None and cur != "":
            out.add((ctxt, cur))

    for line in text.splitlines():
        m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
        if m:
            if m.group(1) == "msgctxt":
                flush()
                ctxt, cur, field = m.group(2), None, "msgctxt"
            elif m.group(1) == "msgid":
                if field != "msgctxt":
                    flush()
                    ctxt = None
                cur, field = m.group(2), "msgid"
            else:
                field = "other"
        elif line.startswith('"') and field == "msgid":
            cur += line[1:-1]
        elif line.startswith('"') and field == "msgctxt":
            ctxt += line[1:-1]
        elif not line.strip():
            flush()
            ctxt, cur, field = None, None, None
    flush()
    return out


def list_file(path):
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]


def main():
    potfiles = list_file(os.path.join(SRC, "po", "POTFILES"))

    marking = []
    for top in ("src",):
        for dirpath, _, files in os.walk(os.path.join(SRC, top)):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    if MARK.search(strip_comments_and_strings(f.read())):
                        marking.append(os.path.relpath(path, SRC))
    missing = sorted(set(marking) - set(potfiles))
    check(marking and not missing, "po/POTFILES lists every source file that marks strings for translation",
          ["%s marks strings but is not in po/POTFILES" % m for m in missing])

    stale = []
    for p in potfiles:
        full = os.path.join(SRC, p)
        if not os.path.exists(full):
            stale.append("%s is in po/POTFILES but does not exist" % p)
        elif p not in marking and p.endswith((".c", ".h")):
            stale.append("%s is in po/POTFILES but marks no string" % p)
    check(not stale, "every file in po/POTFILES exists and marks strings", stale)

    linguas = []
    for line in list_file(os.path.join(SRC, "po", "LINGUAS")):
        linguas += line.split()
    no_po = [l for l in linguas if not os.path.exists(os.path.join(SRC, "po", l + ".po"))]
    check("ko" in linguas and not no_po, "po/LINGUAS lists ko, and every language listed has its .po",
          ["LINGUAS: %s" % linguas] + ["po/%s.po is missing" % l for l in no_po])

    tools = {t: shutil.which(t) for t in ("xgettext", "msgfmt", "msgcmp", "msgattrib")}
    if not all(tools.values()):
        for lang in linguas:
            results.append((True, "po/%s.po # SKIP gettext tools are not installed (apt-get install gettext)" % lang, []))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            pot = os.path.join(tmp, "sdvisor.pot")
            x = subprocess.run([tools["xgettext"], "--package-name=sdvisor", "-D", SRC, "-o", pot]
                               + XGETTEXT_ARGS + [p for p in potfiles if os.path.exists(os.path.join(SRC, p))],
                               capture_output=True, text=True)
            check(x.returncode == 0 and os.path.exists(pot), "xgettext extracts the messages of po/POTFILES",
                  x.stderr.splitlines())
            for lang in linguas:
                po = os.path.join(SRC, "po", lang + ".po")
                if not os.path.exists(po) or not os.path.exists(pot):
                    continue
                f = subprocess.run([tools["msgfmt"], "--check", "-o", os.devnull, po], capture_output=True, text=True)
                check(f.returncode == 0, "po/%s.po is valid (msgfmt --check)" % lang, f.stderr.splitlines())
                c = subprocess.run([tools["msgcmp"], po, pot], capture_output=True, text=True)
                # msgcmp names the .pot's line numbers; say which messages instead.
                done = subprocess.run([tools["msgattrib"], "--translated", "--no-fuzzy", "--no-wrap", po],
                                      capture_output=True, text=True).stdout
                wanted = subprocess.run([tools["msgattrib"], "--no-wrap", pot], capture_output=True, text=True).stdout
                have = set(re.findall(r'^msgid "(.+)"$', done, re.M))
                lines = ['not translated: "%s"' % m for m in re.findall(r'^msgid "(.+)"$', wanted, re.M)
                         if m not in have] or c.stderr.splitlines()
                check(c.returncode == 0,
                      "po/%s.po translates every message of the sources (none missing, none fuzzy)" % lang,
                      lines[:40] + (["… %d more" % (len(lines) - 40)] if len(lines) > 40 else []))
                stale = sorted(messages(subprocess.run([tools["msgattrib"], "--no-obsolete", "--no-wrap", po],
                                                       capture_output=True, text=True).stdout)
                               - messages(wanted), key=lambda m: m[1])
                check(wanted and not stale,
                      "po/%s.po has no stale message: each one it translates is still in the sources" % lang,
                      ['not in the sources any more: %s"%s"' % ("[%s] " % c if c else "", m) for c, m in stale])
                u2 = subprocess.run([tools["msgattrib"], "--untranslated", po], capture_output=True, text=True)
                left = re.findall(r'^msgid "(.+)"$', u2.stdout, re.M)
                check(not left, "po/%s.po has no untranslated entry" % lang, ["untranslated: %s" % m for m in left])

    return finish()


sys.exit(main())
