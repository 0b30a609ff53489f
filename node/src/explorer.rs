//! The block explorer's static files, embedded in the binary and served by the node on its
//! JSON-RPC port: `GET /` (`index.html`), the page's ES modules (`/app.js`, the router, and
//! the modules it imports by relative path: `/rpc.js`, `/dom.js`, `/format.js`, `/live.js`,
//! `/blocks.js`, `/tx.js`, `/account.js`, `/contract.js`) and `/style.css` (from
//! `node/explorer/`, no build step). Any other `GET` is 404; `POST` (JSON-RPC), WebSocket
//! upgrades and other methods go on to jsonrpsee as before. The page talks to the node it
//! came from (`location.origin`), which the `Origin` check allows as the node's own page.

use jsonrpsee::server::{HttpBody, HttpResponse};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// The content type of the page's ES modules.
const JS: &str = "text/javascript; charset=utf-8";

/// The embedded files: path, content type, contents. Every module `app.js` imports (by a
/// relative `./name.js`) is here too, or the page does not load.
const FILES: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../explorer/index.html"),
    ),
    ("/app.js", JS, include_str!("../explorer/app.js")),
    ("/rpc.js", JS, include_str!("../explorer/rpc.js")),
    ("/dom.js", JS, include_str!("../explorer/dom.js")),
    ("/format.js", JS, include_str!("../explorer/format.js")),
    ("/live.js", JS, include_str!("../explorer/live.js")),
    ("/blocks.js", JS, include_str!("../explorer/blocks.js")),
    ("/tx.js", JS, include_str!("../explorer/tx.js")),
    ("/account.js", JS, include_str!("../explorer/account.js")),
    ("/contract.js", JS, include_str!("../explorer/contract.js")),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("../explorer/style.css"),
    ),
];

/// The tower layer serving the explorer's files in front of jsonrpsee.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExplorerLayer;

impl<S> Layer<S> for ExplorerLayer {
    type Service = Explorer<S>;

    fn layer(&self, inner: S) -> Explorer<S> {
        Explorer { inner }
    }
}

/// The service [`ExplorerLayer`] wraps around jsonrpsee.
#[derive(Debug, Clone)]
pub(crate) struct Explorer<S> {
    inner: S,
}

/// The answer to `GET path` (not a WebSocket upgrade): a file, or 404.
fn file(path: &str) -> HttpResponse {
    let (status, content_type, body) = match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, t, body)) => (http::StatusCode::OK, *t, *body),
        None => (
            http::StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: the explorer is at /, JSON-RPC is POST /\n",
        ),
    };
    let mut response = http::Response::new(HttpBody::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    // A new binary may bring new files: revalidate rather than serve a stale page.
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    response
}

/// Whether `request` asks to become a WebSocket (those go on to jsonrpsee, any path).
fn is_upgrade<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(http::header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

impl<S, B> Service<http::Request<B>> for Explorer<S>
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
        if request.method() == http::Method::GET && !is_upgrade(&request) {
            let response = file(request.uri().path());
            return Box::pin(async move { Ok(response) });
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The relative modules a JS file imports (`from './name.js'`), as paths (`/name.js`).
    fn imports(js: &str) -> Vec<String> {
        js.lines()
            .filter(|l| l.starts_with("import "))
            .filter_map(|l| l.split("from './").nth(1))
            .filter_map(|rest| rest.split('\'').next())
            .map(|name| format!("/{name}"))
            .collect()
    }

    #[test]
    fn every_file_is_served_and_nothing_else() {
        let mut js = 0;
        for (path, kind, body) in FILES {
            let r = file(path);
            assert_eq!(r.status(), 200, "{path}");
            let t = r.headers()[http::header::CONTENT_TYPE].to_str().unwrap();
            assert_eq!(t, *kind, "{path}");
            let want = match path.rsplit_once('.') {
                Some((_, "js")) => "text/javascript",
                Some((_, "css")) => "text/css",
                _ => "text/html",
            };
            assert!(t.starts_with(want), "{path}: {t}");
            assert!(!body.is_empty(), "{path}");
            js += usize::from(want == "text/javascript");
        }
        assert_eq!(js, 9, "app.js and the eight modules it is split into");
        for path in [
            "/nope",
            "/index.html",
            "/app.js/",
            "//",
            "/../Cargo.toml",
            "/pages/tx.js",
        ] {
            assert_eq!(file(path).status(), 404, "{path}");
        }
    }

    #[test]
    fn every_module_the_page_imports_is_served() {
        let served = |p: &str| FILES.iter().any(|(f, _, _)| *f == p);
        let mut seen = 0;
        for (path, _, body) in FILES.iter().filter(|(p, _, _)| p.ends_with(".js")) {
            for import in imports(body) {
                assert!(
                    served(&import),
                    "{path} imports {import}, which is not served"
                );
                seen += 1;
            }
        }
        // Every module but the router is imported by someone, so all of them load.
        for (path, _, _) in FILES
            .iter()
            .filter(|(p, _, _)| p.ends_with(".js") && *p != "/app.js")
        {
            let imported = FILES
                .iter()
                .any(|(_, _, b)| imports(b).iter().any(|i| i == path));
            assert!(imported, "{path} is served but nothing imports it");
        }
        assert!(seen >= 8, "{seen} imports");
    }
}
