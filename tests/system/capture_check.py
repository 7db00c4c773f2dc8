#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""capture_check - compare capture_dump outputs with what was sent or predicted.

  capture_check.py queues GOT SENT QLIST   GOT (a live capture of some queues) holds exactly
        the frames of SENT (capture_dump -P of the pcap that was sent) whose predicted queue
        is in QLIST ("0", "0,1", "all"), each once, each on the queue RSS predicted for it.
  capture_check.py same GOT SENT EXPECTED  GOT holds exactly the frames of EXPECTED (e.g. the
        sent pcap read through the same filter), each as often as there.
  capture_check.py stats GOT               no kernel drops, and received matches the lines.

Frames in GOT that were never sent (the receiver's own ARP, ICMP errors coming back, IPv6
neighbour discovery) are counted and listed, not judged: tests own only the frames they send.
Exit status 0 when everything holds, 1 with the differences printed.
"""
import collections
import sys


def parse(path):
    pkts, stats = [], {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "pkt":
                pkts.append(dict(x.split("=", 1) for x in w[1:] if "=" in x))
            elif w[0] in ("total", "queue"):
                key = "total" if w[0] == "total" else "queue %s" % w[1]
                stats[key] = dict(x.split("=", 1) for x in w[1:] if "=" in x)
            elif w[0] == "error":
                stats["error"] = line.strip()
    return pkts, stats


def fail(msgs):
    for m in msgs[:30]:
        print("  " + m)
    if len(msgs) > 30:
        print("  ... %d more" % (len(msgs) - 30))
    return 1


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd = argv[1]
    got, gstats = parse(argv[2])
    if "error" in gstats:
        print("%s: %s" % (argv[2], gstats["error"]))
        return 1
    if cmd == "stats":
        t = gstats.get("total")
        if not t:
            print("%s: no totals" % argv[2])
            return 1
        bad = []
        if int(t["drop_ring_full"]):
            bad.append("kernel dropped %s frames (ring full)" % t["drop_ring_full"])
        if int(t["received"]) != len(got):
            bad.append("received=%s but %d packet lines" % (t["received"], len(got)))
        return fail(bad) if bad else 0

    sent, _ = parse(argv[3])
    sent_hashes = collections.Counter(p["hash"] for p in sent)
    mine = [p for p in got if p["hash"] in sent_hashes]
    others = [p for p in got if p["hash"] not in sent_hashes]
    if cmd == "queues":
        qs = None if argv[4] == "all" else {int(x) for x in argv[4].split(",")}
        want = collections.Counter(p["hash"] for p in sent if qs is None or int(p["rssq"]) in qs)
        bad = []
        for p in mine:
            if int(p["queue"]) != int(p["rssq"]):
                bad.append("frame %s (%s %s:%s > %s:%s) on queue %s, RSS predicts %s" % (
                    p["hash"], p["proto"], p["src"], p["sport"], p["dst"], p["dport"],
                    p["queue"], p["rssq"]))
            if qs is not None and int(p["queue"]) not in qs:
                bad.append("frame %s on queue %s, not captured here" % (p["hash"], p["queue"]))
    elif cmd == "same":
        exp, _ = parse(argv[4])
        want = collections.Counter(p["hash"] for p in exp)
        bad = []
    else:
        print("unknown command %s" % cmd)
        return 2
    have = collections.Counter(p["hash"] for p in mine)
    for h, n in (want - have).items():
        bad.append("frame %s missing (%d of %d)" % (h, n, want[h]))
    for h, n in (have - want).items():
        bad.append("frame %s extra or duplicated (%d more than %d)" % (h, n, want[h]))
    print("%s: %d of our frames (expected %d), %d unrelated%s" % (
        argv[2], sum(have.values()), sum(want.values()), len(others),
        "" if not others else " (" + ", ".join(sorted({"%s %s>%s" % (p["proto"], p["src"], p["dst"]) for p in others}))[:200] + ")"))
    return fail(bad) if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
