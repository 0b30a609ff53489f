//! Which web pages may call the node: the `Origin` header of every HTTP request and WebSocket
//! upgrade is checked against [`Cors`] (`chainvm node --cors`), a tower layer in front of
//! jsonrpsee (and of the explorer's files).
//!
//! - no `Origin` (curl, the CLI, Node's `fetch`, other servers): served as ever;
//! - an allowed `Origin`: served, with `Access-Control-Allow-Origin: <that origin>` and
//!   `Vary: Origin`; a preflight `OPTIONS` is answered 204 with the methods (`POST, GET,
//!   OPTIONS`) and headers (`content-type`) a page may use;
//! - any other `Origin` (or one that is not text): 403 with a one-line body, before jsonrpsee
//!   sees the request, so a refused page can neither call a method nor open a WebSocket.
//!
//! The default allows loopback pages only (`http(s)://localhost`, `127.0.0.1`, `[::1]`, any
//! port); a `--cors` list replaces it (loopback pages then only if listed); `*` allows every
//! origin. Whatever the setting, the node's own pages (the explorer it serves) are allowed: an
//! `http://` origin naming exactly the request's `Host` when that host is an IP address or
//! `localhost`. A DNS name is not trusted that way, since DNS rebinding can point a hostile
//! name at the node.

use jsonrpsee::server::{HttpBody, HttpResponse};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Which browser origins may call the node (HTTP requests and WebSocket upgrades that carry
/// an `Origin` header; requests without one are always served).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cors {
    /// Loopback pages only: `http(s)://localhost`, `http(s)://127.0.0.1`, `http(s)://[::1]`,
    /// with or without a port (the default).
    #[default]
    Loopback,
    /// Every origin (`--cors '*'`).
    Any,
    /// Exactly these origins (`scheme://host[:port]`, lowercase, or `null`); loopback pages
    /// only if listed.
    List(Vec<String>),
}

impl Cors {
    /// Parses `--cors`: `*`, or origins separated by commas (`https://app.example,
    /// http://localhost:5173`). An origin is `scheme://host[:port]` with no path (a trailing
    /// `/` is dropped), or `null` (pages from `file:` URLs and sandboxed frames).
    pub fn parse(s: &str) -> Result<Cors, String> {
        let mut list = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "*" {
                return Ok(Cors::Any);
            }
            list.push(normalize(item)?);
        }
        if list.is_empty() {
            return Err(
                "--cors needs `*` or at least one origin (e.g. http://localhost:5173)".into(),
            );
        }
        Ok(Cors::List(list))
    }

    /// Whether a page of `origin` may call the node (apart from the node's own pages, see
    /// the module docs).
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Cors::Any => true,
            Cors::Loopback => is_loopback(origin),
            Cors::List(list) => {
                let origin = origin.to_ascii_lowercase();
                list.contains(&origin)
            }
        }
    }
}

/// `item` as an origin is written in an `Origin` header (lowercase, no trailing `/`), or why
/// it is not one.
fn normalize(item: &str) -> Result<String, String> {
    let lower = item.trim_end_matches('/').to_ascii_lowercase();
    if lower == "null" {
        return Ok(lower);
    }
    let bad = |why: &str| {
        format!(
            "`{item}` is not an origin ({why}; e.g. https://app.example or http://localhost:5173)"
        )
    };
    let Some((scheme, authority)) = lower.split_once("://") else {
        return Err(bad("no scheme"));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err(bad("bad scheme"));
    }
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    if authority.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad("an origin has no path, query or user"));
    }
    if split_host(authority).is_none() {
        return Err(bad("bad port"));
    }
    Ok(lower)
}

/// An authority's host and port (`[::1]:80` → `("[::1]", Some("80"))`); `None` if the port is
/// not digits.
fn split_host(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')? + 1;
        let (host, rest) = authority.split_at(end);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (port_ok && !host.is_empty()).then_some((host, port))
}

/// Whether `origin` is an `http(s)` page on loopback: `localhost`, `127.0.0.1` or `[::1]`.
pub fn is_loopback(origin: &str) -> bool {
    let origin = origin.to_ascii_lowercase();
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    matches!(
        split_host(authority),
        Some(("localhost" | "127.0.0.1" | "[::1]", _))
    )
}

/// Whether `origin` is a page the node served itself: `http://` and exactly the request's
/// `host`, that host an IP address or `localhost` (never a DNS name: see the module docs).
fn is_own_page(origin: &str, host: Option<&str>) -> bool {
    let (Some(host), Some(authority)) = (host, origin.strip_prefix("http://")) else {
        return false;
    };
    if !authority.eq_ignore_ascii_case(host) {
        return false;
    }
    match split_host(authority) {
        Some((name, _)) => {
            let bare = name.trim_start_matches('[').trim_end_matches(']');
            name.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok()
        }
        None => false,
    }
}

/// The tower layer checking `Origin` against a [`Cors`] (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct OriginLayer(Arc<Cors>);

impl OriginLayer {
    /// A layer enforcing `cors`.
    pub(crate) fn new(cors: Cors) -> OriginLayer {
        OriginLayer(Arc::new(cors))
    }
}

impl<S> Layer<S> for OriginLayer {
    type Service = OriginCheck<S>;

    fn layer(&self, inner: S) -> OriginCheck<S> {
        OriginCheck {
            inner,
            cors: self.0.clone(),
        }
    }
}

/// The service [`OriginLayer`] wraps around the node's HTTP handling.
#[derive(Debug, Clone)]
pub(crate) struct OriginCheck<S> {
    inner: S,
    cors: Arc<Cors>,
}

/// What the check decided for one request.
enum Verdict {
    /// No `Origin`: served as ever.
    NoOrigin,
    /// An allowed origin, to echo.
    Allowed(http::HeaderValue),
    /// Refused, with the origin as given (for the message).
    Refused(String),
}

impl<S> OriginCheck<S> {
    fn verdict<B>(&self, request: &http::Request<B>) -> Verdict {
        let Some(value) = request.headers().get(http::header::ORIGIN) else {
            return Verdict::NoOrigin;
        };
        let Ok(origin) = value.to_str() else {
            return Verdict::Refused(String::from_utf8_lossy(value.as_bytes()).into_owned());
        };
        let host = request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok());
        if self.cors.allows(origin) || is_own_page(origin, host) {
            Verdict::Allowed(value.clone())
        } else {
            Verdict::Refused(origin.to_string())
        }
    }
}

/// 403 with a one-line body naming the refused origin.
fn refused(origin: &str) -> HttpResponse {
    let body = format!(
        "origin {origin:?} is not allowed to call this node (chainvm node --cors ORIGIN,...)\n"
    );
    let mut response = http::Response::new(HttpBody::from(body));
    *response.status_mut() = http::StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    vary(&mut response);
    response
}

/// The answer to a preflight `OPTIONS` from an allowed origin.
fn preflight(origin: http::HeaderValue, private_network: bool) -> HttpResponse {
    use http::header::{
        ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_MAX_AGE,
    };
    let mut response = http::Response::new(HttpBody::empty());
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        http::HeaderValue::from_static("POST, GET, OPTIONS"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        http::HeaderValue::from_static("content-type"),
    );
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        http::HeaderValue::from_static("600"),
    );
    // Chromium asks before a public page reaches a private or loopback address.
    if private_network {
        headers.insert(
            "access-control-allow-private-network",
            http::HeaderValue::from_static("true"),
        );
    }
    allow(&mut response, origin);
    response
}

/// Adds `Access-Control-Allow-Origin: origin` and `Vary: Origin`.
fn allow(response: &mut HttpResponse, origin: http::HeaderValue) {
    response
        .headers_mut()
        .insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    vary(response);
}

/// Adds `Vary: Origin`: the answer depends on it, so caches must key on it.
fn vary(response: &mut HttpResponse) {
    response
        .headers_mut()
        .append(http::header::VARY, http::HeaderValue::from_static("origin"));
}

impl<S, B> Service<http::Request<B>> for OriginCheck<S>
where
    S: Service<http::Request<B>, Response = HttpResponse>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self.verdict(&request) {
            Verdict::NoOrigin => {
                let answer = self.inner.call(request);
                Box::pin(async move {
                    let mut response = answer.await?;
                    vary(&mut response);
                    Ok(response)
                })
            }
            Verdict::Refused(origin) => {
                let response = refused(&origin);
                Box::pin(async move { Ok(response) })
            }
            Verdict::Allowed(origin) if request.method() == http::Method::OPTIONS => {
                let private_network = request
                    .headers()
                    .get("access-control-request-private-network")
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
                let response = preflight(origin, private_network);
                Box::pin(async move { Ok(response) })
            }
            Verdict::Allowed(origin) => {
                let answer = self.inner.call(request);
                Box::pin(async move {
                    let mut response = answer.await?;
                    allow(&mut response, origin);
                    Ok(response)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_allows_loopback_pages_only() {
        let cors = Cors::default();
        for ok in [
            "http://localhost",
            "http://localhost:5173",
            "https://127.0.0.1:8545",
            "http://[::1]:3000",
            "HTTP://LOCALHOST:1",
        ] {
            assert!(cors.allows(ok), "{ok}");
        }
        for no in [
            "https://app.example",
            "http://localhost.evil.example",
            "http://127.0.0.2",
            "http://evil.example/localhost",
            "ws://localhost",
            "null",
            "http://localhost:x",
        ] {
            assert!(!cors.allows(no), "{no}");
        }
    }

    #[test]
    fn a_list_replaces_the_default_and_star_allows_all() {
        let cors = Cors::parse("https://App.example/, http://localhost:5173").unwrap();
        assert_eq!(
            cors,
            Cors::List(vec![
                "https://app.example".into(),
                "http://localhost:5173".into()
            ])
        );
        assert!(cors.allows("https://app.example"));
        assert!(cors.allows("http://localhost:5173"));
        assert!(!cors.allows("http://localhost:5174"));
        assert!(!cors.allows("http://127.0.0.1"));
        assert!(!cors.allows("https://app.example:444"));
        assert_eq!(Cors::parse("*"), Ok(Cors::Any));
        assert_eq!(Cors::parse("https://a.example,*"), Ok(Cors::Any));
        assert!(Cors::Any.allows("https://anything.example"));
        assert!(Cors::parse("null").unwrap().allows("null"));
    }

    #[test]
    fn malformed_origins_are_refused_at_parse() {
        for bad in [
            "",
            ",",
            "localhost:3000",
            "https://app.example/path",
            "https://",
            "http://a.example:port",
            "1http://a.example",
            "http://user@a.example",
        ] {
            assert!(Cors::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_nodes_own_pages_are_recognized_by_ip_or_localhost_only() {
        assert!(is_own_page(
            "http://192.168.1.5:8545",
            Some("192.168.1.5:8545")
        ));
        assert!(is_own_page("http://[::1]:8545", Some("[::1]:8545")));
        assert!(is_own_page("http://localhost:8545", Some("localhost:8545")));
        // DNS rebinding: a hostile name pointed at the node.
        assert!(!is_own_page(
            "http://evil.example:8545",
            Some("evil.example:8545")
        ));
        assert!(!is_own_page(
            "http://192.168.1.5:8545",
            Some("192.168.1.5:8546")
        ));
        assert!(!is_own_page(
            "https://192.168.1.5:8545",
            Some("192.168.1.5:8545")
        ));
        assert!(!is_own_page("http://192.168.1.5:8545", None));
    }
}
