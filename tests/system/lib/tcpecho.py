#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tcpecho.py - a TCP connection a test can watch across a capture.

  tcpecho.py server ADDR PORT
      echo every line back, for any number of connections, until killed
  tcpecho.py client ADDR PORT GO_FILE ROUNDS
      connect and exchange one line (prints "connected" or "connect-failed ..." and exits 1),
      wait until GO_FILE exists, then send ROUNDS lines 0.2 s apart, each waiting up to 1 s
      for its echo; prints "echoed K of ROUNDS" and, for a fresh connection made after the
      rounds, "reconnect ok" or "reconnect failed ...".
Each line carries its round number, so a late echo of an earlier round is not counted.
"""
import os
import socket
import sys
import threading
import time


def serve(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    print("listening", flush=True)

    def one(c):
        with c:
            while True:
                d = c.recv(4096)
                if not d:
                    return
                c.sendall(d)

    while True:
        c, _ = s.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def exchange(c, line, timeout):
    """Send line, wait for the same line back: True when it came in time."""
    c.sendall(line)
    c.settimeout(timeout)
    got = b""
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            d = c.recv(4096)
            if not d:
                return False
            got += d
            if line in got:
                return True
    except (socket.timeout, OSError):
        return False
    return False


def client(addr, port, go, rounds):
    try:
        c = socket.create_connection((addr, port), timeout=3)
    except OSError as e:
        print("connect-failed", e, flush=True)
        return 1
    if not exchange(c, b"hello\n", 3):
        print("connect-failed no echo", flush=True)
        return 1
    print("connected", flush=True)
    while not os.path.exists(go):
        time.sleep(0.05)
    ok = 0
    for i in range(rounds):
        if exchange(c, b"round %d\n" % i, 1.0):
            ok += 1
        time.sleep(0.2)
    print("echoed %d of %d" % (ok, rounds), flush=True)
    try:
        c2 = socket.create_connection((addr, port), timeout=2)
        print("reconnect ok" if exchange(c2, b"again\n", 1.0) else "reconnect failed no echo",
              flush=True)
        c2.close()
    except OSError as e:
        print("reconnect failed", e, flush=True)
    c.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "server":
        serve(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 6 and sys.argv[1] == "client":
        sys.exit(client(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])))
    else:
        sys.exit(__doc__)
