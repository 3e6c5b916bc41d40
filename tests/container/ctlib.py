#!/usr/bin/python3
"""ctlib.py — the container suite's helpers that are easier in Python than in shell.

On the host:
    ctlib.py notify-recv SOCKET LOG
        bind a datagram socket at SOCKET (what podman gets as NOTIFY_SOCKET) and append
        one JSON line per datagram to LOG: {"t": CLOCK_MONOTONIC seconds, "pid": sender,
        "data": text}. Runs until killed.
    ctlib.py journal-recv SOCKET LOG
        the same for journald's native protocol: one JSON line per entry,
        {"t": …, "fields": {NAME: VALUE or [VALUE, …]}}; entries passed as a memfd
        (SCM_RIGHTS, what sd_journal_sendv does with a large entry) are read too.
    ctlib.py wait LOG SECONDS PATTERN
        wait until LOG has a datagram whose data matches the regex PATTERN; print its "t".
    ctlib.py free-port
        a TCP port on 127.0.0.1 that nothing listens on now.
    ctlib.py now
        CLOCK_MONOTONIC in seconds (the clock the receivers stamp with).
    ctlib.py quadlet-check FILE
        parse a quadlet .container file as systemd does (sections, comments, continuation
        lines) and check it: known sections, [Container] keys that podman 4.5's quadlet
        knows, every key line explained by a comment right above it. Prints problems,
        exit 1 if any; prints the keys as JSON on success.
    ctlib.py quadlet-args FILE [HOST-PATH=REPLACEMENT...]
        the `podman run` arguments quadlet makes of the [Container] section, one per line,
        for running the example here: Image= is left out (the caller adds --rootfs),
        PublishPort= too (the tests use the host network), host paths in Volume= and the
        program in Exec= are replaced as given. A key it does not know is an error, so a
        new key in the example gets a translation here.

Inside a container (as /srv/ct/ctlib.py):
    ctlib.py notify-send [DELAY]
        send each message of RELAY_PROBES to $NOTIFY_SOCKET, one datagram each, DELAY
        seconds apart; print "INDEX\\tt" per message sent (for conmon-relay.sh).
    ctlib.py zombies
        list the zombies in this pid namespace ("PID PPID COMM"); exit 1 if any.
    ctlib.py double-fork N SECONDS FILE
        the app of the orphan test: N times, fork a child that forks a grandchild and
        exits at once; the parent reaps the child, so only the grandchild is orphaned
        (re-parented to PID 1). Each grandchild appends "PID PPID" to FILE once it has
        seen its parent go, lives SECONDS, and exits. Then sleeps until killed.
    ctlib.py status-then-serve PORT SECONDS
        an app that sends STATUS=… with the text "READY=1" in it to its NOTIFY_SOCKET
        (sdvisor's proxy), waits SECONDS, then answers 200 to every GET on
        127.0.0.1:PORT.
"""
import json
import os
import re
import select
import signal
import socket
import struct
import sys
import time

# What conmon-relay.sh sends from inside a container, in order. Each is one datagram;
# the name is what the table in docs/containers.md calls it.
RELAY_PROBES = [
    ("READY=1", "READY=1"),
    ("STATUS=", "STATUS=probe status"),
    ("STOPPING=1", "STOPPING=1"),
    ("WATCHDOG=1", "WATCHDOG=1"),
    ("WATCHDOG=trigger", "WATCHDOG=trigger"),
    ("RELOADING=1 + MONOTONIC_USEC=", "RELOADING=1\nMONOTONIC_USEC=%(mono)d"),
    ("EXTEND_TIMEOUT_USEC=", "EXTEND_TIMEOUT_USEC=5000000"),
    ("WATCHDOG_USEC=", "WATCHDOG_USEC=20000000"),
    ("MAINPID=", "MAINPID=4242"),
    ("ERRNO=", "ERRNO=5"),
    ("BUSERROR=", "BUSERROR=org.example.Error"),
    ("FDSTORE=1 (no fd)", "FDSTORE=1\nFDNAME=probe"),
    ("BARRIER=1 (no fd)", "BARRIER=1"),
    ("X_CUSTOM=", "X_SDVISOR_PROBE=1"),
    ("READY=1 + STATUS= in one datagram", "READY=1\nSTATUS=ready and running"),
    ("STATUS= whose text contains READY=1", "STATUS=waiting for the app's READY=1"),
    ("STATUS= whose text contains WATCHDOG=1", "STATUS=no WATCHDOG=1 yet"),
]


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def bind_dgram(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    s.bind(path + ".tmp")
    os.chmod(path + ".tmp", 0o777)  # anyone in the container may write, as with journald's
    os.rename(path + ".tmp", path)  # the path appears only once it is bound
    return s


def receive(s):
    """One datagram: (bytes, sender pid or None, [fds])."""
    fds = []
    data, anc, _flags, _addr = s.recvmsg(
        256 * 1024, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(16 * 4))
    pid = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            n = len(payload) // 4
            fds.extend(struct.unpack("%di" % n, payload[: n * 4]))
    return data, pid, fds


def append(log, record):
    with open(log, "a") as f:
        f.write(json.dumps(record) + "\n")


def notify_recv(path, log):
    s = bind_dgram(path)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        data, pid, fds = receive(s)
        for fd in fds:
            os.close(fd)
        append(log, {"t": now(), "pid": pid, "data": data.decode("utf-8", "replace")})


def parse_native(buf):
    """journald's native protocol: NAME=VALUE\\n, or NAME\\n + le64 size + VALUE + \\n."""
    fields = {}
    i = 0
    while i < len(buf):
        nl = buf.find(b"\n", i)
        if nl < 0:
            raise ValueError("entry does not end in a newline")
        eq = buf.find(b"=", i, nl)
        if eq >= 0:
            name, value = buf[i:eq], buf[eq + 1 : nl]
            i = nl + 1
        else:
            name = buf[i:nl]
            (size,) = struct.unpack("<Q", buf[nl + 1 : nl + 9])
            value = buf[nl + 9 : nl + 9 + size]
            if buf[nl + 9 + size : nl + 10 + size] != b"\n":
                raise ValueError("binary field %r does not end in a newline" % name)
            i = nl + 10 + size
        name = name.decode("ascii", "replace")
        if not re.fullmatch(r"[A-Z0-9_]+", name) or name[0].isdigit():
            raise ValueError("bad field name %r" % name)
        value = value.decode("utf-8", "replace")
        if name in fields:
            old = fields[name]
            fields[name] = (old if isinstance(old, list) else [old]) + [value]
        else:
            fields[name] = value
    return fields


def journal_recv(path, log):
    s = bind_dgram(path)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        data, pid, fds = receive(s)
        record = {"t": now(), "pid": pid}
        try:
            if fds:
                # A sealed memfd with the whole entry, and an empty datagram.
                with os.fdopen(fds[0], "rb") as f:
                    data = f.read()
                record["memfd"] = True
                for fd in fds[1:]:
                    os.close(fd)
            record["fields"] = parse_native(data)
        except ValueError as e:
            record["error"] = str(e)
            record["raw"] = data[:4096].decode("utf-8", "replace")
        append(log, record)


def records(log):
    try:
        with open(log) as f:
            lines = f.readlines()
    except FileNotFoundError:
        return []
    return [json.loads(l) for l in lines if l.endswith("\n")]


def wait(log, seconds, pattern):
    deadline = now() + float(seconds)
    rx = re.compile(pattern, re.M)
    while True:
        for r in records(log):
            if rx.search(r.get("data", "")):
                print("%.6f" % r["t"])
                return 0
        if now() > deadline:
            return 1
        time.sleep(0.02)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def notify_send(delay):
    path = os.environ["NOTIFY_SOCKET"]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for i, (_name, text) in enumerate(RELAY_PROBES):
        text = text % {"mono": int(now() * 1e6)} if "%(" in text else text
        print("%d\t%.6f" % (i, now()), flush=True)
        s.sendto(text.encode(), path)
        time.sleep(delay)


def zombies():
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid …; comm may hold spaces and parentheses.
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if state == "Z":
            found.append("%s %s %s" % (entry, ppid, comm))
    for z in found:
        print(z)
    return 1 if found else 0


def double_fork(n, seconds, path):
    for _ in range(int(n)):
        child = os.fork()
        if child == 0:
            middle = os.getpid()
            if os.fork() == 0:
                while os.getppid() == middle:  # until the middle child is gone
                    time.sleep(0.01)
                with open(path, "a") as f:
                    f.write("%d %d\n" % (os.getpid(), os.getppid()))
                time.sleep(float(seconds))
                os._exit(0)
            os._exit(0)
        os.waitpid(child, 0)
    print("double-fork: %s orphans made" % n, flush=True)
    while True:
        time.sleep(60)


# [Container] keys of podman 4.5's quadlet (pkg/systemd/quadlet/quadlet.go, v4.5.0), the
# first version with PodmanArgs=; later versions only add keys.
QUADLET_CONTAINER_KEYS = set("""
AddCapability AddDevice Annotation ContainerName DropCapability Environment
EnvironmentFile EnvironmentHost Exec ExposeHostPort Group HealthCmd HealthInterval
HealthOnFailure HealthRetries HealthStartPeriod HealthStartupCmd HealthStartupInterval
HealthStartupRetries HealthStartupSuccess HealthStartupTimeout HealthTimeout HostName IP
IP6 Image Label LogDriver Mount Network NoNewPrivileges Notify PodmanArgs PublishPort
ReadOnly RemapGid RemapUid RemapUidSize RemapUsers Rootfs RunInit SeccompProfile Secret
SecurityLabelDisable SecurityLabelFileType SecurityLabelLevel SecurityLabelType Timezone
Tmpfs User UserNS VolatileTmp Volume WorkingDir
""".split())
QUADLET_SECTIONS = {"Unit", "Container", "Service", "Install"}


def parse_unit(path):
    """[(section, key, value, lineno, explained)] as systemd reads a unit file; explained:
    a comment line comes right before the key (or before its section header's key run)."""
    entries, section, explained, pending = [], None, False, None
    for lineno, raw in enumerate(open(path), 1):
        line = raw.rstrip("\n")
        if pending is not None:
            key, value, start, expl = pending
            if line.endswith("\\"):
                pending = (key, value + " " + line[:-1].strip(), start, expl)
                continue
            entries.append((section, key, (value + " " + line.strip()).strip(), start, expl))
            pending = None
            explained = False
            continue
        stripped = line.strip()
        if not stripped:
            explained = False
            continue
        if stripped[0] in "#;":
            explained = True
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise ValueError("%s:%d: bad section header" % (path, lineno))
            section = stripped[1:-1]
            explained = False
            continue
        if "=" not in stripped:
            raise ValueError("%s:%d: not KEY=VALUE: %r" % (path, lineno, stripped))
        if section is None:
            raise ValueError("%s:%d: assignment before any section" % (path, lineno))
        key, value = stripped.split("=", 1)
        key, value = key.strip(), value.strip()
        if value.endswith("\\"):
            pending = (key, value[:-1].strip(), lineno, explained)
            continue
        entries.append((section, key, value, lineno, explained))
        explained = False
    return entries


def quadlet_check(path):
    problems = []
    try:
        entries = parse_unit(path)
    except ValueError as e:
        print(e)
        return 1
    for section, key, value, lineno, explained in entries:
        where = "%s:%d: [%s] %s=" % (path, lineno, section, key)
        if section not in QUADLET_SECTIONS:
            problems.append(where + ": section quadlet does not handle")
        elif section == "Container" and key not in QUADLET_CONTAINER_KEYS:
            problems.append(where + ": not a [Container] key of podman 4.5's quadlet")
        if not explained:
            problems.append(where + ": no comment right above it explains it")
    for p in problems:
        print(p)
    if problems:
        return 1
    keys = {}
    for section, key, value, _l, _e in entries:
        keys.setdefault("%s.%s" % (section, key), []).append(value)
    print(json.dumps(keys, sort_keys=True))
    return 0


def quadlet_args(path, *maps):
    import shlex
    replace = dict(m.split("=", 1) for m in maps)
    args, command, notify = [], [], "conmon"
    for section, key, value, lineno, _e in parse_unit(path):
        if section != "Container":
            continue
        if key == "Image" or key == "PublishPort":
            continue
        elif key == "Notify":
            notify = "container" if value.lower() in ("1", "yes", "true", "on") else "conmon"
        elif key == "Exec":
            command = shlex.split(value)
            command[0] = replace.get(command[0], command[0])
        elif key == "Volume":
            source, rest = value.split(":", 1)
            args.append("-v=%s:%s" % (replace.get(source, source), rest))
        elif key == "Environment":
            args.extend("-e=" + w for w in shlex.split(value))
        elif key == "PodmanArgs":
            args.extend(shlex.split(value))
        else:
            print("ctlib.py quadlet-args: %s:%d: no translation for %s=" % (path, lineno, key),
                  file=sys.stderr)
            return 1
    args.append("--sdnotify=" + notify)
    for a in args + ["--"] + command:
        print(a)
    return 0


def status_then_serve(port, seconds):
    import http.server
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"STATUS=loading, will send READY=1 when done", os.environ["NOTIFY_SOCKET"])
    time.sleep(float(seconds))
    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok\n")

    server = http.server.HTTPServer(("127.0.0.1", int(port)), Ok)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "notify-recv":
        notify_recv(*args)
    elif cmd == "journal-recv":
        journal_recv(*args)
    elif cmd == "wait":
        return wait(*args)
    elif cmd == "free-port":
        free_port()
    elif cmd == "now":
        print("%.6f" % now())
    elif cmd == "notify-send":
        notify_send(float(args[0]) if args else 0.25)
    elif cmd == "zombies":
        return zombies()
    elif cmd == "double-fork":
        double_fork(*args)
    elif cmd == "status-then-serve":
        status_then_serve(*args)
    elif cmd == "quadlet-check":
        return quadlet_check(*args)
    elif cmd == "quadlet-args":
        return quadlet_args(*args)
    else:
        print("ctlib.py: unknown command %s" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
