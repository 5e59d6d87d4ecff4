"""Open an HTML report in a real headless Chromium, offline, and see what a reader would see.

The docs generator takes the README's report screenshots with it, and the tests check the reports with
it: what the page requested, what went to the console, the figures in the rendered page, a screenshot
and a printout. It speaks the Chrome DevTools Protocol over the pipe Chromium opens with
`--remote-debugging-pipe` (file descriptors 3 and 4: NUL-terminated JSON messages), so no port is
opened and no client library is needed.

The network is cut off three ways: every host name resolves to nothing, every connection goes to a
proxy on a loopback port where nothing listens, and every request the page makes is recorded (the
report's own file is the only one expected).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
OFFLINE_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--no-pings",
)
"""No name resolves, every connection goes to a port where nothing listens (the discard port on
loopback), and Chromium's own background traffic (updates, sync, metrics) is off."""
TIMEOUT_S = 60.0


class BrowserError(RuntimeError):
    """Chromium could not be started, or did not answer as the protocol says."""


def find_chromium() -> str | None:
    """The first Chromium-family browser on PATH."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Visit:
    """What happened when a page was opened."""

    url: str
    requests: list[str] = field(default_factory=list)
    """Every URL the page asked for, the page itself included."""
    failed: list[str] = field(default_factory=list)
    """`URL: reason` for each request that failed."""
    console_errors: list[str] = field(default_factory=list)
    """Console errors, uncaught exceptions and browser log errors (a blocked fetch lands here too)."""
    result: Any = None
    """What the inspection script returned."""
    screenshot: bytes = b""
    pdf: bytes = b""

    @property
    def outgoing(self) -> list[str]:
        """Requests for anything but the page itself."""
        return [url for url in self.requests if url != self.url]

    @property
    def pdf_pages(self) -> int:
        return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", self.pdf))


def _as_fds_3_and_4(commands: int, replies: int) -> None:
    """In the child before exec: the command pipe as descriptor 3 and the reply pipe as 4, where
    `--remote-debugging-pipe` expects them (moved above 9 first, so neither overwrites the other)."""
    high_commands = fcntl.fcntl(commands, fcntl.F_DUPFD, 10)
    high_replies = fcntl.fcntl(replies, fcntl.F_DUPFD, 10)
    os.dup2(high_commands, 3)
    os.dup2(high_replies, 4)
    os.close(high_commands)
    os.close(high_replies)


class Browser:
    """One headless Chromium; `visit` opens a page in a fresh tab."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="costaudit-chromium-")
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        arguments = [
            executable,
            "--headless",
            # The page is a local file this process just wrote, its scripts limited by its own policy;
            # the sandbox needs kernel features containers and root accounts often lack.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            *OFFLINE_FLAGS,
            "about:blank",
        ]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        try:
            self._process = subprocess.Popen(  # noqa: S603 - a browser found on PATH, fixed arguments
                arguments,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=self._log,
                # Only descriptors 3 and 4 are handed over (Python opens every other one
                # non-inheritable), so nothing else of this process reaches the browser.
                close_fds=False,
                preexec_fn=functools.partial(_as_fds_3_and_4, commands_read, replies_write),
            )
        except OSError as exc:
            raise BrowserError(f"cannot start {executable}: {exc}") from None
        finally:
            os.close(commands_read)
            os.close(replies_write)
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._events: list[dict[str, Any]] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._replies, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._messages.put(None)
                return
            pending += chunk
            *complete, pending = pending.split(b"\0")
            for message in complete:
                self._messages.put(json.loads(message))

    def _receive(self, timeout: float) -> dict[str, Any]:
        try:
            message = self._messages.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"no answer from the browser within {timeout:.0f} s") from None
        if message is None:
            raise BrowserError(f"the browser exited:\n{self.log()}")
        return message

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        try:
            os.write(self._commands, json.dumps(message).encode() + b"\0")
        except OSError as exc:
            raise BrowserError(f"the browser is gone ({exc}):\n{self.log()}") from None
        return self._next_id

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send a command and wait for its reply; events that arrive meanwhile are kept."""
        wanted = self.send(method, params, session)
        while True:
            message = self._receive(TIMEOUT_S)
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message')}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self._events.append(message)

    def wait_for(self, method: str, session: str, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        for index, event in enumerate(self._events):
            if event["method"] == method and event.get("sessionId") == session:
                return self._events.pop(index)
        while True:
            message = self._receive(timeout)
            if message.get("method") == method and message.get("sessionId") == session:
                return message
            if "method" in message:
                self._events.append(message)

    def visit(
        self,
        path: Path,
        *,
        width: int = 1280,
        height: int = 900,
        inspect: str = "null",
        full_page: bool = True,
        clip_height: int | None = None,
        pdf: bool = False,
    ) -> Visit:
        """Open `path` (a file URL), let it load, run `inspect` (a JavaScript expression whose value
        is returned as JSON), take a PNG screenshot (the whole page, or its top `clip_height` pixels),
        and print it to PDF if asked."""
        url = path.resolve().as_uri()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        try:
            for domain in ("Page", "Network", "Runtime", "Log"):
                self.call(f"{domain}.enable", session=session)
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            self._events.clear()
            self.call("Page.navigate", {"url": url}, session)
            self.wait_for("Page.loadEventFired", session)
            visit = Visit(url=url)
            visit.result = self._evaluate(inspect, session)
            visit.screenshot = self._screenshot(session, width, full_page, clip_height)
            if pdf:
                printed = self.call(
                    "Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True}, session
                )
                visit.pdf = base64.b64decode(printed["data"])
            self._record(visit, session)
            return visit
        finally:
            self.call("Target.closeTarget", {"targetId": target})

    def _evaluate(self, expression: str, session: str) -> Any:
        reply = self.call(
            "Runtime.evaluate",
            {"expression": f"JSON.stringify({expression})", "returnByValue": True},
            session,
        )
        if "exceptionDetails" in reply:
            raise BrowserError(f"inspection script failed: {reply['exceptionDetails']}")
        return json.loads(reply["result"]["value"])

    def _screenshot(
        self, session: str, width: int, full_page: bool, clip_height: int | None
    ) -> bytes:
        height = int(
            self.call("Page.getLayoutMetrics", session=session)["cssContentSize"]["height"]
        )
        if clip_height is not None:
            height = min(height, clip_height)
        params: dict[str, Any] = {"format": "png"}
        if full_page or clip_height is not None:
            params |= {
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            }
        return base64.b64decode(self.call("Page.captureScreenshot", params, session)["data"])

    def _record(self, visit: Visit, session: str) -> None:
        """Requests, failures and console errors among the events of this page."""
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            params = event.get("params", {})
            method = event["method"]
            if method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                visit.failed.append(f"{params.get('requestId')}: {params.get('errorText')}")
            elif method == "Runtime.exceptionThrown":
                visit.console_errors.append(json.dumps(params.get("exceptionDetails")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
                visit.console_errors.append(json.dumps(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                visit.console_errors.append(
                    f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}"
                )
        self._events = [event for event in self._events if event.get("sessionId") != session]

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for descriptor in (self._commands, self._replies):
            with contextlib.suppress(OSError):
                os.close(descriptor)
        self._log.close()
        self._profile.cleanup()


@contextlib.contextmanager
def browser(executable: str | None = None) -> Iterator[Browser]:
    """A headless Chromium for the duration of the block (BrowserError when none is installed)."""
    found = executable or find_chromium()
    if found is None:
        raise BrowserError(f"no Chromium found on PATH (looked for {', '.join(CHROMIUM_NAMES)})")
    instance = Browser(found)
    try:
        yield instance
    finally:
        instance.close()
