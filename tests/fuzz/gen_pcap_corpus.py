#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Write the seed corpus of fuzz_pcap: small pcap (both byte orders, micro and nano) and
pcapng files holding a few kinds of frames, plus a truncated one. Run from tests/fuzz."""
import struct

def frames():
    eth = bytes.fromhex('020000000002020000000001')
    ip = bytes.fromhex('4500002e0001000040110000c6120001c6120002')
    udp = struct.pack('!HHHH', 5000, 53, 26, 0) + b'mqcap-fuzz-udp-seed'[:18]
    yield eth + b'\x08\x00' + ip + udp
    tcp = struct.pack('!HHIIBBHHH', 1234, 80, 1, 0, 0x50, 0x02, 8192, 0, 0)
    yield eth + b'\x81\x00\x00\x64\x08\x00' + bytes.fromhex('450000280002000040060000c6120001c6120002') + tcp
    ip6 = bytes.fromhex('6000000000083a40') + b'\xfd\x00\x01\x98' + bytes(11) + b'\x01' + b'\xfd\x00\x01\x98' + bytes(11) + b'\x02'
    yield eth + b'\x86\xdd' + ip6 + bytes.fromhex('8000000000010001')
    yield eth + b'\x08\x06' + bytes(28)

def pcap(endian, nano):
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    out = struct.pack(endian + 'IHHiIII', magic, 2, 4, 0, 0, 262144, 1)
    for i, f in enumerate(frames()):
        out += struct.pack(endian + 'IIII', 1700000000 + i, 1000 * i, len(f), len(f)) + f
    return out

def pad4(b):
    return b + bytes(-len(b) % 4)

def block(t, body):
    n = 12 + len(body)
    return struct.pack('<II', t, n) + body + struct.pack('<I', n)

def pcapng():
    out = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack('<HHI', 1, 0, 262144))
    for i, f in enumerate(frames()):
        ts = (1700000000 + i) * 1000000 + 1000 * i
        out += block(6, struct.pack('<IIIII', 0, ts >> 32, ts & 0xffffffff, len(f), len(f)) + pad4(f))
    return out

files = {
    'le_usec.pcap': pcap('<', False),
    'be_usec.pcap': pcap('>', False),
    'le_nsec.pcap': pcap('<', True),
    'basic.pcapng': pcapng(),
}
files['truncated.pcap'] = files['le_usec.pcap'][:-7]
for name, data in files.items():
    with open('corpus/pcap/' + name, 'wb') as fh:
        fh.write(data)
