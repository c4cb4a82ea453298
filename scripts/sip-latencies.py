#!/usr/bin/env python3
"""Latencies seen from the SIP side, from the message logs sipp keeps when the real-Asterisk tier runs with
MUROJAAT_SIPP_TRACE_DIR set (each SIP message with its time):

    MUROJAAT_SIPP_TRACE_DIR=/tmp/sip ./scripts/test.sh asterisk   # or one scenario, e.g. thirtyCallers
    python3 scripts/sip-latencies.py /tmp/sip [--wrap-up 1.0] [--digit-at 0.44]

- caller INVITE -> 200 OK;
- last DTMF digit -> INVITE at the operator's phone, for callers who pressed 0 while an operator was free: the digit
  ends (RFC 4733 end packet) `--digit-at` seconds after the caller's ACK (the scenario's 300 ms pause plus the
  140 ms of the pcap before its end packet);
- operator freed -> the next waiting caller's INVITE at the phone: the phone's BYE plus the wrap-up time
  (`--wrap-up`, the tier's 1 s) is when the operator is free again.
"""
import datetime
import glob
import re
import sys


def entries(path):
    """(time, direction, first line, headers text) for each message in a sipp -trace_msg file."""
    text = open(path, encoding="utf-8", errors="replace").read()
    for block in re.split(r"^-{10,} ", text, flags=re.M)[1:]:
        lines = block.split("\n")
        fields = lines[0].split()
        try:
            when = datetime.datetime.strptime(" ".join(fields[-2:]), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        except (IndexError, ValueError):
            continue
        direction = "sent" if "sent" in lines[1] else "received"
        body = [l for l in lines[2:] if l.strip()]
        if body:
            yield when, direction, body[0].strip(), "\n".join(body)


def header(message, name):
    m = re.search(r"^" + name + r":\s*(.*)$", message, flags=re.M | re.I)
    return m.group(1) if m else ""


def percentiles(values):
    if not values:
        return "no samples"
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    return f"p50 {pick(0.5) * 1000:.1f} ms, p99 {pick(0.99) * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms ({len(values)} samples)"


def main():
    args = sys.argv[1:]
    folder = args[0]
    wrap_up = float(args[args.index("--wrap-up") + 1]) if "--wrap-up" in args else 1.0
    digit_at = float(args[args.index("--digit-at") + 1]) if "--digit-at" in args else 0.44
    answer, acks = [], {}
    for path in glob.glob(f"{folder}/caller-*.msg"):
        invite = None
        for when, direction, first, message in entries(path):
            if direction == "sent" and first.startswith("INVITE"):
                invite = when
                number = re.search(r"sip:([^@]+)@", header(message, "From")).group(1)
            elif direction == "received" and first.startswith("SIP/2.0 200") and "INVITE" in header(message, "CSeq") and invite:
                answer.append(when - invite)
                invite = None
            elif direction == "sent" and first.startswith("ACK"):
                acks[number] = when
    to_operator, freed = [], []
    for path in glob.glob(f"{folder}/phone-*.msg"):
        bye = None
        for when, direction, first, message in entries(path):
            if direction == "received" and first.startswith("INVITE"):
                caller = re.search(r"sip:([^@]+)@", header(message, "From"))
                if bye is not None:
                    freed.append(when - bye - wrap_up)
                    bye = None
                elif caller and caller.group(1) in acks:
                    latency = when - (acks[caller.group(1)] + digit_at)
                    if 0 <= latency < 0.5:  # offered at once: an operator was free when the digit came
                        to_operator.append(latency)
            elif direction == "sent" and first.startswith("BYE"):
                bye = when
    print("caller INVITE -> 200 OK:              ", percentiles(answer))
    print("last digit -> operator's INVITE:      ", percentiles(to_operator))
    print("operator freed -> next caller's INVITE:", percentiles([f for f in freed if f >= -0.05]))


if __name__ == "__main__":
    main()
