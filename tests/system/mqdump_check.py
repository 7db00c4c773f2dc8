#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""mqdump_check - read mqdump's files strictly and compare them with what was sent.

  mqdump_check.py read FILE                print one line per block (pcapng) or record (pcap)
  mqdump_check.py frames SENT QLIST FILE...
        The files (in the order given: the files of one output, oldest first) hold exactly
        the frames of SENT (capture_dump -P output of the sent pcap) whose predicted queue is
        in QLIST ("0", "0,1", "all"): each once, bytes identical (hash of every byte, caplen
        = wire length), per queue in the order sent, and in pcapng each in an EPB whose
        epb_queue is the queue RSS predicted. Frames never sent (the receiver's own ND/ARP)
        are counted, not judged.
  mqdump_check.py count FILE...            print the number of packets in the files

Every file is parsed strictly: pcapng block lengths at both ends, SHB first, IDBs with
if_tsresol 9 before their EPBs, EPB interface ids that exist, an epb_queue option on every
EPB; classic pcap with the nanosecond magic and whole records. A malformed file fails.
"""
import collections
import struct
import sys


def fnv1a(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


class Bad(Exception):
    pass


def opts(buf, end_ok=True):
    """pcapng options -> list of (code, value bytes)."""
    out, off = [], 0
    while off + 4 <= len(buf):
        code, ln = struct.unpack_from("<HH", buf, off)
        off += 4
        if code == 0:
            return out
        if off + ln > len(buf):
            raise Bad("option %d runs past its block" % code)
        out.append((code, buf[off:off + ln]))
        off += (ln + 3) & ~3
    if not end_ok:
        raise Bad("options without opt_endofopt")
    return out


def read_pcapng(data, path):
    pkts, isbs, idbs = [], [], []
    off, first = 0, True
    while off < len(data):
        if off + 12 > len(data):
            raise Bad("%s: %d trailing bytes at %d" % (path, len(data) - off, off))
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12 or blen % 4 or off + blen > len(data):
            raise Bad("%s: block at %d: bad length %d" % (path, off, blen))
        if struct.unpack_from("<I", data, off + blen - 4)[0] != blen:
            raise Bad("%s: block at %d: trailing length differs" % (path, off))
        body = data[off + 8:off + blen - 4]
        if first and btype != 0x0A0D0D0A:
            raise Bad("%s: does not start with a Section Header Block" % path)
        first = False
        if btype == 0x0A0D0D0A:
            if struct.unpack_from("<I", body, 0)[0] != 0x1A2B3C4D:
                raise Bad("%s: SHB byte-order magic" % path)
        elif btype == 1:
            link, _, snap = struct.unpack_from("<HHI", body, 0)
            o = dict(opts(body[8:]))
            if o.get(9) != b"\x09":
                raise Bad("%s: IDB %d without if_tsresol 9" % (path, len(idbs)))
            idbs.append((link, snap, o.get(2, b"").decode()))
        elif btype == 6:
            ifid, th, tl, cap, wire = struct.unpack_from("<IIIII", body, 0)
            if ifid >= len(idbs):
                raise Bad("%s: EPB for interface %d, %d IDBs" % (path, ifid, len(idbs)))
            frame = body[20:20 + cap]
            o = dict(opts(body[20 + ((cap + 3) & ~3):], end_ok=False))
            if 6 not in o or len(o[6]) != 4:
                raise Bad("%s: EPB %d without epb_queue" % (path, len(pkts)))
            pkts.append({"if": ifid, "dev": idbs[ifid][2], "queue": struct.unpack("<I", o[6])[0],
                         "ts": th << 32 | tl, "caplen": cap, "len": wire, "hash": fnv1a(frame)})
        elif btype == 5:
            ifid = struct.unpack_from("<I", body, 0)[0]
            o = {c: (struct.unpack("<Q", v)[0] if len(v) == 8 and c in (4, 5, 6, 7, 8) else v)
                 for c, v in opts(body[12:])}
            isbs.append({"if": ifid, "recv": o.get(4), "drop": o.get(5), "osdrop": o.get(7),
                         "usrdeliv": o.get(8)})
        else:
            raise Bad("%s: unexpected block type 0x%x" % (path, btype))
        off += blen
    return pkts, isbs


def read_pcap(data, path):
    if len(data) < 24 or struct.unpack_from("<I", data, 0)[0] != 0xA1B23C4D:
        raise Bad("%s: not a nanosecond pcap (magic)" % path)
    pkts, off = [], 24
    while off < len(data):
        if off + 16 > len(data):
            raise Bad("%s: half a record header at %d" % (path, off))
        sec, ns, cap, wire = struct.unpack_from("<IIII", data, off)
        if off + 16 + cap > len(data):
            raise Bad("%s: record at %d runs past the end" % (path, off))
        pkts.append({"queue": None, "ts": sec * 10**9 + ns, "caplen": cap, "len": wire,
                     "hash": fnv1a(data[off + 16:off + 16 + cap])})
        off += 16 + cap
    return pkts, []


def read(path):
    data = open(path, "rb").read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(data, path)
    return read_pcap(data, path)


def parse_sent(path):
    out = []
    for line in open(path):
        if line.startswith("pkt "):
            out.append(dict(x.split("=", 1) for x in line.split()[1:] if "=" in x))
    return out


def main(argv):
    try:
        if argv[1] == "read":
            pkts, isbs = read(argv[2])
            for p in pkts:
                print("pkt " + " ".join("%s=%s" % kv for kv in p.items()))
            for s in isbs:
                print("isb " + " ".join("%s=%s" % kv for kv in s.items()))
            return 0
        if argv[1] == "count":
            print(sum(len(read(f)[0]) for f in argv[2:]))
            return 0
        sent = parse_sent(argv[2])
        qs = None if argv[3] == "all" else {int(x) for x in argv[3].split(",")}
        got = []
        for f in argv[4:]:
            got += read(f)[0]
    except Bad as e:
        print("malformed: %s" % e)
        return 1
    rssq = {p["hash"]: int(p["rssq"]) for p in sent}
    want = [p["hash"] for p in sent if qs is None or int(p["rssq"]) in qs]
    mine = [p for p in got if p["hash"] in rssq]
    bad = []
    for p in mine:
        if p["caplen"] != p["len"]:
            bad.append("frame %s cut to %d of %d bytes" % (p["hash"], p["caplen"], p["len"]))
        if p["queue"] is not None and p["queue"] != rssq[p["hash"]]:
            bad.append("frame %s has epb_queue %d, RSS predicts %d" % (p["hash"], p["queue"],
                                                                       rssq[p["hash"]]))
    cw, cg = collections.Counter(want), collections.Counter(p["hash"] for p in mine)
    missing, extra = cw - cg, cg - cw
    if missing:
        bad.append("%d frames missing" % sum(missing.values()))
    if extra:
        bad.append("%d frames extra or repeated" % sum(extra.values()))
    # per queue, the order sent
    for q in set(rssq[h] for h in want):
        s = [h for h in want if rssq[h] == q]
        g = [p["hash"] for p in mine if rssq[p["hash"]] == q]
        if not missing and not extra and s != g:
            bad.append("queue %d: frames out of the order sent" % q)
    print("%d frames in %d file(s), %d of them sent (%d expected), %d others" % (
        len(got), len(argv) - 4, len(mine), len(want), len(got) - len(mine)))
    for b in bad[:20]:
        print("  " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
