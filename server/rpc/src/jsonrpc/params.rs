//! JSON-RPC params to a procedure's input: a by-name object is the input, a one-element array
//! holds it, and absent, `null` or empty params mean no input.

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::procedure::RawInput;

/// Why params cannot be an input (reported as `-32602`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParamsShape(pub &'static str);

/// The input carried by `params` (the raw JSON text jsonrpsee hands over, already known to be
/// valid JSON).
pub(crate) fn to_input(params: Option<&str>) -> Result<RawInput, ParamsShape> {
    let Some(text) = params
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "null")
    else {
        return Ok(RawInput::default());
    };
    match text.as_bytes()[0] {
        b'{' => Ok(RawInput::json(Bytes::copy_from_slice(text.as_bytes()))),
        b'[' => {
            let items: Vec<&RawValue> =
                serde_json::from_str(text).map_err(|_| ParamsShape("params must be valid JSON"))?;
            match items.as_slice() {
                [] => Ok(RawInput::default()),
                [one] => Ok(RawInput::json(Bytes::copy_from_slice(one.get().as_bytes()))),
                _ => Err(ParamsShape(
                    "expected at most one positional param (the input)",
                )),
            }
        }
        _ => Err(ParamsShape("params must be an object or an array")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(params: Option<&str>) -> Option<String> {
        to_input(params)
            .unwrap()
            .json
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn object_is_the_input() {
        assert_eq!(
            json(Some(r#"{"id":"a"}"#)).as_deref(),
            Some(r#"{"id":"a"}"#)
        );
    }

    #[test]
    fn one_element_array_holds_the_input() {
        assert_eq!(
            json(Some(r#"[{"id":"a"}]"#)).as_deref(),
            Some(r#"{"id":"a"}"#)
        );
        assert_eq!(json(Some(r#"[ "x" ]"#)).as_deref(), Some(r#""x""#));
        assert_eq!(json(Some("[[1,2]]")).as_deref(), Some("[1,2]"));
    }

    #[test]
    fn absent_null_and_empty_mean_no_input() {
        for params in [None, Some(""), Some("null"), Some("[]"), Some(" [ ] ")] {
            assert_eq!(json(params), None, "{params:?}");
        }
    }

    #[test]
    fn other_shapes_are_invalid() {
        assert!(to_input(Some("[1,2]")).is_err());
        assert!(to_input(Some("3")).is_err());
        assert!(to_input(Some("\"x\"")).is_err());
    }
}
