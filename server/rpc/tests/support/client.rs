//! Requests to a server on a real socket with `reqwest`, answered as status and text.

use reqwest::{Client, RequestBuilder};

/// Sends `request`; the status and the body exactly as sent.
pub async fn send(request: RequestBuilder) -> (u16, String) {
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// A POST of `body` to `url` as `application/json`.
pub fn post_json(http: &Client, url: &str, body: String) -> RequestBuilder {
    http.post(url)
        .header("content-type", "application/json")
        .body(body)
}
