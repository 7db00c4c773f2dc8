#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""metrics_check.py - helpers of test_metrics.sh (standard library only).

  parse FILE                       print the samples of a Prometheus text file (a check of its own)
  scrape PORT OUT N GAP            GET /metrics N times GAP seconds apart while a capture runs;
                                   each must answer 200 with the text format; counters never
                                   go down and received packets grow; the last body goes to OUT
  abuse PORT                       slow and malformed clients: idle connections, half requests,
                                   garbage, a huge header, other paths and methods; meanwhile a
                                   good scrape must answer within 2 s, and afterwards too
  compare PROM SUMMARY_JSON        the metrics equal the summary of the same run
"""
import json, re, socket, sys, time, urllib.error, urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = tuple(sorted((k, unescape(v)) for k, v in LABEL.findall(m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def get(port, path="/metrics", timeout=2.0):
    t0 = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        body = r.read().decode()
        return r.status, r.headers.get("Content-Type", ""), body, time.monotonic() - t0


def total(samples, name):
    return sum(v for (n, _), v in samples.items() if n == name)


def cmd_scrape(port, out, n, gap):
    prev, first = None, None
    for i in range(n):
        st, ctype, body, dt = get(port)
        assert st == 200, "status %d" % st
        assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, "content type %r" % ctype
        s = parse(body)
        if prev:
            for k, v in prev.items():
                if k[0].endswith("_total"):
                    assert s.get(k, -1) >= v, "%s went down: %s -> %s" % (k, v, s.get(k))
        first = first if first is not None else total(s, "mqcap_received_packets_total")
        prev = s
        print("# scrape %d: %.0f packets received, %.1f ms" % (i, total(s, "mqcap_received_packets_total"), dt * 1e3))
        time.sleep(gap)
    assert total(prev, "mqcap_received_packets_total") > first, "counters did not grow during the capture"
    open(out, "w").write(body)


def cmd_abuse(port):
    socks = []

    def conn():
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        socks.append(s)
        return s
    for _ in range(4):
        conn()                                      # connect, say nothing
    for _ in range(2):
        conn().sendall(b"GET /metr")                # half a request line, then silence
    conn().sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # header never finished
    # garbage and a huge header: an error, a closed socket, or silence until the server's
    # timeout closes it (checked below with the stuck ones); never a 200
    for payload in (b"\x00\xff garbage \r\n\r\n", b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        try:
            s.sendall(payload)
            reply = s.recv(100)
        except (ConnectionResetError, BrokenPipeError):
            reply = b""
        except socket.timeout:
            reply = None
            socks.append(s)
        assert not (reply or b"").startswith(b"HTTP/1.1 200"), "malformed request answered 200: %r" % reply[:40]
        print("# malformed request: %r" % (reply.split(b"\r\n")[0] if reply else
                                          "no answer yet" if reply is None else "connection closed"))
    # while the slow ones hang: a good scrape answers at once
    st, _, body, dt = get(port)
    assert st == 200 and "mqcap_received_packets_total" in body
    assert dt < 2.0, "scrape took %.2f s beside slow clients" % dt
    print("# scrape beside %d stuck clients: %.1f ms" % (len(socks), dt * 1e3))
    for path, method, want in (("/", "GET", 404), ("/metrics/x", "GET", 404), ("/metrics", "POST", 405),
                               ("/metrics", "DELETE", 405)):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                     data=b"x" if method == "POST" else None)
        try:
            urllib.request.urlopen(req, timeout=2)
            raise AssertionError("%s %s answered 200" % (method, path))
        except urllib.error.HTTPError as e:
            assert e.code == want, "%s %s: %d, expected %d" % (method, path, e.code, want)
    print("# other paths 404, other methods 405")
    # the server closes connections that stay idle (a few seconds): a stuck client costs a socket only
    time.sleep(7)
    closed = 0
    for s in socks:
        s.settimeout(1.0)
        try:
            data = s.recv(100)
            closed += 1 if data == b"" or data.startswith(b"HTTP/1.1 4") else 0
        except (ConnectionResetError, BrokenPipeError):
            closed += 1
        except socket.timeout:
            pass
    assert closed == len(socks), "%d of %d stuck connections still open after 7 s" % (len(socks) - closed, len(socks))
    print("# the %d stuck connections were closed by the server" % closed)
    st, _, _, dt = get(port)
    assert st == 200 and dt < 2.0


def cmd_compare(prom, summary_json):
    s = parse(open(prom).read())
    summ = [json.loads(l) for l in open(summary_json) if l.startswith("{")]
    summ = [x for x in summ if x["type"] == "summary"][-1]
    backend = summ["backend"].split(" ")[0]
    checks = 0
    stages = {"ring": "drop_ring_full", "fill": "drop_fill_empty", "nosock": "drop_no_socket",
              "invalid": "drop_invalid", "handoff": "drop_handoff"}
    for q in summ["queues"]:
        dev, qn = q["queue"].rsplit("@", 1) if "@" in q["queue"] else (q["queue"], "0")
        lab = (("backend", backend), ("device", dev), ("queue", qn))
        for metric, key in (("mqcap_received_packets_total", "received"), ("mqcap_received_bytes_total", "bytes"),
                            ("mqcap_filtered_packets_total", "filtered"),
                            ("mqcap_kernel_seen_packets_total", "kernel_seen")):
            got = s.get((metric, lab))
            assert got == q[key], "%s%s = %s, summary says %s" % (metric, dict(lab), got, q[key])
            checks += 1
        for stage, key in stages.items():
            got = s.get(("mqcap_dropped_packets_total", tuple(sorted(lab + (("stage", stage),)))))
            assert got == q[key], "dropped stage=%s of %s: %s, summary %s" % (stage, q["queue"], got, q[key])
            checks += 1
    for t in summ["threads"]:
        got = [v for (n, l), v in s.items() if n == "mqcap_worker_packets_total" and ("worker", str(t["thread"])) in l]
        assert got == [t["packets"]], "worker %d: %s, summary %s" % (t["thread"], got, t["packets"])
        checks += 1
    assert total(s, "mqcap_received_packets_total") == summ["total"]["received"]
    info = [l for (n, l) in s if n == "mqcap_backend_info"]
    assert info and ("name", summ["backend"]) in info[0], "backend_info %s, summary %s" % (info, summ["backend"])
    pollers = [l for (n, l) in s if n == "mqcap_poller_info"]
    assert len(pollers) == len(summ["queues"]), "%d poller_info series for %d queues" % (len(pollers), len(summ["queues"]))
    print("# metrics equal the summary: %d values, %d queues, %d threads, %d packets" %
          (checks, len(summ["queues"]), len(summ["threads"]), summ["total"]["received"]))


if __name__ == "__main__":
    c, a = sys.argv[1], sys.argv[2:]
    if c == "parse":
        for k, v in sorted(parse(open(a[0]).read()).items()):
            print(k, v)
    elif c == "scrape":
        cmd_scrape(int(a[0]), a[1], int(a[2]), float(a[3]))
    elif c == "abuse":
        cmd_abuse(int(a[0]))
    elif c == "compare":
        cmd_compare(a[0], a[1])
    else:
        sys.exit(__doc__)
