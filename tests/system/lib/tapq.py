#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tapq.py - a multi-queue tap device whose RX queues a test fills one by one.

    tapq.py NAME QUEUES DST_MAC

creates tap NAME with QUEUES queues (IFF_MULTI_QUEUE: one file descriptor per queue), prints
"ready", then for each line "N0,N1,... ETHERTYPE" read on stdin writes Nq frames of that
EtherType into queue q's descriptor and prints "sent". The tun driver receives a frame
written to queue q's descriptor on RX queue q and records it (skb_record_rx_queue(): the
skb's queue_mapping is q + 1), as a NIC driver does. The device goes away at exit."""
import fcntl
import os
import struct
import sys

IFF_TAP, IFF_NO_PI, IFF_MULTI_QUEUE = 0x0002, 0x1000, 0x0100
TUNSETIFF = 0x400454ca


def main():
    name, nq, dst = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3].replace(':', ''))
    fds = []
    for _ in range(nq):
        fd = os.open('/dev/net/tun', os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(),
                                               IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE))
        fds.append(fd)
    print('ready', flush=True)
    for line in sys.stdin:
        counts, etype = line.split()
        etype = int(etype, 0)
        for q, n in enumerate(int(x) for x in counts.split(',')):
            for i in range(n):
                # source 02:00:00:00:00:01; payload: queue and sequence number
                frame = (dst + bytes.fromhex('020000000001') + struct.pack('!H', etype)
                         + struct.pack('!HI', q, i) + bytes(40))
                os.write(fds[q], frame)
        print('sent', flush=True)


if __name__ == '__main__':
    main()
