//! Logins as an attacker sends them: many `auth.login` calls in one tRPC batch, and the outcome
//! of each envelope, for the throttle's tests on one instance and across a cluster.

use serde_json::{Value, json};

/// One tRPC HTTP batch of `auth.login` calls for `user` at `base`, one per password, from
/// `http`; the envelopes in order.
pub async fn login_batch<P: AsRef<str>>(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    passwords: &[P],
) -> Vec<Value> {
    let paths = vec!["auth.login"; passwords.len()].join(",");
    let inputs: serde_json::Map<String, Value> = passwords
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let input = json!({ "username": user, "password": p.as_ref() });
            (i.to_string(), input)
        })
        .collect();
    let response = http
        .post(format!("{base}/trpc/{paths}?batch=1"))
        .json(&inputs)
        .send()
        .await
        .expect("batch");
    let answers: Value = response.json().await.expect("JSON");
    let answers = answers.as_array().expect("an array of envelopes").clone();
    assert_eq!(answers.len(), passwords.len());
    answers
}

/// `data.code` of a tRPC or JSON-RPC error envelope, `"OK"` for a result.
pub fn outcome(envelope: &Value) -> String {
    if envelope.get("result").is_some() {
        return "OK".to_owned();
    }
    envelope["error"]["data"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an envelope: {envelope}"))
        .to_owned()
}
