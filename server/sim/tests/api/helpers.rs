//! A `TestSim` that spawns a simulator on port 0 and speaks to it with reqwest.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tidings_sim::seed::{self, SeedUser};
use tidings_sim::{RunningSim, SimConfig};

/// A running simulator and a client for it.
pub struct TestSim {
    pub running: RunningSim,
    pub http: reqwest::Client,
}

impl TestSim {
    /// A quiet simulator: no background activity, the clock driven by the test.
    pub async fn start() -> Self {
        Self::with(SimConfig::quiet()).await
    }

    pub async fn with(config: SimConfig) -> Self {
        let running = tidings_sim::spawn(config).await.expect("simulator starts");
        Self {
            running,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    /// Password auth; returns the response.
    pub async fn auth(&self, user: &str, password: &str, project: Option<&str>) -> Response {
        let mut body = json!({ "auth": { "identity": { "methods": ["password"], "password": {
            "user": { "name": user, "domain": { "name": "Default" }, "password": password } } } } });
        if let Some(project) = project {
            body["auth"]["scope"] =
                json!({ "project": { "name": project, "domain": { "id": "default" } } });
        }
        self.http
            .post(format!("{}/auth/tokens", self.running.auth_url()))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A token of a seeded user scoped to a project.
    pub async fn token(&self, user: &SeedUser, project: &str) -> String {
        let response = self.auth(user.name, user.password, Some(project)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.headers()["x-subject-token"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    pub async fn admin(&self) -> String {
        self.token(&seed::ADMIN, "admin").await
    }

    pub async fn send(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("x-auth-token", token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// GET that must answer 200 with JSON.
    pub async fn get(&self, token: &str, path: &str) -> Value {
        let response = self.send(Method::GET, token, path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Response {
        self.send(Method::POST, token, path, Some(body)).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Response {
        self.send(Method::DELETE, token, path, None).await
    }

    /// Advances the clock `n` steps.
    pub fn tick(&self, n: usize) {
        for _ in 0..n {
            self.running.sim.tick_now();
        }
    }
}

/// A published sample from the shared fixtures.
pub fn fixture(path: &str) -> Value {
    let file = format!(
        "{}/../../tests/fixtures/openstack/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

/// Members whose keys are data (user metadata, network names), not part of the shape.
const MAP_LIKE: [&str; 7] = [
    "metadata",
    "addresses",
    "extra_specs",
    "hosts",
    "properties",
    "scheduler_hints",
    "rules",
];

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Asserts that `actual` has the sample's key set and value kinds (a null on either side
/// stands for "nullable"), recursing into nested objects and first array elements.
pub fn assert_same_shape(actual: &Value, expected: &Value, at: &str) {
    match (actual, expected) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(a), Value::Object(e)) => {
            let mut ak: Vec<&String> = a.keys().collect();
            let mut ek: Vec<&String> = e.keys().collect();
            ak.sort();
            ek.sort();
            assert_eq!(ak, ek, "keys differ at {at}");
            for (key, value) in e {
                if !MAP_LIKE.contains(&key.as_str()) {
                    assert_same_shape(&a[key], value, &format!("{at}.{key}"));
                }
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if let (Some(a), Some(e)) = (a.first(), e.first()) {
                assert_same_shape(a, e, &format!("{at}[0]"));
            }
        }
        _ => assert_eq!(kind(actual), kind(expected), "kind differs at {at}"),
    }
}
