//! The one place an upstream URL is made: an endpoint plus path segments and query pairs.
//! Every segment is percent-encoded on its own, so nothing in it (`/`, `\`, `?`, `#`, `%`,
//! white space, NUL, non-ASCII) can end it or start another, and `.`, `..` and empty segments
//! are refused, so no segment can climb out of the endpoint. No URL to a service is built by
//! formatting strings.

use percent_encoding::percent_decode_str;
use reqwest::Url;

use crate::error::Error;

/// A path relative to an endpoint, one segment at a time, and its query pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Path {
    /// The segments, unencoded.
    pub(crate) segments: Vec<String>,
    /// Query pairs, unencoded.
    pub(crate) query: Vec<(String, String)>,
}

impl Path {
    /// A path of the given segments (literal names and ids alike), without a query.
    pub(crate) fn new<S: AsRef<str>>(segments: impl IntoIterator<Item = S>) -> Self {
        Self {
            segments: segments
                .into_iter()
                .map(|s| s.as_ref().to_owned())
                .collect(),
            query: Vec::new(),
        }
    }

    /// A path as a server wrote it (`/v2/images?marker=..`, a link it sent), split into
    /// decoded segments and pairs that [`url`] encodes again. Its `.` and `..` are resolved
    /// within the path, so it too stays under the endpoint it is appended to.
    pub(crate) fn parse(text: &str) -> Result<Self, Error> {
        let invalid = || Error::Invalid(format!("not a path: {text:?}"));
        let parsed = Url::parse("http://path.invalid/")
            .and_then(|root| root.join(text))
            .map_err(|_| invalid())?;
        let segments = parsed
            .path_segments()
            .ok_or_else(invalid)?
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let query = parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Ok(Self { segments, query })
    }
}

/// `endpoint` followed by `path`'s segments, each percent-encoded, then its query. With no
/// segments the endpoint itself, with a trailing slash (where version documents live).
pub(crate) fn url(endpoint: &str, path: &Path) -> Result<Url, Error> {
    let mut url = Url::parse(endpoint)
        .map_err(|e| Error::Config(format!("endpoint {endpoint:?} is not a URL: {e}")))?;
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|()| Error::Config(format!("endpoint {endpoint:?} cannot have a path")))?;
        segments.pop_if_empty();
        if path.segments.is_empty() {
            segments.push("");
        }
        for segment in &path.segments {
            check(segment)?;
            segments.push(segment);
        }
    }
    if !path.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&path.query);
    }
    Ok(url)
}

/// Refuses the segments that percent-encoding cannot make harmless: URL parsers resolve `.`
/// and `..` whatever their spelling, and an empty segment changes what the path names.
fn check(segment: &str) -> Result<(), Error> {
    if segment.is_empty() || segment == "." || segment == ".." {
        return Err(Error::Invalid(format!(
            "{segment:?} cannot be a path segment"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(endpoint: &str, segments: &[&str]) -> String {
        url(endpoint, &Path::new(segments)).unwrap().to_string()
    }

    #[test]
    fn segments_are_appended_to_the_endpoint() {
        assert_eq!(
            built("http://h/compute/v2.1", &["servers", "detail"]),
            "http://h/compute/v2.1/servers/detail"
        );
        assert_eq!(
            built("http://h:9292/", &["v2", "images"]),
            "http://h:9292/v2/images"
        );
        assert_eq!(built("http://h/compute", &[]), "http://h/compute/");
        assert_eq!(built("http://h:8776", &[]), "http://h:8776/");
    }

    #[test]
    fn nothing_in_a_segment_ends_it() {
        let attacks = [
            ("../../identity", "..%2F..%2Fidentity"),
            ("a?all_tenants=1", "a%3Fall_tenants=1"),
            ("a#frag", "a%23frag"),
            ("..\\..\\x", "..%5C..%5Cx"),
            ("%2e%2e", "%252e%252e"),
            ("a b\0", "a%20b%00"),
            ("é／", "%C3%A9%EF%BC%8F"),
        ];
        for (segment, encoded) in attacks {
            assert_eq!(
                built("http://h/compute/v2.1", &["servers", segment]),
                format!("http://h/compute/v2.1/servers/{encoded}"),
                "{segment:?}"
            );
        }
    }

    #[test]
    fn dot_and_empty_segments_are_refused() {
        for segment in ["", ".", ".."] {
            let result = url("http://h/v3", &Path::new(["servers", segment]));
            assert!(matches!(result, Err(Error::Invalid(_))), "{segment:?}");
        }
    }

    #[test]
    fn query_pairs_are_encoded() {
        let mut path = Path::new(["limits"]);
        path.query.push(("tenant_id".into(), "a&b=c#d".into()));
        assert_eq!(
            url("http://h/compute/v2.1", &path).unwrap().as_str(),
            "http://h/compute/v2.1/limits?tenant_id=a%26b%3Dc%23d"
        );
    }

    #[test]
    fn server_written_paths_stay_under_the_endpoint() {
        let next = Path::parse("/v2/images?marker=a%2Fb&limit=2").unwrap();
        assert_eq!(next.segments, ["v2", "images"]);
        assert_eq!(
            next.query,
            [
                ("marker".into(), "a/b".into()),
                ("limit".into(), "2".into())
            ]
        );
        let climbing = Path::parse("/v2/../../../identity/v3/users").unwrap();
        assert_eq!(
            url("http://h/image", &climbing).unwrap().as_str(),
            "http://h/image/identity/v3/users"
        );
    }
}
