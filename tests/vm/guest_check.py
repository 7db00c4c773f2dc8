#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""guest_check - what tests/vm/guest_suite.sh checks in Python (not a test by itself).

    summary JSON "DRIVER" TOTAL [drops-ok]   the last summary of `mqcount --json --verify` in JSON: every
        queue received exactly what the driver's own per-queue counters (DRIVER: the
        rx_queue_N_packets deltas, one number per queue) say arrived, nothing dropped, TOTAL in
        all, the sums add up and --verify found no loss, duplicate or corruption. drops-ok:
        received + dropped is what the driver counted, and --verify's loss is no more than the drops (a flow's last frames, lost, leave no gap).
    total JSON N   the summary: N received + dropped in all, --verify finds no duplicate and
        no more loss than the drops.
    tune-irqs JSON QUEUES   mqtune --json named each queue's virtio interrupt by name, confirmed
        by the PCI function's MSI vectors, distinct per queue.
    tune-applied JSON QUEUES ARGS   after mqtune --apply ARGS: each queue's interrupt on the CPU
        the plan gives its poller and consumer; with --threaded, its NAPI thread pinned there.
    tune-queue JSON Q   queue Q's "IRQ CPU PID" from mqtune --json.
    thread-runs JSON   "PID:RUNS ..." of the queues' NAPI threads (/proc/PID/schedstat).
    thread-ran JSON Q BEFORE   since BEFORE (thread-runs' output), queue Q's thread ran most.
    restored FILE   every affinity mqtune --save wrote to FILE is in force again.
    flows KEY TABLE QUEUES   for each queue, one of mqsend --paper's flows that Toeplitz RSS
        (key and table as the device reports them) sends there: its destination address.
    ethtool-x FILE   the key (80 hex digits) and table (comma list) from `ethtool -x` output.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
from summary_sums import check_sums  # noqa: E402


def summary(path, driver, total, drops_ok=""):
    driver = [int(x) for x in driver.split()]
    drops_ok = drops_ok == "drops-ok"
    lines = [json.loads(line) for line in open(path) if line.strip()]
    s = [line for line in lines if line["type"] == "summary"][-1]
    ok = True

    def check(cond, msg):
        nonlocal ok
        if not cond:
            ok = False
            print("# FAIL: " + msg)

    byq = {int(q["queue"].rsplit("@", 1)[1]): q for q in s["queues"]}
    check(sorted(byq) == list(range(len(driver))), "queues %s, wanted 0-%d" % (sorted(byq), len(driver) - 1))
    for i, want in enumerate(driver):
        q = byq.get(i)
        if not q:
            continue
        print("# %s: received %d dropped %d, the driver counted %d"
              % (q["queue"], q["received"], q["dropped"], want))
        check(drops_ok or q["dropped"] == 0, "%s dropped %d" % (q["queue"], q["dropped"]))
        check(q["received"] + q["dropped"] == want, "%s received %d + dropped %d, the driver counted %d"
              % (q["queue"], q["received"], q["dropped"], want))
    t = s["total"]
    check(t["received"] + t["dropped"] == int(total), "received %d + dropped %d in all, sent %s"
          % (t["received"], t["dropped"], total))
    check_sums(s, check)
    v = s["verify"]
    check(v["lost"] <= t["dropped"] and v["duplicates"] == 0 and v["corrupt"] == 0,
          "verify: lost %d (dropped %d) duplicates %d corrupt %d" % (v["lost"], t["dropped"], v["duplicates"], v["corrupt"]))
    if t["dropped"]:
        causes = {c: t[c] for c in ("drop_ring_full", "drop_fill_empty", "drop_no_socket", "drop_invalid") if t.get(c)}
        print("# drops: %d of %d, all counted, by cause %s" % (t["dropped"], int(total), causes))
    print("# verify: %d flows, lost %d, duplicates %d, reordered %d"
          % (v["flows"], v["lost"], v["duplicates"], v["reordered"]))
    return 0 if ok else 1


def ethtool_x(path):
    text = open(path).read()
    key = re.search(r"RSS hash key:\s*\n([0-9a-f:]+)", text).group(1).replace(":", "")
    table = []
    for line in text.splitlines():
        m = re.match(r"\s*\d+:\s+([\d\s]+)$", line)
        if m:
            table += m.group(1).split()
    print(key, ",".join(table))
    return 0


def _summary(path):
    lines = [json.loads(line) for line in open(path) if line.strip()]
    return [line for line in lines if line["type"] == "summary"][-1]


def total(path, n):
    s = _summary(path)
    t, v = s["total"], s["verify"]
    print("# received %d dropped %d, verify lost %d dup %d" % (t["received"], t["dropped"], v["lost"], v["duplicates"]))
    return 0 if (t["received"] + t["dropped"] == int(n) and v["lost"] <= t["dropped"] and v["duplicates"] == 0) else 1


def _dev(path):
    return json.load(open(path))["devices"][0]


def tune_irqs(path, nq):
    d = _dev(path)
    bad = []
    if len(d["queues"]) != int(nq):
        bad.append("%d queues" % len(d["queues"]))
    irqs = set()
    for q in d["queues"]:
        i = q.get("interrupt")
        if not i:
            bad.append("queue %d: no interrupt" % q["queue"])
            continue
        irqs.add(i["irq"])
        if not re.fullmatch(r"virtio\d+-input\.%d" % q["queue"], i["name"]) or i["source"] != "name" \
                or i["rule"] != "virtio-input" or not i["msi"] or i["cpu"] < 0:
            bad.append("queue %d: %s" % (q["queue"], i))
    if len(irqs) != int(nq):
        bad.append("interrupts not distinct: %s" % sorted(irqs))
    for b in bad:
        print("# FAIL: " + b)
    return 1 if bad else 0


def tune_applied(path, nq, args):
    doc = json.load(open(path))
    d = doc["devices"][0]
    plan = {p["queue"]: p for p in doc["plan"]}
    threaded = "--threaded" in args
    bad, cpus = [], []
    for q in d["queues"]:
        i, p = q.get("interrupt") or {}, plan[q["queue"]]
        cpus.append(i.get("cpu", -1))
        if not (i.get("cpu", -2) == p["poller_cpu"] == p["cpu"]):
            bad.append("queue %d: interrupt on %s, plan poller %d consumer %d" % (q["queue"], i.get("cpu"), p["poller_cpu"], p["cpu"]))
        if threaded and not (q["poller"] == "napi" and q["pid"] > 0 and q["cpu"] == i.get("cpu")):
            bad.append("queue %d: thread %d on %d, interrupt on %s" % (q["queue"], q["pid"], q["cpu"], i.get("cpu")))
    if threaded and d["threaded"] != 1:
        bad.append("threaded NAPI is %s" % d["threaded"])
    if len(d["queues"]) != int(nq):
        bad.append("%d queues" % len(d["queues"]))
    if bad:
        print("; ".join(bad))
        return 1
    print("interrupt%s on CPUs %s = the plan's poller and consumer CPUs" % (" and thread" if threaded else "", cpus))
    return 0


def tune_queue(path, q):
    x = _dev(path)["queues"][int(q)]
    print((x.get("interrupt") or {}).get("irq", -1), (x.get("interrupt") or {}).get("cpu", -1), x["pid"])
    return 0


def _runs(pid):
    try:
        return int(open("/proc/%d/schedstat" % pid).read().split()[2])
    except (OSError, IndexError, ValueError):
        return -1


def thread_runs(path):
    print(" ".join("%d:%d" % (q["pid"], _runs(q["pid"])) for q in _dev(path)["queues"] if q["pid"] > 0))
    return 0


def thread_ran(path, q, before):
    want = _dev(path)["queues"][int(q)]["pid"]
    delta = {}
    for item in before.split():
        pid, runs = (int(x) for x in item.split(":"))
        delta[pid] = _runs(pid) - runs
    top = max(delta, key=delta.get)
    if top != want or delta[want] <= 0:
        print("queue %s's flow ran threads %s; mqtune names %d for the queue" % (q, delta, want))
        return 1
    return 0


def _cpus(text):
    out = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def restored(path):
    n = 0
    for line in open(path):
        kind, ident, want = line.split()
        if kind == "irq":
            got = open("/proc/irq/%s/smp_affinity_list" % ident).read().strip()
        else:
            got = [x.split(":")[1].strip() for x in open("/proc/%s/status" % ident) if x.startswith("Cpus_allowed_list")][0]
        if _cpus(got) != _cpus(want):
            print("%s %s: affinity %s, saved %s" % (kind, ident, got, want))
            return 1
        n += 1
    print("# %d affinities restored" % n)
    return 0


def flows(key, table, queues):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
    from test_mqsend_check import toeplitz
    import struct
    key = bytes.fromhex(key)
    table = [int(x) for x in table.split(",")]
    src = bytes([198, 18, 0, 1])
    found = {}
    for f in range(4096):
        dst = bytes([198, 19, f >> 8, f & 0xFF])
        q = table[toeplitz(key, src + dst + struct.pack("!HH", 1024, 80)) & 127]
        found.setdefault(q, "198.19.%d.%d" % (f >> 8, f & 0xFF))
    print(" ".join(found.get(q, "-") for q in range(int(queues))))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        sys.exit(summary(*sys.argv[2:]))
    cmds = {"total": total, "tune-irqs": tune_irqs, "tune-applied": tune_applied, "tune-queue": tune_queue,
            "thread-runs": thread_runs, "thread-ran": thread_ran, "restored": restored}
    if sys.argv[1] in cmds:
        sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))
    if sys.argv[1] == "flows":
        sys.exit(flows(*sys.argv[2:5]))
    if sys.argv[1] == "ethtool-x":
        sys.exit(ethtool_x(sys.argv[2]))
    sys.exit("usage: see the docstring")
