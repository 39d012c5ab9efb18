//! HTTP range reads (`https://` files, and the Hugging Face Hub's API and resolve URLs).
//!
//! Redirects are followed here, not by the client, so that a token meant for one origin is
//! never sent to another, and so that the headers of every hop can be read.

use super::{Access, Listing, RemoteFile, Resolved};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 8;
/// Largest JSON answer read (one page of a listing).
pub const MAX_JSON: u64 = 32 << 20;

#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    /// The origin (`scheme://host:port`) a bearer token is sent to, and the token.
    auth: Option<(String, String)>,
}

/// What a HEAD (or the first hop of one) answered.
#[derive(Debug)]
pub struct Head {
    pub url: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
}

fn origin(u: &url::Url) -> String {
    format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str().unwrap_or(""),
        u.port_or_known_default().unwrap_or(0)
    )
}

/// `http://` is read only from loopback hosts (a local server, a test), or when
/// `MODELGATE_ALLOW_HTTP=1` says so: a model fetched in clear text can be swapped on the way.
pub fn check_scheme(u: &url::Url) -> Result<(), String> {
    match u.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match u.host() {
                Some(url::Host::Ipv4(a)) => a.is_loopback(),
                Some(url::Host::Ipv6(a)) => a.is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if loopback || std::env::var("MODELGATE_ALLOW_HTTP").is_ok_and(|v| v == "1") {
                Ok(())
            } else {
                Err(format!(
                    "{u}: plain http:// is read only from loopback hosts (set MODELGATE_ALLOW_HTTP=1 to allow it)"
                ))
            }
        }
        s => Err(format!("{u}: the scheme {s}:// is not read over HTTP")),
    }
}

fn status_error(url: &str, status: StatusCode, headers: &HeaderMap) -> io::Error {
    let code = headers
        .get("x-error-code")
        .and_then(|v| v.to_str().ok())
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let kind = match status {
        StatusCode::NOT_FOUND => io::ErrorKind::NotFound,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    let hint = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            "; a gated or private repository needs HF_TOKEN (or the store's credentials)"
        }
        _ => "",
    };
    io::Error::new(kind, format!("{url}: HTTP {status}{code}{hint}"))
}

pub fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

impl Client {
    /// A client; `auth` is (a URL of the origin the token belongs to, the token).
    pub fn new(auth: Option<(&str, String)>) -> io::Result<Client> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("modelgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| io::Error::other(format!("cannot make an HTTP client: {e}")))?;
        let auth = match auth {
            Some((u, t)) => {
                let u = url::Url::parse(u).map_err(|e| io::Error::other(format!("{u}: {e}")))?;
                Some((origin(&u), t))
            }
            None => None,
        };
        Ok(Client { http, auth })
    }

    fn request(&self, method: Method, url: &url::Url) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, url.clone());
        if let Some((o, t)) = &self.auth {
            if *o == origin(url) {
                r = r.bearer_auth(t);
            }
        }
        r
    }

    /// Send `method` to `url`, following redirects (each hop checked: https, or loopback
    /// http), with `headers`; at most three tries when the server fails or is unreachable.
    /// `follow` false stops at the first answer (its `Location` is in the headers).
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        follow: bool,
    ) -> io::Result<(url::Url, reqwest::Response)> {
        let mut u = url::Url::parse(url).map_err(|e| io::Error::other(format!("{url}: {e}")))?;
        check_scheme(&u).map_err(io::Error::other)?;
        let mut hops = 0usize;
        loop {
            let mut tries = 0u32;
            let resp = loop {
                let sent = self
                    .request(method.clone(), &u)
                    .headers(headers.clone())
                    .send()
                    .await;
                tries = tries.saturating_add(1);
                match sent {
                    Ok(r) if r.status().is_server_error() && tries < 3 => {}
                    Ok(r) => break r,
                    Err(e) if tries >= 3 => {
                        return Err(io::Error::other(format!("{u}: {e}")));
                    }
                    Err(_) => {}
                }
                tokio::time::sleep(Duration::from_millis(
                    200u64.saturating_mul(u64::from(tries)),
                ))
                .await;
            };
            if !follow || !resp.status().is_redirection() {
                return Ok((u, resp));
            }
            hops = hops.saturating_add(1);
            if hops > MAX_REDIRECTS {
                return Err(io::Error::other(format!(
                    "{url}: more than {MAX_REDIRECTS} redirects"
                )));
            }
            let loc = header(resp.headers(), "location")
                .ok_or_else(|| io::Error::other(format!("{u}: a redirect without Location")))?;
            if let Some(why) = ambiguous_url(loc) {
                return Err(io::Error::other(format!(
                    "{u}: a redirect to {loc:?}, which has {why}: URL parsers read it differently"
                )));
            }
            u = u
                .join(loc)
                .map_err(|e| io::Error::other(format!("{u}: bad Location {loc:?}: {e}")))?;
            check_scheme(&u).map_err(io::Error::other)?;
        }
    }

    /// HEAD `url`; with `follow`, the last hop's answer.
    pub fn head(&self, url: &str, follow: bool) -> io::Result<Head> {
        super::block_on(url, async {
            let (u, r) = self
                .send(Method::HEAD, url, &HeaderMap::new(), follow)
                .await?;
            Ok(Head {
                url: u.to_string(),
                status: r.status(),
                headers: r.headers().clone(),
            })
        })
    }

    /// GET a JSON document (at most [`MAX_JSON`] bytes) and the `rel="next"` link, if any.
    pub fn get_json(&self, url: &str) -> io::Result<(serde_json::Value, Option<String>)> {
        super::block_on(url, async {
            let (u, r) = self.send(Method::GET, url, &HeaderMap::new(), true).await?;
            if !r.status().is_success() {
                return Err(status_error(u.as_str(), r.status(), r.headers()));
            }
            // Several Link headers are one list (as httpx joins them).
            let links: Vec<&str> = r
                .headers()
                .get_all("link")
                .iter()
                .map(|v| {
                    v.to_str().map_err(|_| {
                        io::Error::other(format!("{u}: a Link header that is not ASCII"))
                    })
                })
                .collect::<io::Result<_>>()?;
            let next = next_link_strict(&links.join(", "))
                .map_err(|e| io::Error::other(format!("{u}: {e}")))?;
            let next = match next {
                Some(n) => {
                    if let Some(why) = ambiguous_url(&n) {
                        return Err(io::Error::other(format!(
                            "{u}: the next page {n:?} has {why}: URL parsers read it differently"
                        )));
                    }
                    Some(
                        u.join(&n)
                            .map(|j| j.to_string())
                            .map_err(|e| io::Error::other(format!("{u}: next page {n:?}: {e}")))?,
                    )
                }
                None => None,
            };
            let body = read_body(r, MAX_JSON, u.as_str()).await?;
            let v = serde_json::from_slice(&body)
                .map_err(|e| io::Error::other(format!("{u}: not JSON: {e}")))?;
            Ok((v, next))
        })
    }

    /// Bytes `[start, end)` of `url`, conditional on `etag` when given: exactly those bytes, or an
    /// error (a server that ignores `Range` is read no further than the range).
    pub fn fetch(
        &self,
        url: &str,
        etag: Option<&str>,
        start: u64,
        end: u64,
        total: u64,
    ) -> io::Result<Bytes> {
        self.fetch_tagged(url, etag, start, end, total)
            .map(|(b, _)| b)
    }

    /// A file listed (or HEAD-answered) as empty: a GET must give nothing either. A server whose
    /// HEAD and GET disagree serves the loader bytes the listing hid.
    pub fn check_empty(&self, url: &str) -> io::Result<()> {
        super::block_on(url, async {
            let (u, mut r) = self.send(Method::GET, url, &HeaderMap::new(), true).await?;
            if !r.status().is_success() {
                return Err(status_error(u.as_str(), r.status(), r.headers()));
            }
            let chunk = r
                .chunk()
                .await
                .map_err(|e| io::Error::other(format!("{u}: {e}")))?;
            if chunk.is_some_and(|c| !c.is_empty()) {
                return Err(io::Error::other(format!(
                    "{u}: listed as empty, a GET serves bytes: the answers disagree (the file changed while it was scanned)"
                )));
            }
            Ok(())
        })
    }

    /// [`Client::fetch`], and the strong ETag the answer carried.
    pub fn fetch_tagged(
        &self,
        url: &str,
        etag: Option<&str>,
        start: u64,
        end: u64,
        total: u64,
    ) -> io::Result<(Bytes, Option<String>)> {
        if start >= end {
            return Ok((Bytes::new(), None));
        }
        let mut h = HeaderMap::new();
        let last = end.saturating_sub(1);
        h.insert(
            "range",
            HeaderValue::from_str(&format!("bytes={start}-{last}")).map_err(io::Error::other)?,
        );
        if let Some(e) = etag {
            if let Ok(v) = HeaderValue::from_str(e) {
                h.insert("if-match", v);
            }
        }
        super::block_on(url, async {
            let (u, r) = self.send(Method::GET, url, &h, true).await?;
            let want = end.saturating_sub(start);
            let tag = header(r.headers(), "etag")
                .filter(|e| !e.starts_with("W/"))
                .map(str::to_string);
            let body = match r.status() {
                StatusCode::PARTIAL_CONTENT => {
                    let cr = header(r.headers(), "content-range").unwrap_or("");
                    if !content_range_starts(cr, start) {
                        return Err(io::Error::other(format!(
                            "{u}: asked for bytes from {start}, the server sent {cr:?}"
                        )));
                    }
                    if content_range_total(cr) != Some(total) {
                        return Err(io::Error::other(format!(
                            "{u}: the server gives the file's size as {cr:?}, the listing said {total} bytes: the file changed while it was scanned"
                        )));
                    }
                    read_body(r, want, u.as_str()).await
                }
                StatusCode::OK if start == 0 => {
                    // The whole file came: it must be the size listed; keep the range, stop
                    // reading after it.
                    let len = header(r.headers(), "content-length")
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    if len != Some(total) {
                        return Err(io::Error::other(format!(
                            "{u}: a whole answer of {} bytes, the listing said {total}: the file changed while it was scanned",
                            len.map_or("an unstated number of".to_string(), |l| l.to_string())
                        )));
                    }
                    let mut body = Vec::new();
                    let mut r = r;
                    while let Some(chunk) = r
                        .chunk()
                        .await
                        .map_err(|e| io::Error::other(format!("{u}: {e}")))?
                    {
                        body.extend_from_slice(&chunk);
                        if body.len() as u64 >= want {
                            break;
                        }
                    }
                    body.truncate(usize::try_from(want).unwrap_or(usize::MAX));
                    Ok(Bytes::from(body))
                }
                StatusCode::OK => Err(io::Error::other(format!(
                    "{u}: the server ignores Range requests; reading it whole is refused"
                ))),
                StatusCode::PRECONDITION_FAILED => Err(io::Error::other(format!(
                    "{u}: changed since it was listed (If-Match {} failed): the file changed while it was scanned",
                    etag.unwrap_or("-")
                ))),
                s => Err(status_error(u.as_str(), s, r.headers())),
            }?;
            Ok((body, tag))
        })
    }
}

async fn read_body(r: reqwest::Response, limit: u64, url: &str) -> io::Result<Bytes> {
    let mut r = r;
    let mut body = Vec::new();
    while let Some(chunk) = r
        .chunk()
        .await
        .map_err(|e| io::Error::other(format!("{url}: {e}")))?
    {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("{url}: more than {limit} bytes came back"),
            ));
        }
    }
    Ok(Bytes::from(body))
}

/// `bytes START-END/TOTAL` starts at `start`.
fn content_range_starts(cr: &str, start: u64) -> bool {
    cr.trim()
        .strip_prefix("bytes ")
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.trim().parse::<u64>().ok())
        == Some(start)
}

/// The total of `bytes START-END/TOTAL`.
fn content_range_total(cr: &str) -> Option<u64> {
    cr.trim().rsplit('/').next()?.trim().parse::<u64>().ok()
}

/// The links of a `Link` header value as `huggingface_hub` reads them (httpx's
/// `parse_header_links`): links split at a comma followed by optional spaces and `<`, the URL
/// inside `<...>`, parameters split at `;` with spaces and both kinds of quotes stripped from
/// their values. Each (rel, url).
fn header_links(v: &str) -> Vec<(String, String)> {
    let strip: &[char] = &[' ', '\'', '"'];
    let mut parts: Vec<&str> = Vec::new();
    let mut start = 0usize;
    let bytes = v.as_bytes();
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        if b == b',' {
            let mut j = i.saturating_add(1);
            while bytes.get(j) == Some(&b' ') {
                j = j.saturating_add(1);
            }
            if bytes.get(j) == Some(&b'<') {
                parts.push(v.get(start..i).unwrap_or(""));
                start = j;
                i = j;
                continue;
            }
        }
        i = i.saturating_add(1);
    }
    parts.push(v.get(start..).unwrap_or(""));
    let mut out = Vec::new();
    for part in parts {
        let (url, params) = match part.split_once(';') {
            Some((u, p)) => (u, p),
            None => (part, ""),
        };
        let url =
            url.trim_matches(|c: char| c == '<' || c == '>' || c == ' ' || c == '\'' || c == '"');
        let mut rel = None;
        for p in params.split(';') {
            if let Some((k, val)) = p.split_once('=') {
                if k.trim_matches(strip) == "rel" {
                    rel = Some(val.trim_matches(strip).to_string());
                }
            }
        }
        if let Some(r) = rel {
            out.push((r, url.to_string()));
        }
    }
    out
}

/// The `rel="next"` URL of a `Link` header as the loader reads it (the last such link wins);
/// `Err` when the header names two different next pages (the loader and a reader that takes
/// the first would list different files).
pub fn next_link_strict(v: &str) -> Result<Option<String>, String> {
    let next: Vec<String> = header_links(v)
        .into_iter()
        .filter(|(r, _)| r == "next")
        .map(|(_, u)| u)
        .collect();
    match next.last() {
        Some(last) if next.iter().any(|u| u != last) => Err(format!(
            "a Link header names {} different next pages: {v:?}",
            next.len()
        )),
        other => Ok(other.cloned()),
    }
}

/// The `rel="next"` URL of a `Link` header value (the last one, as the loader takes it).
pub fn next_link(v: &str) -> Option<String> {
    header_links(v)
        .into_iter()
        .filter(|(r, _)| r == "next")
        .map(|(_, u)| u)
        .next_back()
}

/// A URL from a server (a redirect's `Location`, a next page) that URL parsers read
/// differently: a backslash (WHATWG reads it as `/`, RFC 3986 parsers do not), ASCII tab, CR
/// or LF (WHATWG drops them), other control characters or spaces, or userinfo (`@` in the
/// authority). The loader's client could go elsewhere than this scan: refused.
pub fn ambiguous_url(s: &str) -> Option<&'static str> {
    if s.contains('\\') {
        return Some("a backslash");
    }
    if s.chars().any(|c| c.is_control() || c == ' ') {
        return Some("a control character or space");
    }
    let after_scheme = s.split_once("://").map(|(_, r)| r).unwrap_or("");
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    if s.contains("://") && authority.contains('@') {
        return Some("userinfo (@) in the host part");
    }
    None
}

/// One `https://` file: its size and ETag from a HEAD that follows redirects to the final URL,
/// which every range read then uses.
pub fn list(root: &str) -> Result<Listing, String> {
    let u = url::Url::parse(root).map_err(|e| format!("not a URL: {e}"))?;
    check_scheme(&u)?;
    let client = Arc::new(Client::new(None).map_err(|e| e.to_string())?);
    let head = client.head(root, true).map_err(|e| e.to_string())?;
    if !head.status.is_success() {
        return Err(status_error(&head.url, head.status, &head.headers).to_string());
    }
    let size = header(&head.headers, "content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or("the server gives no Content-Length: a file of unknown size is not read")?;
    let etag = header(&head.headers, "etag")
        .filter(|e| !e.starts_with("W/"))
        .map(str::to_string);
    let file = Arc::new(RemoteFile {
        key: head.url.clone(),
        size,
        etag,
        version: None,
        lfs_sha256: None,
        access: Access::Http(client),
    });
    let resolved = if head.url == root {
        "one file".to_string()
    } else {
        format!("one file, read from {}", head.url)
    };
    Ok(Listing {
        files: vec![(String::new(), file)],
        resolved: Resolved {
            root: root.to_string(),
            display: root.trim_end_matches('/').to_string(),
            resolved,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn link_header_as_httpx_reads_it() {
        assert_eq!(
            next_link("<https://h/a?c=1>; rel='next'").as_deref(),
            Some("https://h/a?c=1")
        );
        assert_eq!(
            next_link("<https://h/a?c=1&x=a,b>; rel=\"next\"").as_deref(),
            Some("https://h/a?c=1&x=a,b")
        );
        assert_eq!(
            next_link("<https://h/1>; rel=\"next\", <https://h/2>; rel=\"next\"").as_deref(),
            Some("https://h/2")
        );
        assert!(
            next_link_strict("<https://h/1>; rel=\"next\", <https://h/2>; rel=\"next\"").is_err()
        );
        assert_eq!(
            next_link_strict("<https://h/1>; rel=next,<https://h/1>; rel=\"next\"")
                .unwrap()
                .as_deref(),
            Some("https://h/1")
        );
        assert_eq!(next_link("<https://h/1>; rel=\"next prev\""), None);
    }

    #[test]
    fn ambiguous_urls() {
        assert!(ambiguous_url("http://127.0.0.1:1\\@127.0.0.1:2/x").is_some());
        assert!(ambiguous_url("https://u:p@h/x").is_some());
        assert!(ambiguous_url("https://h/x\ty").is_some());
        assert!(ambiguous_url(" https://h/x").is_some());
        assert!(ambiguous_url("https://h/a@b").is_none());
        assert!(ambiguous_url("/relative/path?x=@").is_none());
        assert!(ambiguous_url("https://cdn.example/repos/x?Expires=1&Signature=ab").is_none());
    }

    #[test]
    fn link_header_next() {
        assert_eq!(
            next_link("<https://h/api?cursor=x>; rel=\"next\"").as_deref(),
            Some("https://h/api?cursor=x")
        );
        assert_eq!(next_link("<https://h/p>; rel=\"prev\""), None);
        assert_eq!(
            next_link("<a>; rel=\"prev\", <b>; rel=\"next\"").as_deref(),
            Some("b")
        );
    }

    #[test]
    fn http_only_to_loopback() {
        assert!(check_scheme(&url::Url::parse("http://127.0.0.1:9/x").unwrap()).is_ok());
        assert!(check_scheme(&url::Url::parse("http://localhost/x").unwrap()).is_ok());
        assert!(check_scheme(&url::Url::parse("https://example.org/x").unwrap()).is_ok());
        if std::env::var("MODELGATE_ALLOW_HTTP").is_err() {
            assert!(check_scheme(&url::Url::parse("http://example.org/x").unwrap()).is_err());
        }
    }

    #[test]
    fn content_range() {
        assert!(content_range_starts("bytes 100-199/1000", 100));
        assert!(!content_range_starts("bytes 0-99/1000", 100));
        assert!(!content_range_starts("", 0));
    }
}
