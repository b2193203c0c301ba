#!/usr/bin/python3
"""A real SMTP server on loopback that stores what it receives, for tests.

Usage: /usr/bin/python3 tests/tools/smtp_sink.py --port N --dir DIR [--exit-on-stdin-eof]

Each message accepted is written to DIR/<n>.eml (n = 1, 2, ...), preceded by
two headers recording the SMTP envelope: X-Envelope-From and X-Envelope-To.
A file appears under its final name only once complete (written to a hidden
temporary name, then renamed). Prints "ready" on stdout once listening, then
runs until killed. With --exit-on-stdin-eof it also exits when its standard
input closes, so a crashed test cannot leave it behind.

Needs Debian's python3-aiosmtpd, hence /usr/bin/python3.
"""

import argparse
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            number = self.count
        final = os.path.join(self.directory, f"{number}.eml")
        temporary = os.path.join(self.directory, f".{number}.eml.tmp")
        header = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8", "surrogateescape")
        content = envelope.original_content or b""
        with open(temporary, "wb") as out:
            out.write(header)
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, final)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Sink(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print("ready", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.exit_on_stdin_eof:
        def watch_stdin():
            # os.read, not sys.stdin: a buffered reader blocked in a daemon
            # thread makes interpreter shutdown abort.
            while os.read(sys.stdin.fileno(), 4096):
                pass
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()
    while not stop.wait(1.0):
        pass
    controller.stop()


if __name__ == "__main__":
    main()
