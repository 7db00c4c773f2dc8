#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""pktlib - frames for mqcap's system tests, with the standard library only.

As a module:
    import pktlib as P
    f = P.eth(P.RX_MAC, P.TX_MAC, P.ETH_IPV4,
              P.ipv4("198.18.0.1", "198.18.0.2", P.IPPROTO_UDP, P.udp(1234, 9, b"hi", ...)))
  or, simpler, P.udp4_frame(src, dst, sport, dport, payload) / tcp4_frame / udp6_frame /
  tcp6_frame / icmp4_frame / icmp6_frame / arp_frame, each taking vlan=(tag, ...) for
  802.1Q/QinQ (the first tag is the outer one; 2 tags = QinQ with 0x88a8 outside).
  Checksums (IPv4 header, TCP, UDP, ICMP, ICMPv6) are correct.
    P.write_pcap(path, frames)   P.read_pcap(path) -> [(ts_ns, frame)]
    P.send_frames(ifname, frames, rate_pps=0)   AF_PACKET through the qdisc, so the
        testbed's RSS program (tc egress) picks each frame's queue.
    P.flow_frames(n, flows, ...)  n frames over `flows` distinct UDP/TCP 5-tuples.

As a command (python3 pktlib.py CMD --help for each):
    flows    write a pcap of N frames over F flows (UDP/TCP, IPv4/IPv6, VLAN/QinQ, reversed)
    mixed    write a pcap of mixed traffic (every protocol the builders know)
    send     send a pcap on an interface at a given rate (run inside `ip netns exec TX_NS`)
    capture-qm  capture on every RX queue of an interface with one PACKET_FANOUT_QM socket
             per queue; frame i of socket q arrived on RX queue q; writes PREFIX.qN.pcap
    show     print a pcap, one line per frame
All addresses must stay in 198.18.0.0/15 and fd00:198::/64 (the testbed's ranges).
"""
import argparse
import ipaddress
import os
import select
import socket
import struct
import sys
import time

TX_MAC = "02:00:c6:12:00:01"
RX_MAC = "02:00:c6:12:00:02"
TX_IP, RX_IP = "198.18.0.1", "198.18.0.2"
TX_IP6, RX_IP6 = "fd00:198::1", "fd00:198::2"

ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 = 1, 6, 17, 58
FLOW_PORTS = (9000, 9006)  # destination ports of flow_frames(): capture-qm --ports 9000-9006
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_FANOUT = 18
PACKET_FANOUT_QM = 5
PACKET_OUTGOING = 4


def mac_bytes(mac):
    b = bytes(int(x, 16) for x in mac.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC %r" % mac)
    return b


def csum(data):
    """Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, ethertype, payload, vlan=()):
    """Ethernet header; vlan: tags (outermost first); two tags = QinQ (0x88a8 outside)."""
    hdr = mac_bytes(dst) + mac_bytes(src)
    tags = list(vlan)
    for i, tag in enumerate(tags):
        tpid = ETH_QINQ if (len(tags) == 2 and i == 0) else ETH_VLAN
        hdr += struct.pack("!HH", tpid, tag & 0x0FFF)
    return hdr + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ttl=64, ident=0, frag_off=0, mf=False, df=True, options=b""):
    """IPv4 header + payload; frag_off in 8-byte units; options padded to 4 bytes."""
    options += b"\0" * ((4 - len(options) % 4) % 4)
    ihl = 5 + len(options) // 4
    flags = (0x4000 if df and not mf and frag_off == 0 else 0) | (0x2000 if mf else 0)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident & 0xFFFF,
                      flags | (frag_off & 0x1FFF), ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nexthdr, payload, hlim=64, flow=0):
    return struct.pack("!IHBB16s16s", (6 << 28) | (flow & 0xFFFFF), len(payload), nexthdr, hlim,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def _pseudo(src, dst, proto, length):
    if ":" in src:
        return (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
                struct.pack("!IxxxB", length, proto))
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!xBH", proto, length)


def udp(sport, dport, payload, src, dst):
    """UDP header + payload with its checksum over the pseudo header of src/dst."""
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = csum(_pseudo(src, dst, IPPROTO_UDP, length) + hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + payload


def tcp(sport, dport, payload, src, dst, seq=1, ack=0, flags=0x18, window=65535):
    """TCP header (no options) + payload; flags default PSH|ACK."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                      flags, window, 0, 0)
    c = csum(_pseudo(src, dst, IPPROTO_TCP, len(hdr) + len(payload)) + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def icmp_echo(ident, seq, payload, v6_src=None, v6_dst=None):
    """ICMP (or, with v6 addresses, ICMPv6) echo request."""
    typ = 128 if v6_src else 8
    hdr = struct.pack("!BBHHH", typ, 0, 0, ident, seq)
    pre = _pseudo(v6_src, v6_dst, IPPROTO_ICMPV6, len(hdr) + len(payload)) if v6_src else b""
    c = csum(pre + hdr + payload)
    return hdr[:2] + struct.pack("!H", c) + hdr[4:] + payload


def arp_request(src_mac, src_ip, dst_ip):
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, mac_bytes(src_mac),
                       socket.inet_aton(src_ip), b"\0" * 6, socket.inet_aton(dst_ip))


def pad(frame, size):
    """Pad a frame (without FCS) to at least `size` bytes (60 = the Ethernet minimum)."""
    return frame + b"\0" * max(0, size - len(frame))


def udp4_frame(src, dst, sport, dport, payload=b"", vlan=(), smac=TX_MAC, dmac=RX_MAC, **ip):
    return pad(eth(dmac, smac, ETH_IPV4, ipv4(src, dst, IPPROTO_UDP,
                                              udp(sport, dport, payload, src, dst), **ip), vlan), 60)


def tcp4_frame(src, dst, sport, dport, payload=b"", vlan=(), smac=TX_MAC, dmac=RX_MAC, flags=0x18,
               seq=1, **ip):
    return pad(eth(dmac, smac, ETH_IPV4, ipv4(src, dst, IPPROTO_TCP,
                                              tcp(sport, dport, payload, src, dst, seq=seq,
                                                  flags=flags), **ip), vlan), 60)


def udp6_frame(src, dst, sport, dport, payload=b"", vlan=(), smac=TX_MAC, dmac=RX_MAC):
    return pad(eth(dmac, smac, ETH_IPV6, ipv6(src, dst, IPPROTO_UDP,
                                              udp(sport, dport, payload, src, dst)), vlan), 60)


def tcp6_frame(src, dst, sport, dport, payload=b"", vlan=(), smac=TX_MAC, dmac=RX_MAC, flags=0x18,
               seq=1):
    return pad(eth(dmac, smac, ETH_IPV6, ipv6(src, dst, IPPROTO_TCP,
                                              tcp(sport, dport, payload, src, dst, seq=seq,
                                                  flags=flags)), vlan), 60)


def icmp4_frame(src, dst, ident=1, seq=1, payload=b"", vlan=(), smac=TX_MAC, dmac=RX_MAC):
    return pad(eth(dmac, smac, ETH_IPV4, ipv4(src, dst, IPPROTO_ICMP,
                                              icmp_echo(ident, seq, payload)), vlan), 60)


def icmp6_frame(src, dst, ident=1, seq=1, payload=b"", vlan=(), smac=TX_MAC, dmac=RX_MAC):
    return pad(eth(dmac, smac, ETH_IPV6, ipv6(src, dst, IPPROTO_ICMPV6,
                                              icmp_echo(ident, seq, payload, src, dst)), vlan), 60)


def arp_frame(src_ip=TX_IP, dst_ip=RX_IP, vlan=(), smac=TX_MAC):
    return pad(eth("ff:ff:ff:ff:ff:ff", smac, ETH_ARP, arp_request(smac, src_ip, dst_ip), vlan), 60)


def flow_tuple(f, v6=False, reverse=False):
    """The 4-tuple of flow number f (0..65535): sources vary in address and port, all inside
    the testbed's ranges; reverse=True swaps the two ends (the flow's other direction)."""
    if v6:
        src = "fd00:198::1:%x" % f
        dst = RX_IP6
    else:
        src = str(ipaddress.IPv4Address("198.19.0.0") + (f % 65536))
        dst = RX_IP
    sport = 1024 + (f * 7919) % 60000
    dport = FLOW_PORTS[0] + f % (FLOW_PORTS[1] - FLOW_PORTS[0] + 1)
    if reverse:
        return dst, src, dport, sport
    return src, dst, sport, dport


def flow_frames(count, flows, proto="udp", v6=False, vlan=(), size=60, reverse=False, payload=None):
    """count frames cycling over `flows` flows; frame i belongs to flow i % flows and carries
    its index (and flow) in the first 8 bytes of the payload unless payload is given."""
    out = []
    for i in range(count):
        f = i % flows
        src, dst, sport, dport = flow_tuple(f, v6, reverse)
        pl = payload if payload is not None else struct.pack("!II", i, f)
        if proto == "udp":
            fr = (udp6_frame if v6 else udp4_frame)(src, dst, sport, dport, pl, vlan=vlan)
        elif proto == "tcp":
            fr = (tcp6_frame if v6 else tcp4_frame)(src, dst, sport, dport, pl, vlan=vlan)
        else:
            raise ValueError("proto must be udp or tcp")
        out.append(pad(fr, size))
    return out


def mixed_frames():
    """One of everything: IPv4/IPv6 x UDP/TCP/ICMP, VLAN and QinQ, an IPv4 fragment, IPv4
    options, ARP. Frames that RSS cannot hash (ARP) go to queue 0."""
    fr = []
    for vl in ((), (10,), (100, 20)):
        fr.append(udp4_frame(TX_IP, RX_IP, 1111, 2222, b"udp4", vlan=vl))
        fr.append(tcp4_frame(TX_IP, RX_IP, 3333, 80, b"tcp4", vlan=vl))
        fr.append(icmp4_frame(TX_IP, RX_IP, 7, 1, b"ping", vlan=vl))
        fr.append(udp6_frame(TX_IP6, RX_IP6, 1111, 2222, b"udp6", vlan=vl))
        fr.append(tcp6_frame(TX_IP6, RX_IP6, 3333, 80, b"tcp6", vlan=vl))
        fr.append(icmp6_frame(TX_IP6, RX_IP6, 7, 1, b"ping6", vlan=vl))
        fr.append(arp_frame(vlan=vl))
    fr.append(pad(eth(RX_MAC, TX_MAC, ETH_IPV4, ipv4(TX_IP, RX_IP, IPPROTO_UDP,
                                                     udp(5, 6, b"frag", TX_IP, RX_IP), mf=True)), 60))
    fr.append(pad(eth(RX_MAC, TX_MAC, ETH_IPV4, ipv4(TX_IP, RX_IP, IPPROTO_UDP,
                                                     udp(5, 6, b"opt", TX_IP, RX_IP),
                                                     options=b"\x01\x01\x01\x00")), 60))
    return fr


# ---- pcap (classic, microsecond or nanosecond, either byte order) ----

def write_pcap(path, frames, linktype=1, snaplen=262144, ts_ns=None):
    """Write frames (bytes, or (ts_ns, bytes)) as a nanosecond pcap."""
    now = time.time_ns() if ts_ns is None else ts_ns
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, snaplen, linktype))
        for i, fr in enumerate(frames):
            ts, data = fr if isinstance(fr, tuple) else (now + i * 1000, fr)
            cap = data[:snaplen]
            f.write(struct.pack("<IIII", ts // 1_000_000_000, ts % 1_000_000_000, len(cap),
                                len(data)))
            f.write(cap)


def read_pcap(path):
    """[(ts_ns, frame)] of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: not a pcap file" % path)
    magic_le = struct.unpack("<I", data[:4])[0]
    magic_be = struct.unpack(">I", data[:4])[0]
    for end, magic in (("<", magic_le), (">", magic_be)):
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            nano = magic == 0xA1B23C4D
            break
    else:
        raise ValueError("%s: not a pcap file (magic %08x)" % (path, magic_le))
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, _wirelen = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        out.append((sec * 1_000_000_000 + (frac if nano else frac * 1000), data[off:off + caplen]))
        off += caplen
    return out


# ---- sending and capturing ----

def send_frames(ifname, frames, rate_pps=0, loops=1):
    """Send frames on ifname through the qdisc (no PACKET_QDISC_BYPASS: the testbed's tc egress
    RSS program must see them). rate_pps 0 = as fast as possible. Returns frames sent."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((ifname, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sent, t0 = 0, time.monotonic()
    for _ in range(loops):
        for fr in frames:
            while True:
                try:
                    s.send(fr)
                    break
                except (BlockingIOError, OSError) as e:
                    if getattr(e, "errno", None) not in (105, 11):  # ENOBUFS, EAGAIN
                        raise
                    time.sleep(0.0005)
            sent += 1
            if rate_pps:
                ahead = sent / rate_pps - (time.monotonic() - t0)
                if ahead > 0.001:
                    time.sleep(ahead)
    s.close()
    return sent


def l4_ports(fr):
    """(sport, dport) of a TCP/UDP frame (VLAN/QinQ, IPv4/IPv6), or None."""
    try:
        off = 12
        et = struct.unpack("!H", fr[off:off + 2])[0]
        while et in (ETH_VLAN, ETH_QINQ):
            off += 4
            et = struct.unpack("!H", fr[off:off + 2])[0]
        off += 2
        if et == ETH_IPV4:
            p, l4 = fr[off + 9], off + (fr[off] & 15) * 4
        elif et == ETH_IPV6:
            p, l4 = fr[off + 6], off + 40
        else:
            return None
        if p not in (IPPROTO_TCP, IPPROTO_UDP):
            return None
        return struct.unpack("!HH", fr[l4:l4 + 4])
    except (IndexError, struct.error):
        return None


def capture_qm(ifname, queues, count=0, timeout=10.0, idle=1.0, ready=None, ports=None):
    """Capture incoming frames on ifname with one PACKET_FANOUT_QM socket per RX queue:
    the kernel hands each frame to socket (rx queue % queues), so list q holds exactly the
    frames that arrived on RX queue q. Stops after `count` frames (0: no limit), `timeout`
    seconds, or `idle` seconds without a frame once at least one arrived. ready: a path
    written once all sockets are bound. ports: (lo, hi) keeps only TCP/UDP frames with a
    source or destination port in [lo, hi] (others, e.g. the kernel's own IPv6 multicast
    reports, are ignored). Returns [[frame, ...] per queue]."""
    socks = []
    group = (os.getpid() ^ int(time.time())) & 0xFFFF
    for _ in range(queues):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE (root)
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        s.bind((ifname, ETH_P_ALL))
        s.setsockopt(SOL_PACKET, PACKET_FANOUT, group | (PACKET_FANOUT_QM << 16))
        s.setblocking(False)
        socks.append(s)
    # fanout member i (in join order) gets queue_mapping % n == i
    per_q = [[] for _ in range(queues)]
    if ready:
        with open(ready, "w") as f:
            f.write("ready\n")
    total, t0, last = 0, time.monotonic(), None
    while True:
        now = time.monotonic()
        if now - t0 > timeout or (count and total >= count):
            break
        if last is not None and now - last > idle:
            break
        r, _, _ = select.select(socks, [], [], 0.05)
        for s in r:
            q = socks.index(s)
            while True:
                try:
                    data, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                if ports:
                    pp = l4_ports(data)
                    if not pp or not (ports[0] <= pp[0] <= ports[1] or ports[0] <= pp[1] <= ports[1]):
                        continue
                per_q[q].append(data)
                total += 1
                last = time.monotonic()
    for s in socks:
        s.close()
    return per_q


def describe(fr):
    """One line about a frame: protocols and addresses."""
    try:
        off, tags = 12, []
        et = struct.unpack("!H", fr[12:14])[0]
        while et in (ETH_VLAN, ETH_QINQ):
            tags.append(struct.unpack("!H", fr[off + 2:off + 4])[0] & 0xFFF)
            off += 4
            et = struct.unpack("!H", fr[off:off + 2])[0]
        off += 2
        v = "vlan %s " % ",".join(map(str, tags)) if tags else ""
        if et == ETH_IPV4:
            ihl = (fr[off] & 15) * 4
            p, s, d = fr[off + 9], socket.inet_ntoa(fr[off + 12:off + 16]), socket.inet_ntoa(fr[off + 16:off + 20])
            l4 = off + ihl
        elif et == ETH_IPV6:
            p = fr[off + 6]
            s = socket.inet_ntop(socket.AF_INET6, fr[off + 8:off + 24])
            d = socket.inet_ntop(socket.AF_INET6, fr[off + 24:off + 40])
            l4 = off + 40
        else:
            return "%sethertype 0x%04x len %d" % (v, et, len(fr))
        if p in (IPPROTO_TCP, IPPROTO_UDP):
            sp, dp = struct.unpack("!HH", fr[l4:l4 + 4])
            return "%s%s %s:%d > %s:%d len %d" % (v, "tcp" if p == 6 else "udp", s, sp, d, dp, len(fr))
        return "%sproto %d %s > %s len %d" % (v, p, s, d, len(fr))
    except (IndexError, struct.error, OSError, ValueError):
        return "truncated frame len %d" % len(fr)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="pktlib.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("flows", help="write a pcap of N frames over F flows")
    p.add_argument("-w", "--write", required=True, help="pcap to write")
    p.add_argument("-n", "--count", type=int, default=4096)
    p.add_argument("-f", "--flows", type=int, default=4096)
    p.add_argument("--proto", choices=("udp", "tcp"), default="udp")
    p.add_argument("-6", "--ipv6", action="store_true")
    p.add_argument("--vlan", type=int, action="append", default=[],
                   help="add a VLAN tag (twice: QinQ, outer first)")
    p.add_argument("--size", type=int, default=60, help="frame size without FCS (min 60)")
    p.add_argument("--reverse", action="store_true", help="the other direction of each flow")
    p = sub.add_parser("mixed", help="write a pcap of mixed traffic")
    p.add_argument("-w", "--write", required=True)
    p = sub.add_parser("send", help="send a pcap through the qdisc of an interface")
    p.add_argument("-i", "--interface", required=True)
    p.add_argument("-r", "--rate", type=float, default=0, help="frames per second (0: max)")
    p.add_argument("-l", "--loops", type=int, default=1)
    p.add_argument("--align", type=float, default=None, metavar="S",
                   help="send the first frame S seconds past a whole wall-clock second")
    p.add_argument("pcap")
    p = sub.add_parser("capture-qm", help="capture per RX queue (PACKET_FANOUT_QM)")
    p.add_argument("-i", "--interface", required=True)
    p.add_argument("-q", "--queues", type=int, required=True)
    p.add_argument("-o", "--prefix", required=True, help="writes PREFIX.qN.pcap for each queue")
    p.add_argument("-c", "--count", type=int, default=0, help="stop after this many frames")
    p.add_argument("-t", "--timeout", type=float, default=10.0)
    p.add_argument("--idle", type=float, default=1.0)
    p.add_argument("--ready", help="file to create once capturing")
    p.add_argument("--ports", help="LO-HI: keep only TCP/UDP frames with a port in this range")
    p = sub.add_parser("show", help="print a pcap")
    p.add_argument("pcap")
    a = ap.parse_args(argv)

    if a.cmd == "flows":
        if len(a.vlan) > 2:
            ap.error("at most two --vlan tags")
        fr = flow_frames(a.count, a.flows, a.proto, a.ipv6, tuple(a.vlan), a.size, a.reverse)
        write_pcap(a.write, fr)
    elif a.cmd == "mixed":
        write_pcap(a.write, mixed_frames())
    elif a.cmd == "send":
        frames = [fr for _, fr in read_pcap(a.pcap)]
        if a.align is not None:
            time.sleep((a.align - time.time()) % 1.0)
        n = send_frames(a.interface, frames, a.rate, a.loops)
        print("sent %d frames on %s" % (n, a.interface))
    elif a.cmd == "capture-qm":
        ports = tuple(int(x) for x in a.ports.split("-")) if a.ports else None
        if ports and len(ports) != 2:
            ap.error("--ports LO-HI")
        per_q = capture_qm(a.interface, a.queues, a.count, a.timeout, a.idle, a.ready, ports)
        for q, frames in enumerate(per_q):
            write_pcap("%s.q%d.pcap" % (a.prefix, q), frames)
        print("captured " + " ".join("q%d=%d" % (q, len(f)) for q, f in enumerate(per_q)))
    elif a.cmd == "show":
        for i, (ts, fr) in enumerate(read_pcap(a.pcap)):
            print("%d %d.%09d %s" % (i, ts // 10**9, ts % 10**9, describe(fr)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
