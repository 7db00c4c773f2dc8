#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench/eval/tables.py RAW_DIR OUT_DIR MACHINE NOTE: turn bench/eval/run's raw measurements
into the CSV files under docs/eval/ (one header line, then rows; a first '#' line names the
machine, kernel, date and load) and print the tables. Derived columns:
  loss_pct   (offered - captured) / offered
  of_bound   the tool's share of its offered load captured, over the sink's share of its own
             offered load (the same target rate): captured/offered / (sink captured/sink offered).
             Shares, not rates, because the generator shares the machine and offers a little
             more or less in each case; at a load the receiving core absorbs whole, this is
             captured/offered.
"""
import csv, sys

raw, out, machine, note = sys.argv[1:5]
NAMES = {"sink": "XDP drop (bound)", "mq-xdp": "mqcount -b xdp", "mq-packet": "mqcount -b packet",
         "tcpdump": "tcpdump", "netsniff": "netsniff-ng"}
ORDER = list(NAMES)


def rows(name):
    with open("%s/%s.raw" % (raw, name)) as f:
        return list(csv.DictReader(f))


def write(name, header, data):
    with open("%s/%s.csv" % (out, name), "w") as f:
        f.write("# %s; %s\n" % (machine, note))
        f.write(",".join(header) + "\n")
        for r in data:
            f.write(",".join(str(r[h]) for h in header) + "\n")


def pct(a, b):
    return round(100.0 * a / b, 3) if b else 0.0


def of_bound(got, off, bgot, boff):
    if not off or not bgot or not boff:
        return 0
    return round((got / off) / (bgot / boff), 4)


raw_cap = rows("capture")
sink = {r["target"]: r for r in raw_cap if r["tool"] == "sink"}
cap = []
for r in raw_cap:
    off, got, secs = int(r["offered"]), int(r["captured"]), float(r["seconds"])
    b = sink.get(r["target"], {"offered": 0, "captured": 0})
    bo, bg = int(b["offered"]), int(b["captured"])
    cap.append({"tool": r["tool"], "name": NAMES[r["tool"]], "target": r["target"], "offered": off,
                "captured": got, "socket_drops": r["socket_drops"], "loss_pct": pct(off - got, off),
                "offered_mpps": round(off / secs / 1e6, 4), "captured_mpps": round(got / secs / 1e6, 4),
                "bound_mpps": round(bg / secs / 1e6, 4), "of_bound": of_bound(got, off, bg, bo)})
# one tool's rows together, by offered rate: gnuplot draws each tool as one line
cap.sort(key=lambda r: (ORDER.index(r["tool"]), r["offered"]))
write("capture", ["tool", "name", "target", "offered", "captured", "socket_drops", "loss_pct",
                  "offered_mpps", "captured_mpps", "bound_mpps", "of_bound"], cap)

t2 = []
for r in rows("table2"):
    off, got, secs = int(r["offered"]), int(r["captured"]), float(r["seconds"])
    bcap, boff = int(r["bound_captured"]), int(r["bound_offered"])
    t2.append({"setup": r["setup"], "label": '"%s"' % r["label"], "queues": r["queues"], "offered": off,
               "captured": got, "loss_pct": pct(off - got, off), "captured_mpps": round(got / secs / 1e6, 4),
               "bound_mpps": round(bcap / secs / 1e6, 4), "of_bound": of_bound(got, off, bcap, boff)})
write("table2", ["setup", "label", "queues", "offered", "captured", "loss_pct", "captured_mpps",
                 "bound_mpps", "of_bound"], t2)

ring = rows("ring")
write("ring", ["element_bytes", "burst", "mqcap", "rte_ring", "ck_ring"], ring)
send = rows("send")
write("send", ["sender", "mpps"], send)

print("\n%-20s %6s %10s %10s %8s %9s" % ("tool", "target", "offered/s", "captured/s", "loss%", "of bound"))
for r in cap:
    print("%-20s %6s %10.3fM %10.3fM %8.2f %8.1f%%" % (r["name"], r["target"], r["offered_mpps"],
                                                     r["captured_mpps"], r["loss_pct"], 100 * r["of_bound"]))
print("\n%-40s %10s %8s %9s" % ("Table 2 setup", "captured/s", "loss%", "of bound"))
for r in t2:
    print("%-40s %9.3fM %8.2f %8.1f%%" % (r["label"].strip('"'), r["captured_mpps"], r["loss_pct"],
                                         100 * r["of_bound"]))
if ring:
    w = min(float(r["mqcap"]) / max(float(r["rte_ring"]), float(r["ck_ring"])) for r in ring)
    print("\nring: worst mqcap / best peer = %.2f" % w)
best = {r["sender"]: float(r["mpps"]) for r in send}
mq = max((v for k, v in best.items() if k.startswith("mqsend")), default=0)
if best.get("trafgen"):
    print("send: mqsend / trafgen = %.2f" % (mq / best["trafgen"]))
