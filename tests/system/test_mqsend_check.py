#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_mqsend_check - the mqsend system tests' decoder (not a test by itself).

    check PCAP [mqsend's generator options]  rebuild, byte for byte, the frame mqsend must
        have sent for every captured frame (from the options, the flow and the sequence
        number its payload names) and compare; check every verification payload, every
        checksum, and that each flow's sequence numbers run 0, 1, 2, ... with no gap,
        duplicate or reordering. --count N: exactly N frames.
    same A.pcap B.pcap [--repeat N]  B holds A's frames in the same order (N times over),
        timestamps aside.
    pcapng IN.pcap OUT.pcapng   rewrite a pcap as pcapng (to replay that format too).
    gaps PCAP   print the gaps between consecutive frames, in seconds.
    rssq PREFIX QUEUES KEY TABLE   frames of PREFIX.qN.pcap (pktlib capture-qm) arrived on
        the RX queue the Toeplitz hash + table predicts.
    paper-rss KEY TABLE QUEUES ROUNDS   how many of mqsend --paper's frames (ROUNDS times its
        4096 flows, 198.18.0.1:1024 -> 198.19.0.0-198.19.15.255:80) each RX queue gets, by
        the Toeplitz hash + table: one number per queue.

The payload format is implemented here again from include/mqcap/payload.h's description, not
shared with the C code, so the test checks the C against the documentation.
"""
import argparse
import ipaddress
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import pktlib as P  # noqa: E402

FULL, COMPACT = 20, 6


def osum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def payload_encode(length, seq, flow, sender):
    """The verification payload of an L4 payload of `length` bytes (payload.h)."""
    if length >= FULL:
        hdr = bytearray(b"MQ\x01\x00" + struct.pack("!HHIQ", sender & 0xFFFF, 0, flow, seq))
        check_off = 6
    elif length >= COMPACT:
        hdr = bytearray(bytes([0xC0 | (sender & 0xF)]) + struct.pack("!I", seq & 0xFFFFFF)[1:] +
                        b"\0\0")
        check_off = 4
    else:
        raise ValueError("payload of %d bytes is too short" % length)
    body = hdr + bytes(i & 0xFF for i in range(len(hdr), length))
    c = (~osum(bytes(body))) & 0xFFFF
    body[check_off:check_off + 2] = struct.pack("!H", c)
    return bytes(body)


def payload_decode(pl):
    """(form, seq, flow, sender) or None; also checks the checksum."""
    if len(pl) >= FULL and pl[:2] == b"MQ":
        if pl[2] != 1:
            return None
        sender, _c, flow, seq = struct.unpack("!HHIQ", pl[4:20])
        form = "full"
    elif COMPACT <= len(pl) < FULL and pl[0] & 0xF0 == 0xC0:
        sender, flow, seq = pl[0] & 0xF, None, int.from_bytes(pl[1:4], "big")
        form = "compact"
    else:
        return None
    if osum(pl) != 0xFFFF:
        return None
    return form, seq, flow, sender


def parse(frame):
    """(vlan tags, src, dst, proto, sport, dport, l4 payload) of an Ethernet frame."""
    off, tags = 12, []
    et = struct.unpack("!H", frame[off:off + 2])[0]
    off += 2
    while et in (0x8100, 0x88A8):
        tags.append(struct.unpack("!H", frame[off:off + 2])[0] & 0x0FFF)
        et = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off += 4
    if et == 0x0800:
        ihl = (frame[off] & 0xF) * 4
        tot = struct.unpack("!H", frame[off + 2:off + 4])[0]
        proto = frame[off + 9]
        src = str(ipaddress.IPv4Address(frame[off + 12:off + 16]))
        dst = str(ipaddress.IPv4Address(frame[off + 16:off + 20]))
        end = off + tot
        off += ihl
    elif et == 0x86DD:
        plen = struct.unpack("!H", frame[off + 4:off + 6])[0]
        proto = frame[off + 6]
        src = str(ipaddress.IPv6Address(frame[off + 8:off + 24]))
        dst = str(ipaddress.IPv6Address(frame[off + 24:off + 40]))
        off += 40
        end = off + plen
    else:
        return None
    sport, dport = struct.unpack("!HH", frame[off:off + 4])
    l4len = 20 if proto == 6 else 8
    return tuple(tags), src, dst, proto, sport, dport, frame[off + l4len:end]


def rng(s):
    lo, _, hi = s.partition("-")
    return lo, hi or lo


def addr_range(s):
    lo, hi = rng(s)
    a, b = ipaddress.ip_address(lo), ipaddress.ip_address(hi)
    return [str(ipaddress.ip_address(int(a) + i)) for i in range(int(b) - int(a) + 1)]


def port_range(s):
    lo, hi = rng(s)
    return list(range(int(lo), int(hi) + 1))


def flows_of(a):
    """mqsend's flow list: destination address fastest, then dport, sport, source."""
    srcs, dsts = addr_range(a.src), addr_range(a.dst)
    sps, dps = port_range(a.sport), port_range(a.dport)
    out = []
    for s in srcs:
        for sp in sps:
            for dp in dps:
                for d in dsts:
                    out.append((s, d, sp, dp))
    return out


def expected_frame(a, flow_idx, tup, length, seq, sender):
    s, d, sp, dp = tup
    vlan = tuple(int(x) for x in a.vlan.split(",")) if a.vlan else ()
    v6 = ":" in s
    hdr = 14 + 4 * len(vlan) + (40 if v6 else 20) + (20 if a.proto == "tcp" else 8)
    pl = payload_encode(length - hdr, seq, flow_idx, sender)
    if a.proto == "tcp":
        l4 = P.tcp(sp, dp, pl, s, d, seq=flow_idx, flags=0x10)
        proto = P.IPPROTO_TCP
    else:
        l4 = P.udp(sp, dp, pl, s, d)
        proto = P.IPPROTO_UDP
    l3 = P.ipv6(s, d, proto, l4) if v6 else P.ipv4(s, d, proto, l4)
    return P.eth(a.dmac, a.smac, P.ETH_IPV6 if v6 else P.ETH_IPV4, l3, vlan)


def sizes_ok(a, length):
    if a.size == "imix":
        return True  # the mix is clamped per header size; every length is checked byte-exact
    lo, hi = rng(a.size)
    return int(lo) - 4 <= length <= int(hi) - 4


def cmd_check(a):
    frames = [f for _, f in P.read_pcap(a.pcap)]
    flows = flows_of(a)
    index = {t: i for i, t in enumerate(flows)}
    nxt = {}
    bad = 0
    threads = a.threads
    for n, fr in enumerate(frames):
        p = parse(fr)
        why = None
        if p is None:
            why = "not IPv4/IPv6"
        else:
            tags, s, d, proto, sp, dp, pl = p
            dec = payload_decode(pl)
            if dec is None:
                why = "no valid verification payload"
            else:
                form, seq, fid, sender = dec
                key = (s, d, sp, dp)
                if fid is None:
                    fid = index.get(key)
                if fid is None or fid >= len(flows) or flows[fid] != key:
                    why = "flow %s/%s does not match the options" % (fid, key)
                elif not sizes_ok(a, len(fr)):
                    why = "length %d outside --size %s" % (len(fr), a.size)
                else:
                    want_sender = a.sender_id + fid % threads
                    if a.rss_threads:
                        want_sender = sender  # the thread follows the flow's queue
                    if form == "compact":
                        exp_seq = nxt.get(fid, 0)
                        seq_full = exp_seq - (exp_seq & 0xFFFFFF) + seq
                    else:
                        seq_full = seq
                    exp = expected_frame(a, fid, flows[fid], len(fr), seq_full, want_sender)
                    if fr != exp:
                        diff = next(i for i in range(min(len(fr), len(exp)))
                                    if fr[i] != exp[i]) if len(fr) == len(exp) else -1
                        why = "bytes differ from the expected frame (first at offset %d)" % diff
                    elif seq_full != nxt.get(fid, 0):
                        why = "flow %d: sequence %d, expected %d (loss, duplicate or reorder)" % (
                            fid, seq_full, nxt.get(fid, 0))
                    else:
                        nxt[fid] = seq_full + 1
        if why:
            bad += 1
            if bad <= 5:
                print("frame %d: %s: %s" % (n, why, fr.hex()), file=sys.stderr)
    if a.count is not None and len(frames) != a.count:
        print("%d frames captured, expected exactly %d" % (len(frames), a.count), file=sys.stderr)
        bad += 1
    if bad:
        print("FAIL: %d problems in %d frames" % (bad, len(frames)))
        return 1
    print("ok: %d frames, %d flows, all byte-exact, sequences complete" % (len(frames), len(nxt)))
    return 0


def cmd_same(a):
    x = [f for _, f in P.read_pcap(a.a)] * a.repeat
    y = [f for _, f in P.read_pcap(a.b)]
    if x == y:
        print("ok: %d frames identical" % len(x))
        return 0
    print("FAIL: %d vs %d frames" % (len(x), len(y)))
    for i, (f, g) in enumerate(zip(x, y)):
        if f != g:
            print("first difference at frame %d:\n %s\n %s" % (i, f.hex(), g.hex()))
            break
    return 1


def cmd_pcapng(a):
    def block(btype, body):
        body += b"\0" * ((4 - len(body) % 4) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    # Interface with if_tsresol 9 (nanoseconds).
    out += block(1, struct.pack("<HHI", 1, 0, 262144) + struct.pack("<HHB3x", 9, 1, 9) +
                 struct.pack("<HH", 0, 0))
    for ts, fr in P.read_pcap(a.inp):
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr)) + fr)
    with open(a.out, "wb") as f:
        f.write(out)
    return 0


def cmd_gaps(a):
    ts = [t for t, _ in P.read_pcap(a.pcap)]
    print(" ".join("%.4f" % ((y - x) / 1e9) for x, y in zip(ts, ts[1:])))
    return 0


def toeplitz(key, data):
    k = int.from_bytes(key, "big")
    klen = len(key) * 8
    h = 0
    for i, byte in enumerate(data):
        for b in range(8):
            if byte & (0x80 >> b):
                h ^= (k >> (klen - 32 - (i * 8 + b))) & 0xFFFFFFFF
    return h


def cmd_rssq(a):
    key = bytes.fromhex(a.key)
    table = [int(x) for x in a.table.split(",")]
    bad = total = 0
    for q in range(a.queues):
        path = "%s.q%d.pcap" % (a.prefix, q)
        for _, fr in P.read_pcap(path):
            p = parse(fr)
            if p is None:
                continue
            _tags, s, d, _proto, sp, dp, _pl = p
            data = (ipaddress.ip_address(s).packed + ipaddress.ip_address(d).packed +
                    struct.pack("!HH", sp, dp))
            want = table[toeplitz(key, data) & 127]
            total += 1
            if want != q:
                bad += 1
                if bad <= 5:
                    print("%s -> %s %d->%d arrived on queue %d, RSS says %d" % (
                        s, d, sp, dp, q, want), file=sys.stderr)
    if bad or not total:
        print("FAIL: %d of %d frames on the wrong queue" % (bad, total))
        return 1
    print("ok: %d frames, each on its RSS queue" % total)
    return 0


def cmd_paper_rss(a):
    key = bytes.fromhex(a.key)
    table = [int(x) for x in a.table.split(",")]
    counts = [0] * a.queues
    src = ipaddress.ip_address("198.18.0.1").packed
    for f in range(4096):
        dst = bytes([198, 19, f >> 8, f & 0xFF])
        counts[table[toeplitz(key, src + dst + struct.pack("!HH", 1024, 80)) & 127]] += a.rounds
    print(" ".join(map(str, counts)))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("pcap")
    c.add_argument("--count", type=int)
    c.add_argument("--proto", default="tcp")
    c.add_argument("--src", default="198.18.0.1")
    c.add_argument("--dst", default="198.18.0.2")
    c.add_argument("--sport", default="1024")
    c.add_argument("--dport", default="80")
    c.add_argument("--size", default="64")
    c.add_argument("--vlan", default="")
    c.add_argument("--smac", default=P.TX_MAC)
    c.add_argument("--dmac", default=P.RX_MAC)
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--sender-id", type=int, default=0)
    c.add_argument("--rss-threads", action="store_true")
    s = sub.add_parser("same")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--repeat", type=int, default=1)
    g = sub.add_parser("pcapng")
    g.add_argument("inp")
    g.add_argument("out")
    g = sub.add_parser("gaps")
    g.add_argument("pcap")
    r = sub.add_parser("rssq")
    r.add_argument("prefix")
    r.add_argument("queues", type=int)
    r.add_argument("key")
    r.add_argument("table")
    r = sub.add_parser("paper-rss")
    r.add_argument("key")
    r.add_argument("table")
    r.add_argument("queues", type=int)
    r.add_argument("rounds", type=int)
    a = ap.parse_args()
    return {"check": cmd_check, "same": cmd_same, "rssq": cmd_rssq, "pcapng": cmd_pcapng,
            "gaps": cmd_gaps, "paper-rss": cmd_paper_rss}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
