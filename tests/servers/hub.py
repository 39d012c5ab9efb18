#!/usr/bin/env python3
"""A small Hugging Face Hub for offline tests (Python stdlib only).

    python3 tests/servers/hub.py ROOT [--lfs-threshold N] [--page-size N] [--token T]

Serves the repos under ROOT: ROOT/models/<org>/<name>/ and ROOT/datasets/<org>/<name>/. The
files of a repo directory form the repo at one commit, read when the repo is first asked for:

  - a file of --lfs-threshold bytes or more (default 1024, env HUB_LFS_THRESHOLD) is an LFS
    file: listed with "lfs": {"oid": sha256, "size", "pointerSize"} and an "oid" that is the
    git blob sha1 of its LFS pointer; a smaller file's "oid" is the git blob sha1 of its bytes;
  - the commit id is the sha1 of the sorted lines "<path>\\0<oid>\\n";
  - `main` and the commit id are revisions; ROOT/<kind>/<org>/<name>.refs.json, if present, is
    a JSON list of further names (tags, branches) for that commit.

Prints `PORT <n>` (the Hub's port) then `CDN <m>` (the port of the CDN it redirects LFS files
to, another origin of this same process), one per line, once both listen on 127.0.0.1.

Routes, as the real Hub answers them:

  GET  /api/{models|datasets}/{org}/{name}[/revision/{rev}]  -> JSON, "sha" the commit
  GET  /api/{models|datasets}/{org}/{name}/tree/{rev}[/{path}][?recursive=true][&cursor=]
       -> JSON list of entries, --page-size (default 3, env HUB_PAGE_SIZE) a page, the next
          page in `Link: <absolute url>; rel="next"`
  HEAD|GET /{org}/{name}/resolve/{rev}/{path}   (datasets: /datasets/{org}/{name}/resolve/...)
       LFS file: 302, Location on the CDN port (signed), X-Repo-Commit, X-Linked-Etag,
                 X-Linked-Size, ETag;
       small file: 200, ETag (blob sha1), X-Repo-Commit, Content-Length; Range -> 206.
  GET|HEAD (CDN port) /repos/{kind}/{org}/{name}/{commit}/{path}?Expires=&Signature=
       Range -> 206 with Content-Range; If-Match other than the current ETag -> 412;
       a bad signature -> 403.

Errors: unknown repo 404 X-Error-Code: RepoNotFound; unknown revision 404 RevisionNotFound;
unknown file 404 EntryNotFound; with --token, a request to the Hub port without
`Authorization: Bearer <token>` gets 401 (X-Error-Code: RepoNotFound, as the Hub answers a
private repo to a stranger).

Test controls (on the Hub port, never needing the token):

  GET  /_stats        -> JSON {"routes": {route: {"requests", "bytes"}}, "files":
                         {"<kind>/<org>/<name>/<path>": {"requests", "bytes"}},
                         "total_bytes", "cdn_authorization": requests to the CDN carrying an
                         Authorization header, "log": ["METHOD target status bytes"...]}
                         bytes = body bytes sent.
  POST /_stats/reset
  POST /_mutate?repo=<kind>/<org>/<name>&path=<path>[&when=now|after-list|after-head]
                [&commit=1]   body: the file's new bytes
       Without commit=1 the commit is left as listed (its tree still lists the old oid, size
       and sha256) but the bytes served for that path, and their ETags, change: `now` at once,
       `after-list` right after the repo's next tree page is answered, `after-head` right after
       the next HEAD of that file's resolve URL is answered. With commit=1 the change is a new
       commit: `main` (and the refs) move to it, the old commit stays readable as it was.
       Answers JSON {"commit": <the commit main names after the change>}.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
SECRET = os.urandom(16)


def git_blob_oid(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256, size):
    return (
        "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha256, size)
    ).encode()


class Blob:
    """One version of a file's bytes, with what the Hub says of them."""

    def __init__(self, source, threshold):
        self.source = source
        h = hashlib.sha256()
        data_for_oid = b""
        size = 0
        with open(source, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                size += len(chunk)
                if size < threshold:
                    data_for_oid += chunk
        self.size = size
        self.sha256 = h.hexdigest()
        self.lfs = size >= threshold
        if self.lfs:
            pointer = lfs_pointer(self.sha256, size)
            self.pointer_size = len(pointer)
            self.oid = git_blob_oid(pointer)
        else:
            self.oid = git_blob_oid(data_for_oid)

    def etag(self):
        """The ETag the Hub gives: the sha256 for LFS files, the blob sha1 for others."""
        return self.sha256 if self.lfs else self.oid


class Entry:
    def __init__(self, listed):
        self.listed = listed  # what the commit's tree says
        self.served = listed  # what is served now


class Commit:
    def __init__(self, files):
        self.files = files  # path -> Entry
        lines = sorted("%s\0%s\n" % (p, e.listed.oid) for p, e in files.items())
        self.id = hashlib.sha1("".join(lines).encode()).hexdigest()


class Repo:
    def __init__(self, kind, org, name, path, threshold):
        self.key = "%s/%s/%s" % (kind, org, name)
        files = {}
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                files[rel] = Entry(Blob(full, threshold))
        c = Commit(files)
        self.commits = {c.id: c}
        self.main = c.id
        self.refs = ["main"]
        refs = path.rstrip("/") + ".refs.json"
        if os.path.exists(refs):
            with open(refs) as f:
                self.refs += list(json.load(f))
        self.pending = []  # (when, path, blob)

    def resolve(self, rev):
        if rev in self.refs:
            return self.commits[self.main]
        return self.commits.get(rev)


class Hub:
    def __init__(self, root, threshold, page_size, token):
        self.root = root
        self.threshold = threshold
        self.page_size = page_size
        self.token = token
        self.repos = {}
        # Mutated bytes live beside the repos (not a repo: neither models/ nor datasets/), so
        # they go when the test's directory goes.
        self.mutations = os.path.join(root, ".hub-mutations")
        os.makedirs(self.mutations, exist_ok=True)
        self.reset()

    def reset(self):
        with LOCK:
            self.stats = {
                "routes": {},
                "files": {},
                "total_bytes": 0,
                "cdn_authorization": 0,
                "log": [],
            }

    def repo(self, kind, org, name):
        key = (kind, org, name)
        with LOCK:
            if key not in self.repos:
                path = os.path.join(self.root, kind, org, name)
                if not all(p and p not in (".", "..") for p in key) or not os.path.isdir(path):
                    return None
                self.repos[key] = Repo(kind, org, name, path, self.threshold)
            return self.repos[key]

    def count(self, route, file_key, nbytes, line, auth_on_cdn=False):
        with LOCK:
            r = self.stats["routes"].setdefault(route, {"requests": 0, "bytes": 0})
            r["requests"] += 1
            r["bytes"] += nbytes
            if file_key:
                f = self.stats["files"].setdefault(file_key, {"requests": 0, "bytes": 0})
                f["requests"] += 1
                f["bytes"] += nbytes
            self.stats["total_bytes"] += nbytes
            if auth_on_cdn:
                self.stats["cdn_authorization"] += 1
            self.stats["log"].append(line)

    def fire(self, repo, when, path=None):
        """Apply the pending mutations of `repo` waiting for `when` (on `path`)."""
        with LOCK:
            keep = []
            for w, p, blob in repo.pending:
                if w == when and (path is None or p == path):
                    repo.commits[repo.main].files[p].served = blob
                else:
                    keep.append((w, p, blob))
            repo.pending = keep

    def sign(self, target):
        return hmac.new(SECRET, target.encode(), hashlib.sha256).hexdigest()


HUB = None
CDN_PORT = None


def parse_range(header, size):
    """(start, end inclusive) of a single `bytes=` range, None without one, "bad" if unsatisfiable."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    a, _, b = header[6:].strip().partition("-")
    try:
        if a == "":
            n = int(b)
            if n == 0:
                return "bad"
            return (max(0, size - n), size - 1)
        start = int(a)
        end = int(b) if b else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "bad"
    return (start, min(end, size - 1))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    is_cdn = False

    def log_message(self, *a):
        pass

    # -- plumbing ---------------------------------------------------------------------------
    def send(self, status, body=b"", headers=None, route="other", file_key=None, length=None):
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        sent = 0
        if self.command != "HEAD" and body:
            self.wfile.write(body)
            sent = len(body)
        self.account(route, file_key, sent, status)

    def account(self, route, file_key, sent, status):
        auth = self.is_cdn and bool(self.headers.get("Authorization"))
        HUB.count(
            route,
            file_key,
            sent,
            "%s %s%s %d %d" % (self.command, "cdn:" if self.is_cdn else "", self.path, status, sent),
            auth,
        )

    def error(self, status, code, message, route="error"):
        self.send(
            status,
            {"error": message},
            {"X-Error-Code": code, "X-Error-Message": message},
            route=route,
        )

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def base_url(self):
        return "http://%s" % (self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_port)

    def authorized(self):
        if HUB.token is None:
            return True
        return self.headers.get("Authorization") == "Bearer " + HUB.token

    def serve_blob(self, blob, route, file_key, extra):
        """200 or 206 (Range) of `blob`'s bytes, with `extra` headers."""
        size = blob.size
        headers = dict(extra)
        headers["Accept-Ranges"] = "bytes"
        headers["Content-Type"] = "application/octet-stream"
        rng = parse_range(self.headers.get("Range"), size)
        if rng == "bad":
            headers["Content-Range"] = "bytes */%d" % size
            return self.send(416, b"", headers, route=route, file_key=file_key)
        if rng is None:
            start, end, status = 0, size - 1, 200
        else:
            start, end, status = rng[0], rng[1], 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        n = max(0, end - start + 1)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        sent = 0
        if self.command != "HEAD" and n:
            try:
                with open(blob.source, "rb") as f:
                    f.seek(start)
                    left = n
                    while left:
                        chunk = f.read(min(left, 1 << 20))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        sent += len(chunk)
                        left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        self.account(route, file_key, sent, status)

    # -- dispatch ---------------------------------------------------------------------------
    def do_HEAD(self):
        self.dispatch()

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        try:
            if self.is_cdn:
                return self.cdn()
            url = urllib.parse.urlsplit(self.path)
            parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
            query = urllib.parse.parse_qs(url.query)
            if parts[0].startswith("_"):
                return self.control(parts, query)
            if not self.authorized():
                return self.error(401, "RepoNotFound", "Invalid credentials in Authorization header")
            if parts[0] == "api" and len(parts) >= 4 and parts[1] in ("models", "datasets"):
                return self.api(parts[1], parts[2], parts[3], parts[4:], query)
            kind = "models"
            if parts[0] == "datasets":
                kind, parts = "datasets", parts[1:]
            if len(parts) >= 5 and parts[2] == "resolve":
                return self.resolve(kind, parts[0], parts[1], parts[3], "/".join(parts[4:]))
            self.error(404, "NotFound", "no such route")
        except Exception as e:  # a bug here should show in the test, not hang it
            import traceback

            traceback.print_exc()
            self.error(500, "ServerError", repr(e))

    def control(self, parts, query):
        if parts == ["_stats"] and self.command == "GET":
            with LOCK:
                return self.send(200, json.loads(json.dumps(HUB.stats)), route="_control")
        if parts == ["_stats", "reset"] and self.command == "POST":
            self.body()
            HUB.reset()
            return self.send(200, {"ok": True}, route="_control")
        if parts == ["_mutate"] and self.command == "POST":
            data = self.body()
            kind, org, name = query["repo"][0].split("/")
            path = query["path"][0]
            when = query.get("when", ["now"])[0]
            repo = HUB.repo(kind, org, name)
            if repo is None:
                return self.error(404, "RepoNotFound", "no such repo")
            fd, src = tempfile.mkstemp(dir=HUB.mutations)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            blob = Blob(src, HUB.threshold)
            with LOCK:
                head = repo.commits[repo.main]
                if query.get("commit", ["0"])[0] == "1":
                    files = {p: Entry(e.listed) for p, e in head.files.items()}
                    files[path] = Entry(blob)
                    c = Commit(files)
                    repo.commits[c.id] = c
                    repo.main = c.id
                elif path not in head.files:
                    return self.error(404, "EntryNotFound", "no such file")
                elif when == "now":
                    head.files[path].served = blob
                elif when in ("after-list", "after-head"):
                    repo.pending.append((when, path, blob))
                else:
                    return self.error(400, "BadRequest", "when: now|after-list|after-head")
                return self.send(200, {"commit": repo.main}, route="_control")
        self.error(404, "NotFound", "no such control")

    def api(self, kind, org, name, rest, query):
        repo = HUB.repo(kind, org, name)
        if repo is None:
            return self.error(404, "RepoNotFound", "Repository not found", route="api_revision")
        if not rest or rest[0] == "revision":
            rev = rest[1] if len(rest) > 1 else "main"
            commit = repo.resolve(rev)
            if commit is None:
                return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev, route="api_revision")
            info = {
                "_id": hashlib.sha1(repo.key.encode()).hexdigest()[:24],
                "id": "%s/%s" % (org, name),
                "private": HUB.token is not None,
                "sha": commit.id,
                "lastModified": "2024-01-01T00:00:00.000Z",
                "siblings": [
                    {"rfilename": p} for p in sorted(commit.files) if p not in hostile("hidesib")
                ],
            }
            return self.send(200, info, route="api_revision")
        if rest[0] == "tree" and len(rest) >= 2:
            return self.tree(repo, kind, org, name, rest[1], "/".join(rest[2:]).strip("/"), query)
        self.error(404, "NotFound", "no such route")

    def tree(self, repo, kind, org, name, rev, sub, query):
        commit = repo.resolve(rev)
        if commit is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev, route="api_tree")
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        prefix = sub + "/" if sub else ""
        entries = {}
        for p in sorted(commit.files):
            if not p.startswith(prefix):
                continue
            if p in hostile("hide") or p in hostile("hidesib"):
                # Left out of the tree, still served by resolve.
                continue
            rest = p[len(prefix):].split("/")
            # the directories on the way
            for i in range(1, len(rest)):
                if not recursive and i > 1:
                    break
                d = prefix + "/".join(rest[:i])
                entries.setdefault(
                    d,
                    {
                        "type": "directory",
                        "oid": hashlib.sha1(("tree " + d).encode()).hexdigest(),
                        "size": 0,
                        "path": d,
                    },
                )
            if not recursive and len(rest) > 1:
                continue
            b = commit.files[p].listed
            e = {"type": "file", "oid": b.oid, "size": b.size, "path": p}
            if p in hostile("zero"):
                e["size"] = 0
            if b.lfs:
                e["lfs"] = {"oid": b.sha256, "size": b.size, "pointerSize": b.pointer_size}
            entries[p] = e
        if sub and not entries:
            return self.error(404, "EntryNotFound", "%s does not exist on %s" % (sub, rev), route="api_tree")
        listing = [entries[k] for k in sorted(entries)]
        start = int(query.get("cursor", ["0"])[0] or 0)
        page = listing[start : start + HUB.page_size]
        headers = {}
        if start + HUB.page_size < len(listing):
            q = dict((k, v[0]) for k, v in query.items())
            q["cursor"] = str(start + HUB.page_size)
            nxt = "%s%s?%s" % (
                self.base_url(),
                urllib.parse.urlsplit(self.path).path,
                urllib.parse.urlencode(q),
            )
            style = (hostile("link") or [""])[0]
            if style == "single":
                headers["Link"] = "<%s>; rel='next'" % nxt
            elif style == "comma":
                headers["Link"] = '<%s&x=a,b>; rel="next"' % nxt
            elif style == "twonext":
                empty = "%s%s?cursor=999999" % (self.base_url(), urllib.parse.urlsplit(self.path).path)
                headers["Link"] = '<%s>; rel="next", <%s>; rel="next"' % (empty, nxt)
            else:
                headers["Link"] = '<%s>; rel="next"' % nxt
        self.send(200, page, headers, route="api_tree")
        if start + HUB.page_size >= len(listing):
            HUB.fire(repo, "after-list")

    def resolve(self, kind, org, name, rev, path):
        route = "resolve_" + self.command.lower()
        repo = HUB.repo(kind, org, name)
        if repo is None:
            return self.error(404, "RepoNotFound", "Repository not found", route=route)
        commit = repo.resolve(rev)
        if commit is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev, route=route)
        entry = commit.files.get(path)
        if entry is None:
            return self.error(404, "EntryNotFound", "Entry not found", route=route)
        blob = entry.served
        file_key = "%s/%s" % (repo.key, path)
        headers = {"X-Repo-Commit": commit.id, "ETag": '"%s"' % blob.etag()}
        if blob.lfs:
            target = "/repos/%s/%s/%s" % (repo.key, commit.id, urllib.parse.quote(path))
            expires = str(int(time.time()) + 3600)
            sig = HUB.sign(target + "?" + expires)
            host = "127.0.0.1:%d" % CDN_PORT
            if "backslash" in hostile("location"):
                # WHATWG parsers read the host before the backslash, RFC 3986 ones after the @.
                host = "127.0.0.1:%d\\@127.0.0.1:%d" % (CDN_PORT, CDN_PORT)
            headers["Location"] = "http://%s%s?Expires=%s&Signature=%s" % (
                host,
                target,
                expires,
                sig,
            )
            headers["X-Linked-Etag"] = '"%s"' % blob.sha256
            headers["X-Linked-Size"] = str(blob.size)
            self.send(302, b"", headers, route=route, file_key=file_key)
        else:
            if self.headers.get("If-Match") and self.headers["If-Match"] != headers["ETag"]:
                self.send(412, b"", headers, route=route, file_key=file_key)
            else:
                self.serve_blob(blob, route, file_key, headers)
        if self.command == "HEAD":
            HUB.fire(repo, "after-head", path)

    def cdn(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        expires = query.get("Expires", [""])[0]
        sig = query.get("Signature", [""])[0]
        if not hmac.compare_digest(sig, HUB.sign(url.path + "?" + expires)):
            return self.send(403, b"bad signature", route="cdn")
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        # repos/<kind>/<org>/<name>/<commit>/<path...>
        kind, org, name, commit_id = parts[1:5]
        path = "/".join(parts[5:])
        repo = HUB.repo(kind, org, name)
        commit = repo.commits.get(commit_id) if repo else None
        entry = commit.files.get(path) if commit else None
        if entry is None:
            return self.send(404, b"", route="cdn")
        blob = entry.served
        etag = '"%s"' % blob.sha256
        im = self.headers.get("If-Match")
        file_key = "%s/%s" % (repo.key, path)
        if im and im.strip() != "*" and etag not in [t.strip() for t in im.split(",")]:
            return self.send(412, b"", {"ETag": etag}, route="cdn", file_key=file_key)
        self.serve_blob(blob, "cdn_" + self.command.lower(), file_key, {"ETag": etag})


class CdnHandler(Handler):
    is_cdn = True


def hostile(kind):
    """HUB_HOSTILE="hide:PATH,hidesib:PATH (from the siblings too),zero:PATH,link:single|comma|twonext,location:backslash": answers of
    a lying mirror (files left out of the tree or listed as empty, Link headers and Locations that
    parsers read differently), for the tests that a scan of such a Hub does not pass."""
    out = []
    for item in os.environ.get("HUB_HOSTILE", "").split(","):
        k, _, v = item.partition(":")
        if k == kind:
            out.append(v)
    return out


def main():
    global HUB, CDN_PORT
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--lfs-threshold", type=int, default=int(os.environ.get("HUB_LFS_THRESHOLD", 1024)))
    ap.add_argument("--page-size", type=int, default=int(os.environ.get("HUB_PAGE_SIZE", 3)))
    ap.add_argument("--token", default=os.environ.get("HUB_TOKEN") or None)
    a = ap.parse_args()
    HUB = Hub(os.path.abspath(a.root), a.lfs_threshold, max(1, a.page_size), a.token)
    ThreadingHTTPServer.daemon_threads = True
    hub = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    cdn = ThreadingHTTPServer(("127.0.0.1", 0), CdnHandler)
    CDN_PORT = cdn.server_port
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    print("PORT %d" % hub.server_port, flush=True)
    print("CDN %d" % CDN_PORT, flush=True)
    try:
        hub.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
