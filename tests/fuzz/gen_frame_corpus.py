#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Write the seed corpus of fuzz_frame: raw Ethernet frames of every shape the parser knows
(VLAN, QinQ, IPv4 with options and fragments, IPv6 with extension headers, TCP/UDP/SCTP,
ICMP, ARP) and the frames of issue 11 whose length fields lie. Run from tests/fuzz."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'system', 'lib'))
import pktlib  # noqa: E402

S4, D4 = '198.18.0.1', '198.19.0.2'
S6, D6 = '2001:db8::1', '2001:db8::2'


def v6_ext(exts, l4proto, l4):
    """IPv6 with extension headers [(type, bytes)], then the transport l4."""
    body = b''
    for i, (t, data) in enumerate(exts):
        nh = exts[i + 1][0] if i + 1 < len(exts) else l4proto
        body += bytes([nh]) + data
    hdr = struct.pack('!IHBB', 0x60000000, len(body) + len(l4), exts[0][0], 64)
    hdr += pktlib.socket.inet_pton(pktlib.socket.AF_INET6, S6)
    hdr += pktlib.socket.inet_pton(pktlib.socket.AF_INET6, D6)
    return pktlib.eth(pktlib.RX_MAC, pktlib.TX_MAC, 0x86dd, hdr + body + l4)


def seeds():
    yield 'tcp4', pktlib.tcp4_frame(S4, D4, 1024, 80, b'MQ\x01' + bytes(17))
    yield 'udp4_vlan', pktlib.udp4_frame(S4, D4, 5000, 53, b'x' * 20, vlan=(10,))
    yield 'tcp4_qinq', pktlib.tcp4_frame(S4, D4, 1, 2, b'y' * 6, vlan=(100, 20))
    yield 'udp4_opts', pktlib.eth(pktlib.RX_MAC, pktlib.TX_MAC, 0x0800, pktlib.ipv4(
        S4, D4, 17, pktlib.udp(7, 8, b'z' * 8, S4, D4), options=b'\x01' * 8))
    yield 'frag4_first', pktlib.eth(pktlib.RX_MAC, pktlib.TX_MAC, 0x0800, pktlib.ipv4(
        S4, D4, 17, pktlib.udp(7, 8, b'z' * 8, S4, D4), mf=True, df=False))
    yield 'frag4_later', pktlib.eth(pktlib.RX_MAC, pktlib.TX_MAC, 0x0800, pktlib.ipv4(
        S4, D4, 17, b'z' * 16, frag_off=185, df=False))
    yield 'tcp6', pktlib.tcp6_frame(S6, D6, 1024, 80, b'MQ\x01' + bytes(17))
    yield 'udp6_vlan', pktlib.udp6_frame(S6, D6, 5000, 53, b'q' * 9, vlan=(5,))
    udp = struct.pack('!HHHH', 5000, 53, 12, 0) + b'abcd'
    yield 'ext6_hbh_dst', v6_ext([(0, b'\x00' + bytes(6)), (60, b'\x01' + bytes(14))], 17, udp)
    yield 'ext6_rt_frag', v6_ext([(43, b'\x00' + bytes(6)), (44, b'\x00\x00\x01\x00\x00\x00\x07')],
                                 17, udp)
    yield 'ext6_frag_later', v6_ext([(44, b'\x00\x05\xc9\x00\x00\x00\x07')], 17, b'later')
    yield 'ext6_ah', v6_ext([(51, b'\x04' + bytes(22))], 6, bytes(20))
    sctp = struct.pack('!HHII', 2905, 2906, 1, 0) + b'chunk'
    yield 'sctp4', pktlib.eth(pktlib.RX_MAC, pktlib.TX_MAC, 0x0800, pktlib.ipv4(S4, D4, 132, sctp))
    yield 'icmp4', pktlib.icmp4_frame(S4, D4)
    yield 'icmp6', pktlib.icmp6_frame(S6, D6)
    yield 'arp', pktlib.arp_frame()
    # issue 11: IHL 15 in a 60-byte frame that claims 100 bytes, then "MQ\1"
    ip = bytearray(20)
    ip[0], ip[9] = 0x4f, 17
    ip[2:4] = struct.pack('!H', 100)
    yield 'ihl15', pktlib.pad(pktlib.eth(pktlib.RX_MAC, pktlib.TX_MAC, 0x0800, bytes(ip) + b'MQ\x01'), 60)
    t = bytearray(pktlib.tcp4_frame(S4, D4, 1, 2, bytes(20)))
    t[14 + 20 + 12] = 0xf0
    yield 'tcp_doff_lie', bytes(t)
    yield 'short', bytes(13)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'frame')
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
