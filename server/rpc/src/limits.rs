//! The limits every call through a [`Registry`](crate::Registry) is held to, whatever its
//! transport: how deeply an input may nest, and how long a call may run.

use std::time::Duration;

use crate::error::{ErrorCode, RpcError};

/// Limits applied by the registry to every call, so that each transport gets them for free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of arrays and objects accepted in an input (`[]` is 1, `{"a":[1]}` is
    /// 2). Deeper input is refused with `BAD_REQUEST` after a linear scan of its text, before
    /// anything is parsed. serde_json's own recursion limit (128) still caps larger values.
    pub max_input_depth: usize,
    /// How long a query or mutation, or the setup of a subscription, may run. Past it, the
    /// handler's future is dropped (as a disconnected client's would be) and that call alone
    /// fails with `TIMEOUT`. `None`: no deadline.
    pub call_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_depth: 32,
            call_timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// Refuses JSON text that nests arrays and objects deeper than `max`.
///
/// One pass over the bytes with a counter, never recursion, so any length of `[[[[` costs
/// time linear in its size and no stack. Malformed text that stays within the limit passes:
/// the parser reports it afterwards.
pub fn check_depth(json: &[u8], max: usize) -> Result<(), RpcError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(too_deep(max));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Worded as an input error, so JSON-RPC reports it as invalid params (`-32602`).
fn too_deep(max: usize) -> RpcError {
    RpcError::bad_request(format!(
        "Invalid input: nested deeper than {max} levels of arrays and objects"
    ))
}

/// The error of a call that ran past its deadline.
pub(crate) fn timed_out(path: &str, limit: Duration) -> RpcError {
    tracing::warn!(
        procedure = path,
        limit_ms = limit.as_millis() as u64,
        "call timed out"
    );
    RpcError::new(
        ErrorCode::Timeout,
        format!("\"{path}\" did not finish within {limit:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn counts_arrays_and_objects() {
        assert!(check_depth(b"1", 0).is_ok());
        assert!(check_depth(b"[]", 0).is_err());
        assert!(check_depth(b"[]", 1).is_ok());
        assert!(check_depth(br#"{"a":[1]}"#, 2).is_ok());
        assert!(check_depth(br#"{"a":[1]}"#, 1).is_err());
        assert!(check_depth(nested(32).as_bytes(), 32).is_ok());
        let error = check_depth(nested(33).as_bytes(), 32).unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest);
        assert!(
            error.message.starts_with("Invalid input"),
            "{}",
            error.message
        );
        assert!(error.message.contains("32"), "{}", error.message);
    }

    #[test]
    fn siblings_do_not_add_up() {
        let wide = format!("[{}]", vec!["[[1]]"; 1000].join(","));
        assert!(check_depth(wide.as_bytes(), 3).is_ok());
        assert!(check_depth(wide.as_bytes(), 2).is_err());
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        assert!(check_depth(br#"["[[[[{{{{"]"#, 1).is_ok());
        assert!(check_depth(br#"{"k\"[[[": "\\", "v": "]]]"}"#, 1).is_ok());
        // An escaped backslash ends before the quote, which then closes the string.
        assert!(check_depth(br#"["\\", [[1]]]"#, 2).is_err());
    }

    #[test]
    fn a_megabyte_of_open_brackets_is_refused_without_recursion() {
        let text = "[".repeat(1 << 20);
        assert!(check_depth(text.as_bytes(), 32).is_err());
        let text = "{\"a\":".repeat(200_000);
        assert!(check_depth(text.as_bytes(), 32).is_err());
    }
}
