//! The web console: its built files at `/`, `index.html` for client-side routes, and the
//! headers that keep other sites from framing it (clickjacking) or running script in it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use tower_http::services::ServeDir;

/// What the console may load: its own scripts, styles and API (`connect-src 'self'` covers
/// `fetch`, `EventSource` and same-origin WebSockets), the `data:` icon of its `index.html`,
/// no plugins, and no page may frame it. The built console has no inline script or style
/// (React sets `style` through the DOM, which CSP does not govern).
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The console of the repository this binary was built from (`web-client/console/dist` beside
/// its sources), so that a server started from any directory finds it; when those sources are
/// not on this machine, `web-client/console/dist` in the current directory.
pub(crate) fn default_dir() -> PathBuf {
    dir_in(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}

/// `web-client/console/dist` of the repository at `root` when that repository is there, else
/// the relative `web-client/console/dist`.
fn dir_in(root: &Path) -> PathBuf {
    let built_from = root.join("web-client/console/dist");
    if root.join("web-client").is_dir() {
        built_from
    } else {
        PathBuf::from("web-client/console/dist")
    }
}

/// The console's files in `dir` at `/`, and `index.html` for client-side routes (paths whose
/// last segment has no extension). Until the console is built, `/` says how to build it.
/// Checked on each request, so building it does not need a restart. Every answer carries the
/// console's security headers ([`secure`]).
pub(crate) fn console(dir: &Path) -> Router {
    let dir = Arc::new(dir.to_path_buf());
    Router::new()
        .fallback_service(ServeDir::new(dir.as_path()))
        .layer(middleware::from_fn_with_state(dir, console_gate))
}

async fn console_gate(State(dir): State<Arc<PathBuf>>, request: Request, next: Next) -> Response {
    secure(serve(&dir, request, next).await)
}

async fn serve(dir: &Path, request: Request, next: Next) -> Response {
    let index = dir.join("index.html");
    let path = request.uri().path().to_owned();
    if !tokio::fs::try_exists(&index).await.unwrap_or(false) {
        return console_missing(&path, dir);
    }
    let page_route = matches!(*request.method(), Method::GET | Method::HEAD)
        && !path.rsplit('/').next().unwrap_or_default().contains('.');
    let response = next.run(request).await;
    if response.status() != StatusCode::NOT_FOUND || !page_route {
        return response;
    }
    match tokio::fs::read_to_string(&index).await {
        Ok(html) => ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response(),
        Err(error) => {
            tracing::error!(error = ?error, "reading the console's index.html failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Adds the console's security headers: its [`CONTENT_SECURITY_POLICY`], `X-Frame-Options`
/// for browsers without `frame-ancestors`, no MIME sniffing, and no full URLs (client-side
/// routes name projects) in the `Referer` of requests to other sites.
fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

fn console_missing(path: &str, dir: &Path) -> Response {
    if path != "/" {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    let text = format!(
        "Tidings is running, but the web console is not built: {} has no index.html.\n\n\
         Build it with `npm run build -w web-client/console` (from the repository root), or\n\
         point --console-dir / TIDINGS_CONSOLE_DIR at a built console. `./dev demo` builds it\n\
         first.\n\n\
         The API is at /trpc (e.g. /trpc/projects.getAll); health at /healthz and /readyz.\n",
        dir.display()
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A console directory of its own under the system temp dir.
    fn console_dir(name: &str, built: bool) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tidings-console-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        if built {
            std::fs::write(dir.join("index.html"), "<!doctype html><p>console</p>").unwrap();
            std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
        }
        dir
    }

    /// Status line and body of `GET path` against `router`, over a real connection.
    async fn get(router: Router, path: &str) -> (String, String) {
        let (head, body) = get_raw(router, path).await;
        (head.lines().next().unwrap_or_default().to_owned(), body)
    }

    /// Head (status line and headers) and body of `GET path` against `router`.
    async fn get_raw(router: Router, path: &str) -> (String, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        server.abort();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        (head.to_owned(), body.to_owned())
    }

    #[test]
    fn the_default_directory_is_the_repositorys_wherever_the_server_starts() {
        let repo = console_dir("repo", false);
        std::fs::create_dir_all(repo.join("web-client")).unwrap();
        assert_eq!(dir_in(&repo), repo.join("web-client/console/dist"));
        assert!(dir_in(&repo).is_absolute());
        let gone = repo.join("no-such-repository");
        assert_eq!(dir_in(&gone), PathBuf::from("web-client/console/dist"));
        // This test's binary was built from this repository.
        assert!(default_dir().is_absolute());
        assert!(default_dir().ends_with("web-client/console/dist"));
    }

    #[tokio::test]
    async fn serves_the_built_console_with_client_side_routes() {
        let dir = console_dir("built", true);
        let (status, body) = get(console(&dir), "/").await;
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("console"));
        let (status, body) = get(console(&dir), "/assets/app.js").await;
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("console.log"));
        let (status, body) = get(console(&dir), "/projects/demo").await;
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("console"));
        let (status, _) = get(console(&dir), "/assets/missing.js").await;
        assert!(status.contains("404"), "{status}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn says_how_to_build_the_console_when_it_is_missing() {
        let dir = console_dir("missing", false);
        let (status, body) = get(console(&dir), "/").await;
        assert!(status.contains("200"), "{status}");
        assert!(
            body.contains("npm run build -w web-client/console"),
            "{body}"
        );
        let (status, _) = get(console(&dir), "/elsewhere").await;
        assert!(status.contains("404"), "{status}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn every_answer_carries_the_security_headers() {
        for built in [true, false] {
            let dir = console_dir(&format!("headers-{built}"), built);
            for path in [
                "/",
                "/assets/app.js",
                "/projects/demo",
                "/assets/missing.js",
            ] {
                let (head, _) = get_raw(console(&dir), path).await;
                let head = head.to_ascii_lowercase();
                for line in [
                    "x-frame-options: deny",
                    "x-content-type-options: nosniff",
                    "referrer-policy: same-origin",
                    "content-security-policy: default-src 'self';",
                ] {
                    assert!(head.contains(line), "{path} (built: {built}): {head}");
                }
                assert!(head.contains("frame-ancestors 'none'"), "{path}: {head}");
            }
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
