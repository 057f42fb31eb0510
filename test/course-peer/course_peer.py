#!/usr/bin/env python3
"""A stand-in for the course's Python node, written from docs/course-wire.md only.

It behaves the way the spec says the instructor's node behaves on the wire (V=1 by default,
Sprint 6.2 with --dialect sprint62), so DeltaFleet's overlay can be tested against it without the
course code. Knobs that the real node lacks exist for tests: dropping incoming chunks (seeded),
faster NAK timings, a raw sender that ignores NAKs (--no-cache). One JSON line per event on stdout.
Stdlib only. Exits on SIGTERM/SIGINT after printing a final "stats" event.
"""
import argparse
import base64
import hashlib
import json
import math
import os
import random
import select
import signal
import socket
import sys
import time
import zlib

CHUNK_RAW_BYTES = 727      # what the course sends: 972 base64 chars, a ~1,076-byte V=1 datagram
RECV_MAX_BYTES = 65535     # course receivers read with recvfrom(65535)
SAFE_TOKEN = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")

T0 = time.monotonic()


def now_ms():
    return int(time.time() * 1000)


def emit(ev, **fields):
    fields = {"ev": ev, "t": round((time.monotonic() - T0) * 1000), **fields}
    sys.stdout.write(json.dumps(fields, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def parse_body(body):
    """`k=v;k=v` split on every `;`, each on its first `=`; pieces without `=` are skipped."""
    out = {}
    for part in body.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def fmt_body(d):
    return ";".join(f"{k}={v}" for k, v in d.items())


# ---- the two dialects: encode returns bytes, decode returns (type, src, fields) or None ----------

class V1:
    name = "v1"

    @staticmethod
    def encode(src, seq, typ, body):
        return f"V=1|SRC={src}|SEQ={seq}|TYPE={typ}|TS={now_ms()}|BODY={fmt_body(body)}".encode()

    @staticmethod
    def decode(text):
        f = {}
        for part in text.split("|"):
            if "=" in part:
                k, v = part.split("=", 1)
                f[k] = v
        if f.get("V") != "1" or not f.get("SRC") or "TYPE" not in f:
            return None
        return f["TYPE"], f["SRC"], parse_body(f.get("BODY", ""))

    @staticmethod
    def sync_body(ip, port):
        return {"ip": ip, "port": port}

    @staticmethod
    def ping_body(ip, t0):
        return {"t0": t0}

    @staticmethod
    def pong_body(ip, t0):
        return {"t0": t0}


class Sprint62:
    name = "sprint62"

    @staticmethod
    def encode(src, seq, typ, body):
        if isinstance(body, dict):
            body = fmt_body(body)
        head = f"[{typ}]|{src}|{seq}|{now_ms()}|0|3|{body}"
        return f"{head}|{zlib.crc32(head.encode()) & 0xFFFFFFFF:08x}".encode()

    @staticmethod
    def decode(text):
        if "|" not in text:
            return None
        head, crc = text.rsplit("|", 1)
        if crc != f"{zlib.crc32(head.encode()) & 0xFFFFFFFF:08x}":
            return None
        parts = head.split("|", 6)
        if len(parts) != 7 or not (parts[0].startswith("[") and parts[0].endswith("]")) or not parts[1]:
            return None
        typ, src, body = parts[0][1:-1], parts[1], parts[6]
        if typ in ("MODEL_META", "MODEL_CHUNK"):
            return typ, src, parse_body(body)
        items = body.split(",")
        if typ == "PEER_SYNC" and len(items) >= 2:
            return typ, src, {"ip": items[0], "port": items[1]}
        if typ == "PING" and len(items) >= 2:
            return typ, src, {"ip": items[0], "t0": items[1]}
        if typ == "PONG" and len(items) >= 3:
            return typ, src, {"ip": items[0], "ok": items[1], "t0": items[2]}
        return typ, src, {"raw": body}

    @staticmethod
    def sync_body(ip, port):
        return f"{ip},{port}"

    @staticmethod
    def ping_body(ip, t0):
        return f"{ip},{t0}"

    @staticmethod
    def pong_body(ip, t0):
        return f"{ip},ok,{t0}"


# ---- the node -------------------------------------------------------------------------------------

class Buffer:
    def __init__(self, ver, total, sha256, sender_id, addr):
        self.ver, self.total, self.sha256 = ver, total, sha256
        self.sender_id, self.addr = sender_id, addr
        self.parts = {}
        self.started = self.last_activity = time.monotonic()
        self.last_nak = 0.0
        self.naks = 0


class Node:
    def __init__(self, a):
        self.a = a
        self.d = Sprint62 if a.dialect == "sprint62" else V1
        self.seq = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        # A big receive buffer: a 404 KB delta arrives as one unpaced ~600 KB burst of datagrams.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((a.bind, a.port))
        self.port = self.sock.getsockname()[1]
        self.peers = {}           # id -> {"addr": (ip, port), "last_seen": monotonic, "pinged": bool}
        self.static = [parse_hostport(p) for p in a.peer]
        self.buffers = {}         # ver -> Buffer (keyed by ver alone, as the course does)
        self.completed = set()
        self.cache = {}           # ver -> [raw chunk bytes] for NAK answers
        self.rng = random.Random(a.seed)
        self.drop_idx = {int(x) for x in a.drop_idx.split(",") if x.strip()} if a.drop_idx else set()
        self.dropped_once = set()
        self.received_files = 0
        self.stats = {"datagrams_in": 0, "datagrams_out": 0, "bytes_out": 0, "chunks_in": 0,
                      "chunks_dropped": 0, "dup_chunks": 0, "naks_sent": 0, "naks_received": 0,
                      "resent": 0, "ignored": 0}
        self.running = True
        self.deaf = False
        # SIGTERM wakes select() through this pair, so the peer exits at once.
        self.wake_r, wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno())
        self.handlers = {"PEER_SYNC": self.on_peer_sync, "PING": self.on_ping, "PONG": self.on_pong,
                         "MODEL_META": self.on_model_meta, "MODEL_CHUNK": self.on_model_chunk}
        if self.d is V1:
            self.handlers["CHUNK_NAK"] = self.on_chunk_nak   # Sprint 6.2 prints "Unknown message type"

    # -- sending --
    def send(self, typ, body, addr):
        self.seq += 1
        data = self.d.encode(self.a.id, self.seq, typ, body)
        try:
            self.sock.sendto(data, addr)
        except OSError as e:     # EMSGSIZE and friends: the course prints and carries on
            emit("send_error", type=typ, to=f"{addr[0]}:{addr[1]}", error=str(e))
            return
        self.stats["datagrams_out"] += 1
        self.stats["bytes_out"] += len(data)

    def broadcast_targets(self):
        targets = list(self.static)
        if self.a.broadcast:
            targets.append((self.a.broadcast, self.a.broadcast_port or self.port))
        return targets

    def broadcast(self, typ, body):
        for addr in self.broadcast_targets():
            self.send(typ, body, addr)

    def peer_sync(self):
        # The course's local-IP helper falls back to 127.0.0.1; --sync-ip models other nodes.
        self.broadcast("PEER_SYNC", self.d.sync_body(self.a.sync_ip, self.port))

    def send_file(self, path, ver):
        data = open(path, "rb").read()
        ver = ver or f"v{int(time.time())}"
        if not set(ver) <= SAFE_TOKEN:
            raise SystemExit(f"course_peer: --ver {ver!r} must be [A-Za-z0-9._-]")
        size = self.a.chunk_size
        chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
        sha = hashlib.sha256(data).hexdigest()
        if not self.a.no_cache:
            self.cache[ver] = chunks
        emit("send_start", ver=ver, bytes=len(data), chunks=len(chunks), sha256=sha)
        self.broadcast("MODEL_META", {"ver": ver, "size": len(data), "chunks": len(chunks), "sha256": sha})
        if self.d is V1:
            for i, c in enumerate(chunks):   # one unpaced burst, like the course
                self.broadcast("MODEL_CHUNK", self.chunk_body(ver, i, len(chunks), c))
        else:
            # Sprint 6.2: META, wait, then the chunks unicast to each known peer, paced.
            self.sleep_serving(self.a.s62_meta_wait)
            targets = [p["addr"] for p in self.peers.values()] or self.static
            for n, addr in enumerate(targets):
                if n:
                    self.sleep_serving(self.a.s62_peer_gap)
                for i, c in enumerate(chunks):
                    self.send("MODEL_CHUNK", self.chunk_body(ver, i, len(chunks), c), addr)
                    if self.a.s62_chunk_gap:
                        self.sleep_serving(self.a.s62_chunk_gap)
        emit("sent", ver=ver, chunks=len(chunks), bytes=len(data), sha256=sha)

    @staticmethod
    def chunk_body(ver, idx, total, raw):
        return {"ver": ver, "idx": idx, "total": total, "b64": base64.b64encode(raw).decode()}

    # -- receiving --
    def on_datagram(self, data, addr):
        self.stats["datagrams_in"] += 1
        if self.deaf:
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.stats["ignored"] += 1
            if self.d is Sprint62:   # its listener thread dies on the exception: the node goes deaf
                self.deaf = True
                emit("listener_dead", reason="non-UTF-8 datagram", src=f"{addr[0]}:{addr[1]}")
            return
        msg = self.d.decode(text)
        if msg is None or msg[1] == self.a.id:
            self.stats["ignored"] += 1
            return
        typ, src, body = msg
        peer_addr = addr
        if typ == "PEER_SYNC" and self.d is Sprint62:
            try:
                peer_addr = (body["ip"], int(body["port"]))
            except (KeyError, ValueError):
                pass
        self.touch_peer(src, peer_addr)
        handler = self.handlers.get(typ)
        if handler is None:
            self.stats["ignored"] += 1
            return
        try:
            handler(src, body, addr)
        except (KeyError, ValueError) as e:
            self.stats["ignored"] += 1
            emit("bad_packet", type=typ, src=src, error=str(e))

    def touch_peer(self, src, addr):
        p = self.peers.get(src)
        if p is None:
            emit("peer", id=src, address=f"{addr[0]}:{addr[1]}")
            self.peers[src] = p = {}
        p.update(addr=addr, last_seen=time.monotonic(), pinged=False)

    def on_peer_sync(self, src, body, addr):
        pass  # touch_peer did the work

    def on_ping(self, src, body, addr):
        # The PONG carries the responder's current time, not an echo of t0.
        self.send("PONG", self.d.pong_body(self.a.sync_ip, now_ms()), addr)

    def on_pong(self, src, body, addr):
        emit("pong", id=src, rtt_ms=now_ms() - int(body["t0"]))

    def on_model_meta(self, src, body, addr):
        ver, total, sha = body["ver"], int(body["chunks"]), body.get("sha256", "")
        old = self.buffers.get(ver)
        if old is not None and self.d is V1:
            return  # first wins: a repeated META changes nothing, not even an empty sha256
        # Sprint 6.2 rebuilds the buffer with empty parts on every META: chunks held are thrown away
        # (and with no NAK they never come back). After a merge the buffer is gone in both dialects,
        # so a late META starts a new one.
        self.buffers[ver] = Buffer(ver, total, sha, src, addr)
        emit("meta", ver=ver, src=src, chunks=total, size=int(body.get("size", -1)), sha256=sha,
             discarded=len(old.parts) if old is not None else 0,
             after_complete=ver in self.completed)

    def on_model_chunk(self, src, body, addr):
        ver, idx, total = body["ver"], int(body["idx"]), int(body["total"])
        self.stats["chunks_in"] += 1
        if self.should_drop(ver, idx):
            self.stats["chunks_dropped"] += 1
            return
        raw = base64.b64decode(body["b64"], validate=True)
        buf = self.buffers.get(ver)
        if buf is None:
            # Chunk before META: a buffer with an empty sha256 that a later META does not fill in.
            buf = self.buffers[ver] = Buffer(ver, total, "", src, addr)
            emit("stale_buffer" if ver in self.completed else "chunk_first", ver=ver, src=src, idx=idx)
        if idx in buf.parts:
            self.stats["dup_chunks"] += 1
        buf.parts[idx] = raw
        buf.last_activity = time.monotonic()
        if len(buf.parts) >= buf.total:   # the course counts parts
            self.finish(buf)

    def should_drop(self, ver, idx):
        if idx in self.drop_idx and (ver, idx) not in self.dropped_once:
            self.dropped_once.add((ver, idx))   # only the first copy: the resend gets through
            return True
        return self.a.drop_frac > 0 and self.rng.random() < self.a.drop_frac

    def finish(self, buf):
        del self.buffers[buf.ver]
        self.completed.add(buf.ver)
        try:
            data = b"".join(buf.parts[i] for i in range(buf.total))
        except KeyError:
            emit("incomplete", ver=buf.ver, reason="idx out of range", have=sorted(buf.parts)[:10])
            return
        sha = hashlib.sha256(data).hexdigest()
        if buf.sha256 and sha != buf.sha256:
            emit("sha_mismatch", ver=buf.ver, expected=buf.sha256, got=sha)
            return
        path = None
        if self.a.out:
            os.makedirs(self.a.out, exist_ok=True)
            path = os.path.join(self.a.out, buf.ver + ".pt")
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, path)
        self.received_files += 1
        emit("complete", ver=buf.ver, src=buf.sender_id, bytes=len(data), sha256=sha,
             verified=bool(buf.sha256), naks=buf.naks, ms=round((time.monotonic() - buf.started) * 1000),
             path=path)
        if self.a.exit_after_files and self.received_files >= self.a.exit_after_files:
            self.running = False

    def on_chunk_nak(self, src, body, addr):
        ver = body["ver"]
        self.stats["naks_received"] += 1
        missing = []
        for piece in body.get("missing", "").split(","):
            try:
                missing.append(int(piece))
            except ValueError:
                pass   # anything but a decimal integer is skipped
        chunks = self.cache.get(ver)
        emit("nak_received", ver=ver, src=src, count=len(missing), missing=missing[:50], cached=chunks is not None)
        if chunks is None:
            return     # the raw sender (or --no-cache) silently ignores NAKs
        total = len(chunks)
        for i in missing:
            if 0 <= i < total:   # unicast to where the NAK came from, once per NAK, no de-duplication
                self.send("MODEL_CHUNK", self.chunk_body(ver, i, total, chunks[i]), addr)
                self.stats["resent"] += 1

    # -- timers --
    def nak_check(self):
        if self.d is not V1:
            return   # Sprint 6.2 has no CHUNK_NAK
        now = time.monotonic()
        for buf in list(self.buffers.values()):
            if now - buf.last_activity < self.a.nak_quiet or now - buf.last_nak < self.a.nak_quiet:
                continue
            peer = self.peers.get(buf.sender_id)
            if peer is None:
                continue   # NAKs go only to senders still in the peer table
            missing = [i for i in range(buf.total) if i not in buf.parts][: self.a.nak_max]
            if not missing:
                continue
            buf.last_nak = now
            buf.naks += 1
            self.stats["naks_sent"] += 1
            self.send("CHUNK_NAK", {"ver": buf.ver, "missing": ",".join(map(str, missing))}, peer["addr"])
            emit("nak_sent", ver=buf.ver, to=buf.sender_id, missing=missing, have=len(buf.parts), total=buf.total)

    def liveness(self):
        now = time.monotonic()
        for pid, p in list(self.peers.items()):
            silent = now - p["last_seen"]
            if silent >= self.a.prune:
                del self.peers[pid]
                emit("peer_pruned", id=pid)
            elif silent >= self.a.ping_after and not p["pinged"]:
                p["pinged"] = True
                self.send("PING", self.d.ping_body(self.a.sync_ip, now_ms()), p["addr"])

    # -- loop --
    def sleep_serving(self, seconds):
        """Waits while still answering packets (Sprint 6.2 pacing happens inside the loop)."""
        end = time.monotonic() + seconds
        while self.running and time.monotonic() < end:
            self.poll(max(0.0, end - time.monotonic()))

    def poll(self, timeout):
        r, _, _ = select.select([self.sock, self.wake_r], [], [], timeout)
        if self.wake_r in r:
            try:
                self.wake_r.recv(64)
            except BlockingIOError:
                pass
        if self.sock in r:
            while True:   # drain everything queued before returning to the timers
                try:
                    data, addr = self.sock.recvfrom(RECV_MAX_BYTES, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                self.on_datagram(data, addr)

    def run(self):
        emit("listening", id=self.a.id, port=self.port, dialect=self.d.name)
        timers = {"sync": 0.0, "nak": self.a.nak_check, "live": 1.0,
                  "send": self.a.send_after if self.a.send else math.inf}
        start = time.monotonic()
        deadline = start + self.a.exit_after if self.a.exit_after else math.inf
        while self.running and time.monotonic() < deadline:
            now = time.monotonic() - start
            if now >= timers["sync"]:
                self.peer_sync()
                timers["sync"] = now + self.a.sync_every
            if now >= timers["nak"]:
                self.nak_check()
                timers["nak"] = now + self.a.nak_check
            if now >= timers["live"]:
                self.liveness()
                timers["live"] = now + 1.0
            if now >= timers["send"]:
                timers["send"] = math.inf
                for path in self.a.send:   # several files: each named for its file (delta_v<unix s>)
                    stem = "".join(c for c in os.path.basename(path).rsplit(".", 1)[0] if c in SAFE_TOKEN)
                    self.send_file(path, self.a.ver if len(self.a.send) == 1 else stem)
            wait = min(timers.values()) - (time.monotonic() - start)
            self.poll(max(0.0, min(wait, deadline - time.monotonic())))
        emit("stats", **self.stats, open_buffers={v: [len(b.parts), b.total] for v, b in self.buffers.items()})


def parse_hostport(s):
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"course_peer: --peer {s!r} must be host:port")
    return (host, int(port))


def main(argv=None):
    p = argparse.ArgumentParser(description="Course-compatible UDP overlay peer (test fixture).")
    p.add_argument("--id", required=True, help="node id, [A-Za-z0-9._-]")
    p.add_argument("--port", type=int, default=5000, help="UDP port to bind (0: any)")
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--broadcast", help="broadcast address for PEER_SYNC/META/CHUNK (e.g. 10.0.0.255)")
    p.add_argument("--broadcast-port", type=int, help="port the broadcasts go to (default: own port)")
    p.add_argument("--peer", action="append", default=[], help="host:port also sent every broadcast")
    p.add_argument("--dialect", choices=["v1", "sprint62"], default="v1")
    p.add_argument("--sync-ip", default="127.0.0.1", help="ip in PEER_SYNC bodies (course: 127.0.0.1)")
    p.add_argument("--out", help="folder for received, verified files (<ver>.pt)")
    p.add_argument("--send", action="append", default=[], help="file to send (repeatable)")
    p.add_argument("--ver", help="version id of the (single) sent file (default v<unix s>)")
    p.add_argument("--send-after", type=float, default=1.0, help="seconds before sending")
    p.add_argument("--chunk-size", type=int, default=CHUNK_RAW_BYTES, help="raw bytes per chunk")
    p.add_argument("--no-cache", action="store_true", help="raw sender: keep no chunks, ignore NAKs")
    p.add_argument("--drop-idx", default="", help="drop the first arriving copy of these chunk idx")
    p.add_argument("--drop-frac", type=float, default=0.0, help="drop this fraction of arriving chunks")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sync-every", type=float, default=5.0, help="s between PEER_SYNCs")
    p.add_argument("--nak-quiet", type=float, default=3.0, help="s of quiet (and since last NAK) before a NAK")
    p.add_argument("--nak-check", type=float, default=2.0, help="s between NAK checks")
    p.add_argument("--nak-max", type=int, default=25, help="idx per NAK")
    p.add_argument("--ping-after", type=float, default=15.0, help="s of silence before a PING")
    p.add_argument("--prune", type=float, default=30.0, help="s of silence before a peer is dropped")
    p.add_argument("--s62-meta-wait", type=float, default=1.0, help="Sprint 6.2: s from META to chunks")
    p.add_argument("--s62-chunk-gap", type=float, default=0.1, help="Sprint 6.2: s between chunks")
    p.add_argument("--s62-peer-gap", type=float, default=0.5, help="Sprint 6.2: s between peers")
    p.add_argument("--exit-after", type=float, default=0.0, help="exit after this many s (0: never)")
    p.add_argument("--exit-after-files", type=int, default=0, help="exit after receiving this many files")
    a = p.parse_args(argv)
    if not set(a.id) <= SAFE_TOKEN:
        p.error("--id must be [A-Za-z0-9._-]")
    node = Node(a)

    def stop(*_):
        node.running = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    node.run()


if __name__ == "__main__":
    main()
