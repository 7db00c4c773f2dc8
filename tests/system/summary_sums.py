# SPDX-License-Identifier: BSD-2-Clause
"""The sums every `mqcount --json` summary must satisfy, for the system tests that read one.

check_sums(summary, check): per queue, dropped = the sum of its causes; the total of every
counter = the sum of the queues; the threads add up to the queues (hand-off drops aside).
check(cond, message) is the caller's, so the failures are reported the caller's way.
Import it with sys.path.insert(0, os.environ['MQCAP_SRC'] + '/tests/system').
"""

CAUSES = ('drop_ring_full', 'drop_fill_empty', 'drop_no_socket', 'drop_invalid', 'drop_handoff')


def check_sums(s, check):
    t = s['total']
    for q in s['queues']:
        # hand-off drops happen after the queue's own count: not one of its causes
        check(q['dropped'] == sum(q[c] for c in CAUSES[:-1]),
              '%s: drop causes do not add up' % q['queue'])
    for k in ('received', 'bytes', 'dropped') + CAUSES:
        check(t[k] == sum(q[k] for q in s['queues']), 'total %s is not the sum of the queues' % k)
    check(s['adds_up'], 'threads do not add up to queues')
    check(s['threads_packets'] + t['drop_handoff'] == t['received'],
          'threads %d + handoff %d != received %d'
          % (s['threads_packets'], t['drop_handoff'], t['received']))
