#!/usr/bin/env python3
"""Loopback DNS relay that records every message it passes (stdlib only).

   relay.py LOG LISTEN_PORT:BACKEND_PORT:TAG [...]

For each mapping it listens on 127.0.0.1:LISTEN_PORT (UDP and TCP), passes
each query to 127.0.0.1:BACKEND_PORT over the same transport, relays every
answer back, and appends one JSON line per exchange to LOG:
{"seq", "arrived", "time", "tag", "tcp", "query": hex, "answers": [hex, ...]}.
Used by make.sh to capture real client queries (dig) on their way to pldns
and pldns's real upstream queries and BIND/Unbound's real answers.
"""
import json
import socket
import struct
import sys
import threading
import time

lock = threading.Lock()
seq = [0]


def log(out, tag, tcp, query, answers, arrived):
    with lock:
        seq[0] += 1
        out.write(json.dumps({"seq": seq[0], "arrived": arrived, "time": int(time.time()), "tag": tag, "tcp": tcp,
                              "query": query.hex(), "answers": [a.hex() for a in answers]}) + "\n")
        out.flush()


def udp(out, port, backend, tag):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        query, client = s.recvfrom(65535)
        arrived = time.monotonic_ns()

        def one(query=query, client=client, arrived=arrived):
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            b.settimeout(2)
            answers = []
            try:
                b.sendto(query, ("127.0.0.1", backend))
                answer, _ = b.recvfrom(65535)
                answers.append(answer)
                s.sendto(answer, client)
            except OSError:
                pass
            log(out, tag, False, query, answers, arrived)
        threading.Thread(target=one, daemon=True).start()


def read_msg(conn):
    head = b""
    while len(head) < 2:
        chunk = conn.recv(2 - len(head))
        if not chunk:
            return None
        head += chunk
    (n,) = struct.unpack("!H", head)
    body = b""
    while len(body) < n:
        chunk = conn.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def tcp(out, port, backend, tag):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        conn, _ = s.accept()

        def serve(conn=conn):
            with conn:
                while True:
                    query = read_msg(conn)
                    if query is None:
                        return
                    arrived = time.monotonic_ns()
                    answers = []
                    try:
                        b = socket.create_connection(("127.0.0.1", backend), timeout=2)
                        b.sendall(struct.pack("!H", len(query)) + query)
                        b.settimeout(1)
                        while True:
                            a = read_msg(b)
                            if a is None:
                                break
                            answers.append(a)
                            conn.sendall(struct.pack("!H", len(a)) + a)
                    except OSError:
                        pass
                    log(out, tag, True, query, answers, arrived)
        threading.Thread(target=serve, daemon=True).start()


def main():
    out = open(sys.argv[1], "a")
    for spec in sys.argv[2:]:
        port, backend, tag = spec.split(":")
        for f in (udp, tcp):
            threading.Thread(target=f, args=(out, int(port), int(backend), tag), daemon=True).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
