#!/usr/bin/env python3
"""check-man-keys.py — sdvisor.conf(5) and sdvisor(1) agree with the code.

usage: check-man-keys.py SRCDIR [SDVISOR]          Prints TAP.

sdvisor.conf(5) against the schema tables of src/config/config.c, both directions:
  - every group of the code has a section in the page, and every [group] section of
    the page is a group of the code;
  - every key of the code has an entry in its group's section, and every entry is a
    key of the code;
  - each entry's summary line ("Type: … Default: … Reload: … Environment: …") agrees
    with the code: the type (with range or choices), the default (or "required"),
    the override variable SDVISOR_<GROUP>_<KEY>; Reload is one of the words the page
    defines.
The table parser is checked against the built binary where one is given: the
defaults `sdvisor check` prints are the ones read from the source.

sdvisor(1) against src/cli/main.c and src/exit-codes.h, code → page: every command and
every long option of main.c is documented, and every exit status of exit-codes.h has
an entry under EXIT STATUS. completion/sdvisor offers every long option of every
command.
"""
import os
import re
import subprocess
import sys
import tempfile

from tap import check, finish

SRC = sys.argv[1]
SDVISOR = sys.argv[2] if len(sys.argv) > 2 else None


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


# ---- the schema, from src/config/config.c ---------------------------------------------------


def macro_calls(body, names):
    """(macro, [args]) for each call of one of NAMES in BODY, parentheses matched and
    arguments split at top-level commas outside string literals."""
    calls = []
    for m in re.finditer(r"\b(%s)\(" % "|".join(names), body):
        i, depth, args, cur, in_str = m.end(), 1, [], "", False
        while depth > 0:
            c = body[i]
            if in_str:
                cur += c
                if c == "\\":
                    cur += body[i + 1]
                    i += 1
                elif c == '"':
                    in_str = False
            elif c == '"':
                in_str = True
                cur += c
            elif c == "(":
                depth += 1
                cur += c
            elif c == ")":
                depth -= 1
                if depth > 0:
                    cur += c
            elif c == "," and depth == 1:
                args.append(cur.strip())
                cur = ""
            else:
                cur += c
            i += 1
        args.append(cur.strip())
        calls.append((m.group(1), args))
    return calls


def c_string(token):
    if token == "NULL":
        return None
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', token)
    if not parts:
        raise ValueError("not a string literal: %r" % token)
    return "".join(parts)


def c_int(token):
    if not re.fullmatch(r"[0-9 *+()]+", token):
        raise ValueError("not a constant expression: %r" % token)
    return int(eval(token, {"__builtins__": {}}))  # digits and * + ( ) only


def parse_schema(text):
    choices = {}
    for m in re.finditer(r"static const char \*const (\w+)\[\] = \{([^}]*)\};", text):
        choices[m.group(1)] = [c_string(t) for t in m.group(2).split(",") if t.strip() not in ("NULL", "")]

    tables = {}
    unknown_rows = []
    for m in re.finditer(r"static const SvKeySpec (\w+)\[\] = \{(.*?)\n\};", text, re.S):
        name, body = m.group(1), m.group(2)
        keys = []
        calls = macro_calls(body, ["APP_KEY", "KEY_REQ", "KEY_ENUM", "KEY_RANGE", "KEY"])
        for macro, a in calls:
            k = {"required": False, "choices": None, "range": None}
            if macro == "APP_KEY":
                k.update(name=c_string(a[0]), type=a[1], default=c_string(a[2]), required=a[4] == "TRUE")
            elif macro == "KEY":
                k.update(name=c_string(a[1]), type=a[2], default=c_string(a[3]))
            elif macro == "KEY_REQ":
                k.update(name=c_string(a[1]), type=a[2], default=None, required=True)
            elif macro == "KEY_ENUM":
                k.update(name=c_string(a[1]), type="SV_KEY_ENUM", default=c_string(a[2]), choices=choices[a[4]])
            elif macro == "KEY_RANGE":
                k.update(name=c_string(a[1]), type=a[2], default=c_string(a[3]), range=(c_int(a[5]), c_int(a[6])))
            keys.append(k)
        # Every row of the table must have been understood: count its rows by their
        # closing "),", "}," or ")" at the end of a line.
        rows = len(re.findall(r"\)\s*,?\s*(?:\n|$)", body))
        if rows != len(keys):
            unknown_rows.append("%s: %d rows, %d understood" % (name, rows, len(keys)))
        tables[name] = keys

    groups = []
    gm = re.search(r"static const SvGroupSpec groups\[\] = \{(.*?)\n\};", text, re.S)
    for m in re.finditer(r'\{"(\w+)",\s*(TRUE|FALSE),\s*(\w+),', gm.group(1) if gm else ""):
        groups.append({"name": m.group(1), "sectioned": m.group(2) == "TRUE", "keys": tables.get(m.group(3), [])})
    return groups, unknown_rows


def override_name(group, key):
    return re.sub(r"[-:.]", "_", ("SDVISOR_%s_%s" % (group, key)).upper())


def size_text(n):
    if n % (1024 * 1024) == 0:
        return "%dM" % (n // (1024 * 1024))
    return "%d bytes" % n


TYPE_WORDS = {
    "SV_KEY_STRING": "string",
    "SV_KEY_PATH": "absolute path",
    "SV_KEY_ARGV": "command line",
    "SV_KEY_ENVLIST": "environment assignments",
    "SV_KEY_TIMESPAN": "time span",
    "SV_KEY_SIGNAL": "signal",
    "SV_KEY_SIGNALS": "signal list",
    "SV_KEY_BOOL": "boolean",
    "SV_KEY_PRIORITY": "priority",
    "SV_KEY_CHECKS": "check list",
    "SV_KEY_EVENTS": "event list",
    "SV_KEY_FIELDS": "journal field assignments",
    "SV_KEY_TIMEZONE": "time zone",
    "SV_KEY_SCHEDULE": "schedule",
    "SV_KEY_STORE": "store URI",
    "SV_KEY_LISTEN": "address list",
    "SV_KEY_MODE": "file mode",
}


def expected_type(k):
    t = k["type"]
    if t == "SV_KEY_ENUM":
        return "one of " + ", ".join(k["choices"])
    if t == "SV_KEY_UINT":
        return "integer from %d to %d" % k["range"]
    if t == "SV_KEY_SIZE":
        return "size from %s to %s" % (size_text(k["range"][0]), size_text(k["range"][1]))
    return TYPE_WORDS.get(t)


# ---- sdvisor.conf(5), from its scdoc source ------------------------------------------

SUMMARY = re.compile(
    r"^\tType: (?P<type>.+?)\. Default: (?P<default>.+?)\. Reload: (?P<reload>\S+)\. "
    r"Environment: \*(?P<env>[A-Za-z0-9_\\]+)\*\.$"
)


def parse_page(text):
    sections = {}  # "app" / "hook:NAME" → {key: [summary dicts]}
    problems = []
    group = key = None
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.startswith("#"):
            m = re.fullmatch(r"# \[([a-z]+(?::NAME)?)\]", line)
            group = m.group(1) if m else None
            key = None
            if group is not None:
                sections.setdefault(group, {})
            continue
        if group is None:
            continue
        m = re.match(r"\*([a-z0-9-]+)=", line)
        if m:
            key = m.group(1)
            if key in sections[group]:
                problems.append("line %d: [%s] %s is described twice" % (lineno, group, key))
            sections[group][key] = []
            continue
        if line.startswith("\tType:"):
            s = SUMMARY.match(line)
            if key is None:
                problems.append("line %d: a summary line outside of any key" % lineno)
            elif s is None:
                problems.append("line %d: [%s] %s: summary line not in the form "
                                "'Type: T. Default: D. Reload: R. Environment: *VAR*.'" % (lineno, group, key))
            else:
                d = s.groupdict()
                d["env"] = d["env"].replace("\\", "")
                sections[group][key].append(d)
    return sections, problems


def main():
    config_c = read("src/config/config.c")
    groups, unknown_rows = parse_schema(config_c)
    check(groups and all(g["keys"] for g in groups) and not unknown_rows,
          "the schema tables of src/config/config.c can be read",
          ["groups: %s" % [g["name"] for g in groups]] + unknown_rows)

    page_text = read("man/sdvisor.conf.5.scd")
    sections, problems = parse_page(page_text)
    check(not problems, "sdvisor.conf(5): every key entry is well formed", problems)

    code_groups = {(g["name"] + ":NAME" if g["sectioned"] else g["name"]): g for g in groups}
    missing = sorted(set(code_groups) - set(sections))
    extra = sorted(set(sections) - set(code_groups))
    check(not missing, "every group of the code has a section in sdvisor.conf(5)",
          ["in the code but not in sdvisor.conf(5): [%s]" % g for g in missing])
    check(not extra, "every [group] section of sdvisor.conf(5) is a group of the code",
          ["in sdvisor.conf(5) but not in the code: [%s]" % g for g in extra])

    for gname, g in code_groups.items():
        documented = sections.get(gname, {})
        code_keys = {k["name"]: k for k in g["keys"]}
        missing = sorted(set(code_keys) - set(documented))
        extra = sorted(set(documented) - set(code_keys))
        check(not missing, "[%s]: every key of the code is in sdvisor.conf(5)" % gname,
              ["in the code but not in sdvisor.conf(5): [%s] %s" % (gname, k) for k in missing])
        check(not extra, "[%s]: every key in sdvisor.conf(5) is a key of the code" % gname,
              ["in sdvisor.conf(5) but not in the code: [%s] %s" % (gname, k) for k in extra])

        wrong = []
        for kname in sorted(set(code_keys) & set(documented)):
            k, summaries = code_keys[kname], documented[kname]
            where = "[%s] %s" % (gname, kname)
            if len(summaries) != 1:
                wrong.append("%s: %d summary lines, want 1" % (where, len(summaries)))
                continue
            s = summaries[0]
            want_type = expected_type(k)
            if want_type is None:
                wrong.append("%s: type %s has no word here yet (add it to TYPE_WORDS)" % (where, k["type"]))
            elif not (s["type"] == want_type or s["type"].startswith(want_type + " (")):
                wrong.append("%s: Type is '%s', the code says '%s'" % (where, s["type"], want_type))
            if k["required"]:
                if s["default"] != "required":
                    wrong.append("%s: Default is '%s', the key is required" % (where, s["default"]))
            elif k["default"] is not None:
                if s["default"] != "*%s*" % k["default"]:
                    wrong.append("%s: Default is '%s', the code says '*%s*'" % (where, s["default"], k["default"]))
            elif s["default"].startswith("*") or s["default"] == "required":
                wrong.append("%s: Default is '%s', the code has none (say what happens instead)"
                             % (where, s["default"]))
            if s["reload"] not in ("applied", "restart", "shrink"):
                wrong.append("%s: Reload is '%s', not applied, restart or shrink" % (where, s["reload"]))
            want_env = override_name(gname, kname)
            if s["env"] != want_env:
                wrong.append("%s: Environment is %s, the code reads %s" % (where, s["env"], want_env))
        check(not wrong, "[%s]: type, default, reload and variable of each key agree with the code" % gname,
              wrong)

    # The parser of this script against the binary: the defaults `check` prints.
    if SDVISOR:
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "all.conf")
            with open(conf, "w") as f:
                f.write("[app]\nexec=/bin/true\n[hook:h]\nwhen=pre-start\nexec=/bin/true\n"
                        "[job:j]\nschedule=@daily\nexec=/bin/true\n")
            os.chmod(conf, 0o644)
            env = {k: v for k, v in os.environ.items() if not k.startswith("SDVISOR_")}
            p = subprocess.run([SDVISOR, "check", conf], capture_output=True, text=True, env=env)
        printed, group = {}, None
        for line in p.stdout.splitlines():
            m = re.fullmatch(r"\[(.+)\]", line)
            if m:
                group = {"hook:h": "hook:NAME", "job:j": "job:NAME"}.get(m.group(1), m.group(1))
            elif group and "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                printed[(group, k)] = v
        want = {}
        for gname, g in code_groups.items():
            for k in g["keys"]:
                if k["default"] is not None:
                    want[(gname, k["name"])] = k["default"]
        diff = ["%s %s: check prints %r, the source says %r" % (g, k, printed.get((g, k)), v)
                for (g, k), v in sorted(want.items()) if printed.get((g, k)) != v]
        check(p.returncode == 0 and not diff, "the defaults read from src/config/config.c are those `sdvisor check` prints",
              diff + ([p.stderr.strip()] if p.returncode else []))

    # ---- sdvisor(1) ----
    page1 = read("man/sdvisor.1.scd")
    main_c = read("src/cli/main.c")
    table = re.search(r"static const SvCommand commands\[\] = \{(.*?)\n\};", main_c, re.S)
    commands = re.findall(r'^\s*\{"([a-z-]+)",', table.group(1), re.M) if table else []
    commands_section = re.search(r"^# COMMANDS\n(.*?)^# ", page1, re.S | re.M)
    documented = set(re.findall(r"^\*([a-z-]+)\*", commands_section.group(1), re.M)) if commands_section else set()
    check(commands and set(commands) <= documented, "every command of src/cli/main.c is in sdvisor(1) COMMANDS",
          ["not documented: %s" % c for c in commands if c not in documented] or ["commands: %s" % commands])

    options = set(re.findall(r'\{"([a-z][a-z-]*)",\s*\'?[a-zA-Z0-9\\]*\'?,\s*0,\s*G_OPTION_ARG', main_c))
    options |= {"help", "version"}
    options_section = re.search(r"^# OPTIONS\n(.*?)^# ", page1, re.S | re.M)
    doc_options = set(re.findall(r"\*--([a-z-]+)\*", options_section.group(1))) if options_section else set()
    check(len(options) > 2 and options <= doc_options, "every long option of src/cli/main.c is in sdvisor(1) OPTIONS",
          ["not documented: --%s" % o for o in sorted(options - doc_options)])

    # The bash completion offers each command's long options (commands themselves are
    # checked by test-completion.sh, which runs the completion).
    completion = read("completion/sdvisor")
    offered = {m.group(1): set(m.group(2).split())
               for m in re.finditer(r'^\s*([a-z-]+)\) opts="([^"]*)"', completion, re.M)}
    funcs = dict(re.findall(r'\{"([a-z-]+)",\s*N_\([^)]*\),\s*(\w+)\}', table.group(1))) if table else {}
    not_offered = []
    for cmd, func in sorted(funcs.items()):
        body = re.search(r"^%s\(int argc, char \*\*argv\)\n\{(.*?)^\}" % func, main_c, re.S | re.M)
        longs = re.findall(r'\{"([a-z][a-z-]*)",\s*\'?[a-zA-Z0-9\\]*\'?,\s*0,\s*G_OPTION_ARG', body.group(1)) if body else []
        for o in longs + ["help"]:
            if "--" + o not in offered.get(cmd, set()):
                not_offered.append("sdvisor %s --%s" % (cmd, o))
    check(funcs and not not_offered, "the bash completion offers every long option of every command",
          not_offered)

    # Each command's arguments (the placeholder of its G_OPTION_REMAINING entry: [JOB…],
    # [FILE]) are in its SYNOPSIS lines (`man sdvisor` once left JOB out of `jobs`).
    synopsis = re.search(r"^# SYNOPSIS\n(.*?)^# ", page1, re.S | re.M)
    synopsis = synopsis.group(1) if synopsis else ""
    missing_args = []
    for cmd, func in sorted(funcs.items()):
        body = re.search(r"^%s\(int argc, char \*\*argv\)\n\{(.*?)^\}" % func, main_c, re.S | re.M)
        rest = re.search(r'G_OPTION_REMAINING[^}]*N_\("([^"]*)"\)', body.group(1)) if body else None
        lines = " ".join(l for l in synopsis.splitlines() if l.startswith("*sdvisor %s*" % cmd))
        for word in re.findall(r"[A-Z]{2,}", rest.group(1)) if rest else []:
            if "_%s_" % word not in lines:
                missing_args.append("sdvisor %s: _%s_ not in its SYNOPSIS line" % (cmd, word))
    check(funcs and not missing_args, "each command's SYNOPSIS names its arguments", missing_args)

    codes = {int(n) for n in re.findall(r"SV_EXIT_\w+\s*=\s*(\d+)", read("src/exit-codes.h"))}
    exit_section = re.search(r"^# EXIT STATUS\n(.*?)^# ", page1, re.S | re.M)
    doc_codes = {int(n) for n in re.findall(r"^\*(\d+)\*$", exit_section.group(1), re.M)} if exit_section else set()
    check(codes and codes <= doc_codes, "every exit status of src/exit-codes.h is in sdvisor(1) EXIT STATUS",
          ["not documented: %d" % c for c in sorted(codes - doc_codes)])

    return finish()


sys.exit(main())
