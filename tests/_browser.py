"""A headless Chromium driven through the Chrome DevTools protocol, for tests of HTML pages.

Chromium is started with ``--remote-debugging-pipe``: protocol messages are
JSON texts ended by a NUL byte, written to the browser's file descriptor 3 and
read from its descriptor 4. No port, no websocket library, no network.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_browser():
    """Path of a Chromium-family browser on PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _high_pipe():
    """A pipe whose two ends are descriptors >= 10."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return tuple(ends)


class ProtocolError(RuntimeError):
    pass


class Browser:
    """One headless browser; :meth:`open` loads a page and records what it did."""

    def __init__(self, executable, timeout=60):
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="skhash-chromium-")
        to_browser_r, self._to_browser = _high_pipe()
        self._from_browser, from_browser_w = _high_pipe()
        args = [
            executable,
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            # No name resolves: a page under test can reach no host (its requests are
            # still recorded, and a test asserts there are none).
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={self.profile.name}",
            "about:blank",
        ]
        # A small Python launcher puts the pipe ends on the descriptors 3 and 4
        # that Chromium reads and writes (the pipe ends are >= 10: no collision).
        launcher = (
            "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.close(int(sys.argv[1])); os.close(int(sys.argv[2])); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", launcher, str(to_browser_r), str(from_browser_w), *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events = []

    # -- protocol -------------------------------------------------------------

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the browser did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise ProtocolError("the browser closed the pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None):
        """Send a command and return its result; events received meanwhile are recorded."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ProtocolError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method, session, timeout=None):
        """Wait for an event of ``method`` in ``session`` (recorded events included)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and event.get("sessionId") == session:
                    return event
            seen = len(self.events)
            event = self._read_message(deadline)
            if "method" in event:
                self.events.append(event)

    # -- pages ----------------------------------------------------------------

    def open(self, url, width=1400, height=1000):
        """Load ``url`` in a new tab and return a :class:`Page`."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        start = len(self.events)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session)
        return Page(self, session, start)

    def close(self):
        try:
            self.send("Browser.close")
        except (ProtocolError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self.profile.cleanup()


class Page:
    """A loaded tab: evaluate JavaScript, take screenshots, list requests and errors."""

    def __init__(self, browser, session, first_event):
        self.browser = browser
        self.session = session
        self.first_event = first_event

    def evaluate(self, expression):
        """The value of a JavaScript expression (JSON-serialisable), awaited if a promise."""
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        if "exceptionDetails" in result:
            raise ProtocolError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def _events(self, method):
        return [
            e["params"]
            for e in self.browser.events[self.first_event :]
            if e["method"] == method and e.get("sessionId") == self.session
        ]

    def requests(self):
        """URLs of every request the page made."""
        return [e["request"]["url"] for e in self._events("Network.requestWillBeSent")]

    def failed_requests(self):
        return [e.get("errorText", "") for e in self._events("Network.loadingFailed")]

    def errors(self):
        """Console errors, uncaught exceptions and error log entries, as text."""
        errors = []
        for e in self._events("Runtime.consoleAPICalled"):
            if e["type"] in ("error", "assert"):
                errors.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in e["args"])
                )
        for e in self._events("Runtime.exceptionThrown"):
            errors.append(str(e["exceptionDetails"].get("exception", e["exceptionDetails"])))
        for e in self._events("Log.entryAdded"):
            if e["entry"]["level"] == "error":
                errors.append(f"{e['entry'].get('url', '')}: {e['entry']['text']}")
        return errors

    def screenshot(self, path, full_page=True):
        """Save a PNG screenshot (the whole page by default) and return its bytes."""
        params = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        data = base64.b64decode(
            self.browser.send("Page.captureScreenshot", params, session=self.session)["data"]
        )
        with open(path, "wb") as f:
            f.write(data)
        return data
