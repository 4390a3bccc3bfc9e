"""A strict third-party client (Python websockets, Debian's python3-websockets) against the real binary.

Run with Debian's interpreter: /usr/bin/python3 -m unittest discover -s tests/integration/ws -p 'test_*.py'
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

import websockets

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BINARY = os.environ.get("PEERCABLE_BIN", os.path.join(ROOT, "build", "peercable"))
SECRET = "peercable-python-test-secret"
BENCH = json.dumps({"channel": "BenchmarkChannel"}, separators=(",", ":"))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub: str) -> str:
    head = b64url(b'{"alg":"HS256","typ":"JWT"}') + "." + b64url(json.dumps({"sub": sub, "exp": int(time.time()) + 600}).encode())
    return head + "." + b64url(hmac.new(SECRET.encode(), head.encode(), hashlib.sha256).digest())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.data = tempfile.mkdtemp(prefix="peercable-py-")
        cls.proc = subprocess.Popen([BINARY, "--port", str(cls.port), "--jwt-secret", SECRET, "--data-dir", cls.data,
                                     "--log-level", "warn"])
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{cls.port}/health", timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        cls.proc.kill()
        raise RuntimeError("peercable did not start")

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        code = cls.proc.wait(timeout=10)
        if code != 0:
            raise AssertionError(f"peercable exited with {code}")

    def url(self, sub="py"):
        return f"ws://127.0.0.1:{self.port}/cable?token={token(sub)}"

    async def recv_json(self, ws, pred, timeout=5):
        deadline = time.time() + timeout
        while True:
            raw = await asyncio.wait_for(ws.recv(), timeout=max(0.01, deadline - time.time()))
            msg = json.loads(raw)
            if pred(msg):
                return msg

    def test_subprotocol_welcome_echo_ping_and_close(self):
        async def run():
            async with websockets.connect(self.url(), subprotocols=["actioncable-v1-json", "actioncable-unsupported"]) as ws:
                self.assertEqual(ws.subprotocol, "actioncable-v1-json")
                self.assertEqual(await self.recv_json(ws, lambda m: True), {"type": "welcome"})
                await ws.send(json.dumps({"command": "subscribe", "identifier": BENCH}))
                confirm = await self.recv_json(ws, lambda m: m.get("type") == "confirm_subscription")
                self.assertEqual(confirm["identifier"], BENCH)
                data = {"action": "echo", "text": "héllo 😀 <b>", "n": 1.5}
                await ws.send(json.dumps({"command": "message", "identifier": BENCH, "data": json.dumps(data)}))
                echo = await self.recv_json(ws, lambda m: "message" in m and m["message"].get("action") == "echo")
                self.assertEqual(echo["message"], data)
                pong_waiter = await ws.ping(b"py-ping")
                await asyncio.wait_for(pong_waiter, timeout=5)
                ping = await self.recv_json(ws, lambda m: m.get("type") == "ping", timeout=5)
                self.assertIsInstance(ping["message"], int)
                await ws.close(code=1000, reason="done")
                self.assertEqual(ws.close_code, 1000)
        asyncio.run(run())

    def test_compression_both_ways(self):
        async def run():
            async with websockets.connect(self.url(), subprotocols=["actioncable-v1-json"], compression="deflate",
                                          max_size=2**22) as ws:
                ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
                self.assertTrue(ext.startswith("permessage-deflate"), ext)
                await self.recv_json(ws, lambda m: m.get("type") == "welcome")
                await ws.send(json.dumps({"command": "subscribe", "identifier": BENCH}))
                await self.recv_json(ws, lambda m: m.get("type") == "confirm_subscription")
                for i in range(5):
                    big = ("abc" * 20000) + str(i)
                    await ws.send(json.dumps({"command": "message", "identifier": BENCH,
                                              "data": json.dumps({"action": "echo", "big": big})}))
                    echo = await self.recv_json(ws, lambda m: "message" in m and "big" in m["message"])
                    self.assertEqual(echo["message"]["big"], big)
        asyncio.run(run())

    def test_large_fragmented_message(self):
        async def run():
            async with websockets.connect(self.url(), subprotocols=["actioncable-v1-json"], compression=None,
                                          max_size=2**22) as ws:
                await self.recv_json(ws, lambda m: m.get("type") == "welcome")
                await ws.send(json.dumps({"command": "subscribe", "identifier": BENCH}))
                await self.recv_json(ws, lambda m: m.get("type") == "confirm_subscription")
                text = json.dumps({"command": "message", "identifier": BENCH,
                                   "data": json.dumps({"action": "echo", "blob": "z" * 500000})})
                # websockets sends an iterable as one fragmented message.
                await ws.send([text[i:i + 4096] for i in range(0, len(text), 4096)])
                echo = await self.recv_json(ws, lambda m: "message" in m and "blob" in m["message"], timeout=10)
                self.assertEqual(len(echo["message"]["blob"]), 500000)
        asyncio.run(run())

    def test_invalid_utf8_closes_with_1007(self):
        async def run():
            async with websockets.connect(self.url(), subprotocols=["actioncable-v1-json"], compression=None) as ws:
                await self.recv_json(ws, lambda m: m.get("type") == "welcome")
                # Bypass the library's own text encoding: write a raw masked text frame with bad UTF-8.
                ws.transport.write(bytes([0x81, 0x82, 0, 0, 0, 0, 0xC0, 0xAF]))
                with self.assertRaises(websockets.exceptions.ConnectionClosed):
                    while True:
                        await asyncio.wait_for(ws.recv(), timeout=5)
                self.assertEqual(ws.close_code, 1007)
        asyncio.run(run())


if __name__ == "__main__":
    unittest.main()
