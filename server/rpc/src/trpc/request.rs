//! Decoding the parts of a tRPC HTTP request: the procedure path(s), the query parameters, the
//! content type and `connectionParams`.

use std::collections::BTreeMap;

use http::{HeaderMap, header};
use percent_encoding::percent_decode_str;

use crate::error::{ErrorCode, RpcError};

/// The query parameters tRPC defines.
#[derive(Debug, Default)]
pub(crate) struct Query {
    /// `batch=1` exactly.
    pub batch: bool,
    /// `input=` (empty counts as absent).
    pub input: Option<String>,
    /// `connectionParams=`.
    pub connection_params: Option<String>,
    /// `lastEventId=` or `Last-Event-Id=`.
    pub last_event_id: Option<String>,
}

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut out = Query::default();
        let mut upper_last_event_id = None;
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*key {
                "batch" => out.batch = value == "1",
                "input" if !value.is_empty() => out.input = Some(value.into_owned()),
                "connectionParams" => out.connection_params = Some(value.into_owned()),
                "lastEventId" => out.last_event_id = Some(value.into_owned()),
                "Last-Event-Id" => upper_last_event_id = Some(value.into_owned()),
                _ => {}
            }
        }
        out.last_event_id = out.last_event_id.or(upper_last_event_id);
        out
    }
}

/// The procedure paths of a request: the URL path after the mount point, trimmed of slashes,
/// percent-decoded, and split on `,` for batches.
pub(crate) fn paths(rest: &str, batch: bool) -> Result<Vec<String>, RpcError> {
    let trimmed = rest.trim_matches('/');
    let decoded = percent_decode_str(trimmed).decode_utf8().map_err(|_| {
        RpcError::bad_request(format!("Invalid URL-encoding in path \"{trimmed}\""))
    })?;
    Ok(if batch {
        decoded.split(',').map(str::to_owned).collect()
    } else {
        vec![decoded.into_owned()]
    })
}

/// Non-GET requests must be JSON (`application/json`, any case, parameters ignored).
pub(super) fn check_content_type(headers: &HeaderMap) -> Result<(), RpcError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(RpcError::new(
            ErrorCode::UnsupportedMediaType,
            "Missing content-type header",
        ));
    };
    let text = value.to_str().unwrap_or("");
    let media = text.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(RpcError::new(
            ErrorCode::UnsupportedMediaType,
            format!("Unsupported content-type \"{text}\""),
        ))
    }
}

/// `connectionParams` must be a JSON object of string values.
pub(crate) fn connection_params(
    raw: Option<&str>,
) -> Result<Option<BTreeMap<String, String>>, RpcError> {
    let Some(raw) = raw else { return Ok(None) };
    let value: serde_json::Value = serde_json::from_str(raw)
        .map_err(|_| RpcError::new(ErrorCode::ParseError, "Not JSON-parsable query params"))?;
    let shape = || RpcError::new(ErrorCode::ParseError, "Invalid connection params shape");
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k, s)),
                _ => Err(shape()),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        _ => Err(shape()),
    }
}

/// Whether the client asked for a JSONL streaming batch (`httpBatchStreamLink`).
pub(super) fn wants_jsonl(headers: &HeaderMap) -> bool {
    let has = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .any(|v| v.to_str().is_ok_and(|s| s.contains("application/jsonl")))
    };
    has("trpc-accept") || has("accept")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_must_be_exactly_one() {
        assert!(Query::parse(Some("batch=1")).batch);
        assert!(!Query::parse(Some("batch=true")).batch);
        assert!(!Query::parse(Some("batch=0")).batch);
    }

    #[test]
    fn decodes_and_splits_paths() {
        assert_eq!(
            paths("/images%2EgetAll/", false).unwrap(),
            vec!["images.getAll"]
        );
        assert_eq!(paths("a.b,c.d", true).unwrap(), vec!["a.b", "c.d"]);
        assert_eq!(paths("a.b,c.d", false).unwrap(), vec!["a.b,c.d"]);
        assert!(paths("%FF", false).is_err());
    }

    #[test]
    fn last_event_id_precedence_and_empty_input() {
        let q = Query::parse(Some("Last-Event-Id=2&lastEventId=1&input="));
        assert_eq!(q.last_event_id.as_deref(), Some("1"));
        assert_eq!(q.input, None);
    }

    #[test]
    fn connection_params_shape() {
        assert_eq!(
            connection_params(Some(r#"{"a":"b"}"#)).unwrap().unwrap()["a"],
            "b"
        );
        assert_eq!(
            connection_params(Some(r#"{"a":1}"#)).unwrap_err().code,
            ErrorCode::ParseError
        );
        assert_eq!(
            connection_params(Some("{")).unwrap_err().message,
            "Not JSON-parsable query params"
        );
    }

    #[test]
    fn content_type_rules() {
        let mut h = HeaderMap::new();
        assert_eq!(
            check_content_type(&h).unwrap_err().message,
            "Missing content-type header"
        );
        h.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(check_content_type(&h).is_ok());
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(
            check_content_type(&h).unwrap_err().code,
            ErrorCode::UnsupportedMediaType
        );
    }
}
