#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench/eval/tables.py RAW_DIR OUT_DIR MACHINE NOTE: turn bench/eval/run's raw measurements
into the CSV files under docs/eval/ (one header line, then rows; a first '#' line names the
machine, kernel, date and load) and print the tables. Derived columns:
  loss_pct   (offered - captured) / offered
  of_bound   the tool's share of its offered load captured, over the sink's share of its own
             offered load (the same target rate and NAPI nice): captured/offered / (sink captured/sink offered).
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
cap = []
for r in raw_cap:
    off, got, secs = int(r["offered"]), int(r["captured"]), float(r["seconds"])
    bo, bg = int(r["bound_offered"]), int(r["bound_captured"])
    row = {"tool": r["tool"], "name": NAMES[r["tool"]], "napi_nice": r["napi_nice"], "place": r["place"],
           "target": r["target"], "offered": off, "captured": got, "socket_drops": r["socket_drops"],
           "loss_pct": pct(off - got, off), "offered_mpps": round(off / secs / 1e6, 4),
           "captured_mpps": round(got / secs / 1e6, 4), "bound_mpps": round(bg / secs / 1e6, 4),
           "of_bound": of_bound(got, off, bg, bo)}
    # the sink has no reader to place: it is the bound of both placements of its condition
    places = sorted({x["place"] for x in raw_cap if x["tool"] != "sink"}) if r["tool"] == "sink" else [r["place"]]
    for p in places:
        cap.append(dict(row, place=p))
CONDS = []
for r in cap:
    if (r["napi_nice"], r["place"]) not in CONDS:
        CONDS.append((r["napi_nice"], r["place"]))
# one condition's rows together, one tool's rows together, by offered rate: gnuplot draws each
# tool of a panel as one line
cap.sort(key=lambda r: (CONDS.index((r["napi_nice"], r["place"])), ORDER.index(r["tool"]), r["offered"]))
write("capture", ["tool", "name", "napi_nice", "place", "target", "offered", "captured", "socket_drops",
                  "loss_pct", "offered_mpps", "captured_mpps", "bound_mpps", "of_bound"], cap)

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

# Per target rate, each tool's loss and fraction of the bound in every condition, side by side.
print("\nloss% / fraction of the bound (%), per condition: NAPI thread's nice, tool beside or apart")
print("%-20s %6s" % ("tool", "target") + "".join(" %16s" % ("nice %s %s" % c) for c in CONDS))
for target in dict.fromkeys(r["target"] for r in cap):
    for tool in ORDER:
        cells = []
        for c in CONDS:
            m = [r for r in cap if r["tool"] == tool and r["target"] == target and (r["napi_nice"], r["place"]) == c]
            cells.append(" %16s" % ("%.2f / %.1f" % (m[0]["loss_pct"], 100 * m[0]["of_bound"]) if m else "-"))
        if any(x.strip() != "-" for x in cells):
            print("%-20s %6s" % (NAMES[tool], target) + "".join(cells))
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
