"""A small Hub-compatible HTTP server for tests: the real huggingface_hub client talks to it.

It speaks the endpoints that `create_repo`, `upload_folder`, `hf_hub_download` and `model_info`
use (create repo, preupload, commit, model info by revision, tree, resolve, validate-yaml),
keeps repos in memory and accepts any bearer token except "bad-token".  Start it with
``HubServer()`` as a context manager and point ``HF_ENDPOINT`` at ``server.url``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

BAD_TOKEN = "bad-token"


def _error(status: int, code: str | None, message: str) -> JSONResponse:
    headers = {"X-Error-Code": code, "X-Error-Message": message} if code else {"X-Error-Message": message}
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class Store:
    def __init__(self):
        self.repos: dict[str, dict] = {}  # repo_id -> {"private", "branches": {name: sha}, "commits": {sha: files}}
        self.lock = threading.Lock()

    def files_at(self, repo_id: str, revision: str):
        repo = self.repos[repo_id]
        sha = repo["branches"].get(revision, revision)
        return sha, repo["commits"].get(sha)


def build_app(store: Store) -> FastAPI:
    app = FastAPI()

    def authorised(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth.split(" ", 1)[1] != BAD_TOKEN

    def check_repo(repo_id: str, revision: str | None = None):
        if repo_id not in store.repos:
            return _error(404, "RepoNotFound", f"Repository {repo_id} not found")
        if revision is not None and store.files_at(repo_id, revision)[1] is None:
            return _error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return None

    @app.post("/api/repos/create")
    async def create_repo(request: Request):
        if not authorised(request):
            return _error(401, None, "Invalid credentials in Authorization header")
        body = await request.json()
        repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
        url = f"{request.base_url}{repo_id}".replace("//" + repo_id, "/" + repo_id)
        with store.lock:
            if repo_id in store.repos:
                return JSONResponse({"error": "You already created this model repo", "url": url}, status_code=409)
            sha = hashlib.sha1(repo_id.encode()).hexdigest()
            store.repos[repo_id] = {"private": body.get("visibility") == "private",
                                    "branches": {"main": sha}, "commits": {sha: {}}}
        return {"url": url, "name": repo_id}

    @app.post("/api/validate-yaml")
    async def validate_yaml(request: Request):
        return {"errors": [], "warnings": []}

    @app.post("/api/models/{ns}/{name}/preupload/{revision}")
    async def preupload(ns: str, name: str, revision: str, request: Request):
        if (err := check_repo(f"{ns}/{name}")):
            return err
        body = await request.json()
        return {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in body["files"]],
                "commitOid": store.files_at(f"{ns}/{name}", "main")[0]}

    @app.post("/api/models/{ns}/{name}/commit/{revision}")
    async def commit(ns: str, name: str, revision: str, request: Request):
        repo_id = f"{ns}/{name}"
        if not authorised(request):
            return _error(401, None, "Invalid credentials in Authorization header")
        if (err := check_repo(repo_id)):
            return err
        lines = [json.loads(line) for line in (await request.body()).splitlines() if line.strip()]
        with store.lock:
            repo = store.repos[repo_id]
            parent = repo["branches"].get(revision, repo["branches"]["main"])
            files = dict(repo["commits"][parent])
            for item in lines:
                key, value = item["key"], item["value"]
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    files = {p: c for p, c in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
                elif key != "header":
                    return _error(400, None, f"unsupported commit operation {key}")
            sha = hashlib.sha1(f"{parent}{time.time_ns()}".encode()).hexdigest()
            repo["commits"][sha] = files
            repo["branches"][revision] = sha
        return {"commitUrl": f"{request.base_url}{repo_id}/commit/{sha}", "commitOid": sha, "success": True}

    def info(repo_id: str, revision: str):
        sha, files = store.files_at(repo_id, revision)
        return {"id": repo_id, "modelId": repo_id, "sha": sha, "private": store.repos[repo_id]["private"],
                "siblings": [{"rfilename": p, "size": len(c)} for p, c in sorted(files.items())], "tags": []}

    @app.get("/api/models/{ns}/{name}")
    async def model_info(ns: str, name: str):
        return check_repo(f"{ns}/{name}") or info(f"{ns}/{name}", "main")

    @app.get("/api/models/{ns}/{name}/revision/{revision}")
    async def model_info_rev(ns: str, name: str, revision: str):
        return check_repo(f"{ns}/{name}", revision) or info(f"{ns}/{name}", revision)

    @app.get("/api/models/{ns}/{name}/tree/{revision}")
    async def tree(ns: str, name: str, revision: str):
        if (err := check_repo(f"{ns}/{name}", revision)):
            return err
        _, files = store.files_at(f"{ns}/{name}", revision)
        return [{"type": "file", "path": p, "size": len(c), "oid": hashlib.sha1(c).hexdigest()}
                for p, c in sorted(files.items())]

    @app.api_route("/{ns}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
    async def resolve(ns: str, name: str, revision: str, path: str, request: Request):
        repo_id = f"{ns}/{name}"
        if (err := check_repo(repo_id, revision)):
            return err
        sha, files = store.files_at(repo_id, revision)
        if path not in files:
            return _error(404, "EntryNotFound", f"{path} does not exist on {revision}")
        content = files[path]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{hashlib.sha256(content).hexdigest()}"',
                   "Content-Length": str(len(content))}
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers)
        return Response(content=content, headers=headers, media_type="application/octet-stream")

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubServer:
    """Runs the app with uvicorn in a background thread on 127.0.0.1."""

    def __init__(self, port: int | None = None):
        self.store = Store()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(build_app(self.store), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "HubServer":
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("the test Hub server did not start within 10 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=5)
