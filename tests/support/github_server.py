"""A local GitHub-compatible HTTP server for the syncer's tests.

It answers the REST endpoints the syncer uses, in the shapes GitHub documents (every JSON
response is validated against GitHub's OpenAPI description, see ``github_openapi``):
releases (with ETag / 304), release assets (302 to a download URL), repository
contents (read and write), git refs (read, create, move) and pull requests (open, read, close,
comment; a test merges or closes one as a reviewer would). Contents live in a real git
repository, so tests read the commits with git. Tests can queue faults per route: 5xx,
rate limits with their headers (odd ones too), malformed JSON, slow answers, redirects
(loops, other origins), and bodies that trickle, never end or exceed what they declare.
Downloads can be served from a second origin (as GitHub's CDN does), and every request
that carried an ``Authorization`` header is recorded with the port it reached.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlparse

from tests.support.github_openapi import complete, spec, validate

RELEASES = "/repos/{owner}/{repo}/releases"
ASSET = "/repos/{owner}/{repo}/releases/assets/{asset_id}"
CONTENTS = "/repos/{owner}/{repo}/contents/{path}"
GIT_REF = "/repos/{owner}/{repo}/git/ref/{ref}"
GIT_REFS = "/repos/{owner}/{repo}/git/refs"
PULLS = "/repos/{owner}/{repo}/pulls"
PULL = "/repos/{owner}/{repo}/pulls/{pull_number}"
ISSUE_COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
GIT_REF_UPDATE = "/repos/{owner}/{repo}/git/refs/{ref}"
REPOSITORY = "/repos/{owner}/{repo}"
UPLOAD = "/repos/{owner}/{repo}/releases/{release_id}/assets"
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(repo: Path, *args: str, data: bytes | None = None) -> str:
    return (
        subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, check=True, timeout=30)
        .stdout.decode()
        .strip()
    )


@dataclass
class Fault:
    status: int
    body: bytes = b'{"message": "Server Error"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    method: str | None = None
    """Only requests of this method (None: any)."""
    repeat: int | None = 1
    """The body is sent this many times (None: until the client leaves or the server stops)."""
    interval_s: float = 0.0
    """Pause before each repetition of the body (a trickle)."""
    declare_length: bool = True
    """Send Content-Length (a finite body only); otherwise the body ends when the connection closes."""


@dataclass
class FakeGitHub:
    url: str
    owner: str
    source: str
    deploy: str
    repo_dir: Path
    releases: list[dict[str, Any]] = field(default_factory=list)
    assets: dict[int, tuple[str, bytes]] = field(default_factory=dict)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)
    """Pull request number -> the bodies of the comments on it, oldest first."""
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, path, status) of every request answered."""
    fault_delays: dict[str, int] = field(default_factory=dict)
    schema_errors: list[str] = field(default_factory=list)
    """Where a response strayed from GitHub's OpenAPI description (tests assert there is none)."""
    authorized: list[tuple[int, str]] = field(default_factory=list)
    """(port, path) of every request that carried an Authorization header."""
    sent_bytes: list[tuple[str, int]] = field(default_factory=list)
    """(path, body bytes written) of every fault answered, once its body ended or the client left."""
    download_url: str = ""
    """The origin asset downloads are redirected to (default: this server's own)."""
    closed: threading.Event = field(default_factory=threading.Event)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _next_id: int = 1000

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def publish(
        self,
        tag: str,
        asset_name: str,
        data: bytes,
        *,
        prerelease: bool = False,
        draft: bool = False,
        digest: str | None = "auto",
        published_at: str | None = None,
    ) -> dict[str, Any]:
        """A release with one asset, as the training repository's workflow would publish it."""
        with self.lock:
            release = self.create_release(tag, prerelease=prerelease, draft=draft, published_at=published_at)
            self.add_asset(release, asset_name, data, digest=digest)
            return release

    def add_asset(
        self, release: dict[str, Any], asset_name: str, data: bytes, digest: str | None = "auto"
    ) -> dict[str, Any]:
        with self.lock:
            asset_id = self.new_id()
            base = f"{self.url}/repos/{self.owner}/{self.source}"
            asset = {
                "url": f"{base}/releases/assets/{asset_id}",
                "id": asset_id,
                "node_id": f"RA_{asset_id}",
                "name": asset_name,
                "label": None,
                "content_type": "application/zip",
                "state": "uploaded",
                "size": len(data),
                "download_count": 0,
                "created_at": _now(),
                "updated_at": _now(),
                "browser_download_url": f"{self.downloads()}/downloads/{asset_id}/{quote(asset_name, safe='')}",
                "uploader": self._user(),
                "digest": ("sha256:" + hashlib.sha256(data).hexdigest()) if digest == "auto" else digest,
            }
            asset = complete(asset, "release-asset")
            release["assets"].append(asset)
            self.assets[asset_id] = (asset_name, data)
            return asset

    def create_release(
        self,
        tag: str,
        *,
        prerelease: bool = False,
        draft: bool = False,
        published_at: str | None = None,
        body: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            release_id = self.new_id()
            user = self._user()
            base = f"{self.url}/repos/{self.owner}/{self.source}"
            release = {
                "url": f"{base}/releases/{release_id}",
                "html_url": f"{self.url}/{self.owner}/{self.source}/releases/tag/{tag}",
                "assets_url": f"{base}/releases/{release_id}/assets",
                "upload_url": f"{base}/releases/{release_id}/assets{{?name,label}}",
                "tarball_url": f"{base}/tarball/{tag}",
                "zipball_url": f"{base}/zipball/{tag}",
                "id": release_id,
                "node_id": f"RE_{release_id}",
                "tag_name": tag,
                "target_commitish": "main",
                "name": tag,
                "body": body if body is not None else f"Model {tag}",
                "draft": draft,
                "prerelease": prerelease,
                "created_at": _now(),
                "published_at": None if draft else (published_at or _now()),
                "author": user,
                "assets": [],
            }
            release = complete(release, "release")
            self.releases.insert(0, release)
            return release

    def downloads(self) -> str:
        return self.download_url or self.url

    def serve_downloads_elsewhere(self) -> str:
        """Serve asset downloads from a second origin (another port), as GitHub redirects to its CDN."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), self.servers[0].RequestHandlerClass)
        threading.Thread(target=server.serve_forever, name="fake-github-cdn", daemon=True).start()
        self.servers.append(server)
        self.download_url = f"http://127.0.0.1:{server.server_address[1]}"
        return self.download_url

    def replace_asset(self, release: dict[str, Any], data: bytes) -> dict[str, Any]:
        """Delete the release's asset and upload other bytes under the same name (a republished tag)."""
        with self.lock:
            (old,) = release["assets"]
            release["assets"].clear()
            del self.assets[old["id"]]
            return self.add_asset(release, old["name"], data)

    def fail_next(self, route: str, *faults: Fault, after: int = 0) -> None:
        """Answer the next requests whose path matches ``route`` (a regex) with these faults,
        once ``after`` matching requests have been answered normally."""
        with self.lock:
            self.faults.setdefault(route, []).extend(faults)
            self.fault_delays[route] = after

    def _user(self) -> dict[str, Any]:
        user = {
            "login": self.owner,
            "id": 1,
            "node_id": "U_1",
            "type": "User",
            "site_admin": False,
            "url": f"{self.url}/users/{self.owner}",
            "html_url": f"{self.url}/{self.owner}",
            "avatar_url": "",
            "gravatar_id": None,
        }
        return complete(user, "simple-user")

    # -- git-backed repository contents -------------------------------------------------------------

    def git(self, *args: str) -> str:
        return _git(self.repo_dir, *args)

    def file_at(self, ref: str, path: str) -> bytes | None:
        result = subprocess.run(
            ["git", "-C", str(self.repo_dir), "show", f"{ref}:{path}"], capture_output=True, timeout=30
        )
        return result.stdout if result.returncode == 0 else None

    def commits(self, ref: str = "main") -> list[str]:
        return self.git("log", "--format=%H %s", ref).splitlines()

    def commit_file(self, branch: str, path: str, data: bytes, message: str) -> str:
        """Commit ``data`` as ``path`` on ``branch``; returns the commit."""
        with self.lock:
            self.git("checkout", "-q", branch)
            target = self.repo_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.git("add", path)
            self.git(
                "-c",
                "user.name=digits-syncer",
                "-c",
                "user.email=syncer@example.invalid",
                "commit",
                "-q",
                "-m",
                message,
            )
            return self.git("rev-parse", "HEAD")

    def pull(self, number: int) -> dict[str, Any]:
        (pull,) = [p for p in self.pulls if p["number"] == number]
        return pull

    def merge(self, number: int) -> str:
        """Merge pull request ``number`` as a reviewer pressing the button would (a merge commit); returns it."""
        with self.lock:
            pull = self.pull(number)
            head, base = pull["head"]["ref"], pull["base"]["ref"]
            self.git("checkout", "-q", base)
            message = f"Merge pull request #{number} from {self.owner}/{head}"
            self.git(
                "-c",
                "user.name=reviewer",
                "-c",
                "user.email=reviewer@example.invalid",
                "merge",
                "-q",
                "--no-ff",
                "-m",
                message,
                head,
            )
            commit = self.git("rev-parse", "HEAD")
            pull.update(
                state="closed",
                merged=True,
                merge_commit_sha=commit,
                merged_at=_now(),
                closed_at=_now(),
                updated_at=_now(),
            )
            pull["head"]["sha"] = self.git("rev-parse", head)
            return commit

    def close(self, number: int) -> None:
        """Close pull request ``number`` without merging it, as a reviewer would."""
        with self.lock:
            self.pull(number).update(state="closed", closed_at=_now(), updated_at=_now())


def _content_json(hub: FakeGitHub, path: str, ref: str, data: bytes, with_content: bool) -> dict[str, Any]:
    sha = hub.git("rev-parse", f"{ref}:{path}")
    base = f"{hub.url}/repos/{hub.owner}/{hub.deploy}"
    item: dict[str, Any] = {
        "type": "file",
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "size": len(data),
        "url": f"{base}/contents/{path}?ref={ref}",
        "git_url": f"{base}/git/blobs/{sha}",
        "html_url": f"{hub.url}/{hub.owner}/{hub.deploy}/blob/{ref}/{path}",
        "download_url": f"{hub.url}/raw/{hub.owner}/{hub.deploy}/{ref}/{path}",
        "_links": {
            "self": f"{base}/contents/{path}?ref={ref}",
            "git": f"{base}/git/blobs/{sha}",
            "html": f"{hub.url}/{hub.owner}/{hub.deploy}/blob/{ref}/{path}",
        },
    }
    if with_content:
        item.update(encoding="base64", content=base64.encodebytes(data).decode())
        return complete(item, "content-file")
    return item


def _pull_side(hub: FakeGitHub, branch: str) -> dict[str, Any]:
    """A pull request's head or base: branch, commit, user and repository."""
    repository = complete(
        {
            "id": 1,
            "node_id": "R_1",
            "name": hub.deploy,
            "full_name": f"{hub.owner}/{hub.deploy}",
            "private": False,
            "owner": hub._user(),
            "html_url": f"{hub.url}/{hub.owner}/{hub.deploy}",
            "default_branch": "main",
        },
        "repository",
    )
    side = {
        "ref": branch,
        "sha": hub.git("rev-parse", branch),
        "label": f"{hub.owner}:{branch}",
        "user": hub._user(),
        "repo": repository,
    }
    return complete(side, spec()["components"]["schemas"]["pull-request"]["properties"]["head"])


class _Handler(BaseHTTPRequestHandler):
    hub: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        template: str | None = None,
    ) -> None:
        if template is not None and raw is None:
            errors = validate(self.command, template, status, body)
            with self.hub.lock:
                self.hub.schema_errors.extend(errors)
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        with self.hub.lock:  # recorded before the client can see any of the answer, so tests never race it
            self.hub.requests.append((self.command, self.path, status))
        self.send_response(status)
        self.send_header(
            "Content-Type", "application/json; charset=utf-8" if raw is None else "application/octet-stream"
        )
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Remaining", "4999")
        self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _fault(self) -> bool:
        if self.headers.get("Authorization"):
            with self.hub.lock:
                self.hub.authorized.append((self.server.server_address[1], self.path))
        path = urlparse(self.path).path
        with self.hub.lock:
            for route, queue in self.hub.faults.items():
                if queue and re.search(route, path) and queue[0].method in (None, self.command):
                    if self.hub.fault_delays.get(route, 0) > 0:
                        self.hub.fault_delays[route] -= 1
                        continue
                    fault = queue.pop(0)
                    break
            else:
                return False
        with self.hub.lock:
            self.hub.requests.append((self.command, self.path, fault.status))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))  # keep the connection in step
        time.sleep(fault.delay_s)
        self.send_response(fault.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if fault.repeat is not None and fault.declare_length:
            self.send_header("Content-Length", str(len(fault.body) * fault.repeat))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        for key, value in fault.headers.items():
            self.send_header(key, value)
        self.end_headers()
        sent, count = 0, 0
        try:
            while (fault.repeat is None or count < fault.repeat) and not self.hub.closed.is_set():
                if fault.interval_s and self.hub.closed.wait(fault.interval_s):
                    break
                self.wfile.write(fault.body)
                self.wfile.flush()
                sent, count = sent + len(fault.body), count + 1
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        with self.hub.lock:
            self.hub.sent_bytes.append((self.path, sent))
        return True

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_GET(self) -> None:
        if self._fault():
            return
        hub, parsed = self.hub, urlparse(self.path)
        path, query = unquote(parsed.path), parse_qs(parsed.query)
        repo_prefix = f"/repos/{hub.owner}/"
        if path == f"/repos/{hub.owner}/{hub.source}/releases":
            with hub.lock:
                listing = json.dumps(hub.releases).encode()
            etag = '"' + hashlib.sha256(listing).hexdigest()[:32] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, headers={"ETag": etag})
                return
            self._send(200, body=json.loads(listing), headers={"ETag": etag}, template=RELEASES)
            return
        if match := re.fullmatch(rf"/repos/{hub.owner}/{hub.source}/releases/assets/(\d+)", path):
            asset_id = int(match.group(1))
            if asset_id not in hub.assets:
                self._send(404, NOT_FOUND, template=ASSET)
            elif "application/octet-stream" in (self.headers.get("Accept") or ""):
                name = quote(hub.assets[asset_id][0], safe="")
                self._send(302, headers={"Location": f"{hub.downloads()}/downloads/{asset_id}/{name}"}, template=ASSET)
            else:
                release = next(r for r in hub.releases for a in r["assets"] if a["id"] == asset_id)
                self._send(200, next(a for a in release["assets"] if a["id"] == asset_id), template=ASSET)
            return
        if match := re.match(r"/downloads/(\d+)/", path):
            if int(match.group(1)) in hub.assets:
                self._send(200, raw=hub.assets[int(match.group(1))][1])
            else:
                self._send(404, {"message": "Not Found"})
            return
        if match := re.fullmatch(rf"/raw/{hub.owner}/{hub.deploy}/([^/]+)/(.+)", path):
            data = hub.file_at(match.group(1), match.group(2))
            self._send(404, {"message": "Not Found"}) if data is None else self._send(200, raw=data)
            return
        if path in (f"{repo_prefix}{hub.deploy}", f"{repo_prefix}{hub.source}"):
            name = path.rsplit("/", 1)[-1]
            self._send(
                200,
                template=REPOSITORY,
                body=complete(
                    {
                        "id": 1,
                        "node_id": "R_1",
                        "name": name,
                        "full_name": f"{hub.owner}/{name}",
                        "private": False,
                        "owner": hub._user(),
                        "url": f"{hub.url}{path}",
                        "html_url": f"{hub.url}/{hub.owner}/{name}",
                        "default_branch": "main",
                    },
                    "full-repository",
                ),
            )
            return
        if match := re.fullmatch(rf"/repos/{hub.owner}/{hub.deploy}/contents/(.+)", path):
            ref = query.get("ref", ["main"])[0]
            with hub.lock:
                data = hub.file_at(ref, match.group(1))
                if data is None:
                    self._send(404, NOT_FOUND, template=CONTENTS)
                else:
                    self._send(200, _content_json(hub, match.group(1), ref, data, with_content=True), template=CONTENTS)
            return
        if match := re.fullmatch(rf"/repos/{hub.owner}/{hub.deploy}/git/ref/(.+)", path):
            with hub.lock:
                ref = match.group(1)
                result = subprocess.run(
                    [
                        "git",
                        "-C",
                        str(hub.repo_dir),
                        "rev-parse",
                        "--verify",
                        "-q",
                        ref.replace("heads/", "refs/heads/"),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
            if result.returncode != 0:
                self._send(404, NOT_FOUND, template=GIT_REF)
            else:
                self._send(
                    200,
                    template=GIT_REF,
                    body={
                        "ref": f"refs/{ref}",
                        "node_id": "REF_1",
                        "url": f"{hub.url}/repos/{hub.owner}/{hub.deploy}/git/refs/{ref}",
                        "object": {"sha": result.stdout.strip(), "type": "commit", "url": ""},
                    },
                )
            return
        if path == f"/repos/{hub.owner}/{hub.deploy}/pulls":
            head = query.get("head", [None])[0]
            with hub.lock:
                pulls = [
                    p
                    for p in hub.pulls
                    if p["state"] == query.get("state", ["open"])[0]
                    and (head is None or f"{hub.owner}:{p['head']['ref']}" == head)
                ]
            self._send(200, pulls, template=PULLS)
            return
        if match := re.fullmatch(rf"/repos/{hub.owner}/{hub.deploy}/pulls/(\d+)", path):
            with hub.lock:
                found = [p for p in hub.pulls if p["number"] == int(match.group(1))]
            self._send(200, found[0], template=PULL) if found else self._send(404, NOT_FOUND, template=PULL)
            return
        self._send(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def do_PATCH(self) -> None:
        if self._fault():
            return
        hub, path = self.hub, unquote(urlparse(self.path).path)
        body = self._body()
        if match := re.fullmatch(rf"/repos/{hub.owner}/{hub.deploy}/pulls/(\d+)", path):
            with hub.lock:
                found = [p for p in hub.pulls if p["number"] == int(match.group(1))]
                if not found:
                    self._send(404, {"message": "Not Found"})
                    return
                pull = found[0]
                for key in ("title", "body"):
                    if key in body:
                        pull[key] = body[key]
                if body.get("state") == "closed" and pull["state"] == "open":
                    pull.update(state="closed", closed_at=_now())
                pull["updated_at"] = _now()
            self._send(200, pull, template=PULL)
            return
        if match := re.fullmatch(rf"/repos/{hub.owner}/{hub.deploy}/git/refs/(heads/.+)", path):
            ref = match.group(1)
            with hub.lock:
                current = hub.git("rev-parse", ref.replace("heads/", "refs/heads/", 1))
                if not body.get("force") and hub.git("merge-base", current, body["sha"]) != current:
                    self._send(
                        422,
                        {
                            "message": "Update is not a fast forward",
                            "documentation_url": "https://docs.github.com/rest/git/refs",
                            "status": "422",
                        },
                        template=GIT_REF_UPDATE,
                    )
                    return
                hub.git("checkout", "-q", "--detach")
                hub.git("update-ref", ref.replace("heads/", "refs/heads/", 1), body["sha"])
            self._send(
                200,
                template=GIT_REF_UPDATE,
                body={
                    "ref": f"refs/{ref}",
                    "node_id": "REF_3",
                    "url": f"{hub.url}{path}",
                    "object": {"sha": body["sha"], "type": "commit", "url": ""},
                },
            )
            return
        self._send(404, {"message": "Not Found"})

    def do_PUT(self) -> None:
        if self._fault():
            return
        hub, path = self.hub, unquote(urlparse(self.path).path)
        match = re.fullmatch(rf"/repos/{hub.owner}/{hub.deploy}/contents/(.+)", path)
        if not match:
            self._send(404, {"message": "Not Found"})
            return
        file_path, body = match.group(1), self._body()
        branch = body.get("branch", "main")
        data = base64.b64decode(body["content"])
        with hub.lock:
            existing = hub.file_at(branch, file_path)
            current_sha = hub.git("rev-parse", f"{branch}:{file_path}") if existing is not None else None
            if existing is not None and body.get("sha") != current_sha:
                self._send(
                    409 if body.get("sha") else 422,
                    {
                        "message": f"{file_path} does not match {body.get('sha')}"
                        if body.get("sha")
                        else 'Invalid request.\n\n"sha" wasn\'t supplied.',
                        "documentation_url": "https://docs.github.com/rest/repos/contents",
                    },
                    template=CONTENTS,
                )
                return
            commit = hub.commit_file(branch, file_path, data, body["message"])
            self._send(
                201 if existing is None else 200,
                template=CONTENTS,
                body={
                    "content": _content_json(hub, file_path, branch, data, with_content=False),
                    "commit": {
                        "sha": commit,
                        "node_id": f"C_{commit[:8]}",
                        "url": f"{hub.url}/repos/{hub.owner}/{hub.deploy}/git/commits/{commit}",
                        "html_url": "",
                        "message": body["message"],
                        "author": {"name": "digits-syncer", "email": "", "date": _now()},
                        "committer": {"name": "digits-syncer", "email": "", "date": _now()},
                        "tree": {"sha": hub.git("rev-parse", "HEAD^{tree}"), "url": ""},
                        "parents": [],
                        "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
                    },
                },
            )

    def do_POST(self) -> None:
        if self._fault():
            return
        hub, parsed = self.hub, urlparse(self.path)
        path = unquote(parsed.path)
        if match := re.fullmatch(rf"/repos/{hub.owner}/{hub.source}/releases/(\d+)/assets", path):
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            release = next((r for r in hub.releases if r["id"] == int(match.group(1))), None)
            if release is None:
                self._send(404, NOT_FOUND)
                return
            name = parse_qs(parsed.query)["name"][0]
            self._send(201, hub.add_asset(release, name, data), template=UPLOAD)
            return
        body = self._body()
        if path == f"/repos/{hub.owner}/{hub.source}/releases":
            release = hub.create_release(
                body["tag_name"],
                prerelease=body.get("prerelease", False),
                draft=body.get("draft", False),
                body=body.get("body"),
            )
            self._send(201, release, template=RELEASES)
            return
        if path == f"/repos/{hub.owner}/{hub.deploy}/git/refs":
            with hub.lock:
                hub.git("branch", body["ref"].removeprefix("refs/heads/"), body["sha"])
            self._send(
                201,
                template=GIT_REFS,
                body={
                    "ref": body["ref"],
                    "node_id": "REF_2",
                    "url": f"{hub.url}{path}/{body['ref'].removeprefix('refs/')}",
                    "object": {"sha": body["sha"], "type": "commit", "url": ""},
                },
            )
            return
        if match := re.fullmatch(rf"/repos/{hub.owner}/{hub.deploy}/issues/(\d+)/comments", path):
            number = int(match.group(1))
            with hub.lock:
                if not any(p["number"] == number for p in hub.pulls):
                    self._send(404, NOT_FOUND, template=ISSUE_COMMENTS)
                    return
                hub.comments.setdefault(number, []).append(body["body"])
                comment_id = hub.new_id()
            base = f"{hub.url}/repos/{hub.owner}/{hub.deploy}"
            comment = {
                "id": comment_id,
                "node_id": f"IC_{comment_id}",
                "url": f"{base}/issues/comments/{comment_id}",
                "html_url": f"{hub.url}/{hub.owner}/{hub.deploy}/pull/{number}#issuecomment-{comment_id}",
                "body": body["body"],
                "user": hub._user(),
                "created_at": _now(),
                "updated_at": _now(),
                "issue_url": f"{base}/issues/{number}",
                "author_association": "OWNER",
            }
            self._send(201, complete(comment, "issue-comment"), template=ISSUE_COMMENTS)
            return
        if path == f"/repos/{hub.owner}/{hub.deploy}/pulls":
            with hub.lock:
                number = len(hub.pulls) + 1
                pull = {
                    "id": hub.new_id(),
                    "number": number,
                    "state": "open",
                    "title": body["title"],
                    "body": body.get("body"),
                    "url": f"{hub.url}{path}/{number}",
                    "html_url": f"{hub.url}/{hub.owner}/{hub.deploy}/pull/{number}",
                    "issue_url": f"{hub.url}/repos/{hub.owner}/{hub.deploy}/issues/{number}",
                    "merged": False,
                    "merge_commit_sha": None,
                    "merged_at": None,
                    "closed_at": None,
                    "head": _pull_side(hub, body["head"]),
                    "base": _pull_side(hub, body["base"]),
                    "user": hub._user(),
                    "created_at": _now(),
                    "updated_at": _now(),
                }
                pull = complete(pull, "pull-request")
                hub.pulls.append(pull)
            self._send(201, pull, template=PULLS)
            return
        self._send(404, {"message": "Not Found"})


@contextmanager
def fake_github(
    tmp_path: Path, owner: str = "digits-lab", source: str = "training", deploy: str = "deploy", host: str = "127.0.0.1"
) -> Iterator[FakeGitHub]:
    repo = tmp_path / "deploy-repo"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("deployment repository\n")
    _git(repo, "add", "README.md")
    _git(repo, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "initial")
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer((host, 0), handler)
    hub = FakeGitHub(f"http://{host}:{server.server_address[1]}", owner, source, deploy, repo)
    handler.hub = hub  # type: ignore[attr-defined]
    hub.servers.append(server)
    thread = threading.Thread(target=server.serve_forever, name="fake-github", daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.closed.set()  # ends trickles and endless bodies still being sent
        for running in hub.servers:
            running.shutdown()
            running.server_close()
