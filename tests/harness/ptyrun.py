"""Run a command on a pseudo-terminal, as a user at a shell would, and report what it showed.

    ptyrun.py [--answer PROMPT TEXT]... [--interrupt PROMPT] [--signal NAME] [--stop PROMPT]
              [--timeout S] -- CMD ARGS...

The command's stdin, stdout and stderr are the terminal. Everything it writes is copied to our
stdout. --answer types TEXT and a newline once PROMPT has been shown (typed input that arrives
before a prompt would be dropped when a program turns the echo off, as on a real terminal).
--interrupt sends SIGINT once PROMPT has been shown, then reports on stderr whether the
terminal's echo was off at the prompt ("echo at prompt: off") and whether it is on again once the
command has ended ("echo after: on"); --signal sends another signal instead (SIGQUIT,
SIGTERM, ...). --stop sends SIGTSTP (Ctrl-Z) once PROMPT has been shown and reports the echo
while the command is stopped ("echo while stopped: on"), then SIGCONT (fg) and the echo once it
goes on ("echo after fg: off"); the answers are typed after that. With --stop the command runs
in a process group of its own in our session (a stop needs a group that is not orphaned). Our
exit status is the command's (128 + N for signal N);
past --timeout seconds (default 60) the command is killed and we exit 124, so a program waiting
for input that never comes fails the test instead of hanging it.
"""
import argparse
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time


def echo_on(fd):
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def wait_state(pid, state, limit=5.0):
    """Wait until /proc/PID/stat shows STATE (T: stopped); False after `limit` seconds."""
    t_end = time.monotonic() + limit
    while time.monotonic() < t_end:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == state:
                    return True
        except OSError:
            return False
        time.sleep(0.01)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--answer", nargs=2, action="append", default=[], metavar=("PROMPT", "TEXT"))
    ap.add_argument("--interrupt", metavar="PROMPT")
    ap.add_argument("--signal", default="SIGINT", metavar="NAME")
    ap.add_argument("--stop", metavar="PROMPT")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")

    master, slave = pty.openpty()
    if a.stop:
        p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, preexec_fn=os.setpgrp)
    else:
        p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True)
    stopped = not a.stop
    answers = [(prompt.encode(), text.encode() + b"\n") for prompt, text in a.answer]
    out = b""
    interrupted = False
    deadline = time.monotonic() + a.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            p.kill()
            p.wait()
            sys.stdout.write(out.decode(errors="replace"))
            sys.stderr.write("ptyrun: no end after %g s: killed %s\n" % (a.timeout, cmd[0]))
            sys.exit(124)
        ready, _, _ = select.select([master], [], [], min(left, 0.5))
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                chunk = b""
            out += chunk
        elif p.poll() is not None:
            break
        if not stopped and a.stop.encode() in out:
            stopped = True
            p.send_signal(signal.SIGTSTP)
            if wait_state(p.pid, "T"):
                sys.stderr.write("echo while stopped: %s\n" % ("on" if echo_on(slave) else "off"))
            else:
                sys.stderr.write("ptyrun: not stopped by SIGTSTP\n")
            p.send_signal(signal.SIGCONT)
            t_end = time.monotonic() + 5
            while echo_on(slave) and time.monotonic() < t_end:
                time.sleep(0.02)
            sys.stderr.write("echo after fg: %s\n" % ("on" if echo_on(slave) else "off"))
            continue
        for i, (prompt, text) in enumerate(answers if stopped else []):
            if prompt in out:
                os.write(master, text)
                del answers[i]
                break
        if a.interrupt and not interrupted and a.interrupt.encode() in out:
            sys.stderr.write("echo at prompt: %s\n" % ("on" if echo_on(slave) else "off"))
            p.send_signal(getattr(signal, a.signal))
            interrupted = True
    rc = p.wait()
    if a.interrupt:
        sys.stderr.write("echo after: %s\n" % ("on" if echo_on(slave) else "off"))
    os.close(slave)
    os.close(master)
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit(128 - rc if rc < 0 else rc)


if __name__ == "__main__":
    main()
