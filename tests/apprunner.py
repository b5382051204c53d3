"""Start `python app.py` as a user would, on a free port of 127.0.0.1, and stop it afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hub_server import free_port

ROOT = Path(__file__).resolve().parents[1]


class AppServer:
    def __init__(self, model: str | None = None, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {**os.environ, "GRADIO_SERVER_PORT": str(self.port), "GRADIO_SERVER_NAME": "127.0.0.1",
                    "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
        if model is not None:
            self.env["HRVGAN_MODEL"] = model

    def __enter__(self) -> "AppServer":
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}:\n{self.proc.stdout.read()}")
            try:
                urllib.request.urlopen(self.url, timeout=1)
                return self
            except OSError:
                time.sleep(0.3)
        self.proc.kill()
        raise TimeoutError("app.py did not start serving within 90 s")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.output = self.proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.output = self.proc.communicate()[0]
