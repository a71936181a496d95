//! Method names on the JSON-RPC wire. Queries and mutations are called by their path; a
//! subscription `a.b.subscribe` is unsubscribed with `a.b.unsubscribe` and notifies with
//! `a.b.notice` (the last path segment replaced).

/// The names that belong to one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodNames {
    /// The unsubscribe method.
    pub unsubscribe: String,
    /// The method of the notifications it sends.
    pub notification: String,
}

impl MethodNames {
    /// The names for the subscription at `path`.
    pub fn for_subscription(path: &str) -> Self {
        let prefix = match path.rsplit_once('.') {
            Some((prefix, _)) => format!("{prefix}."),
            None => String::new(),
        };
        Self {
            unsubscribe: format!("{prefix}unsubscribe"),
            notification: format!("{prefix}notice"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_segment_is_replaced() {
        let names = MethodNames::for_subscription("updates.subscribe");
        assert_eq!(names.unsubscribe, "updates.unsubscribe");
        assert_eq!(names.notification, "updates.notice");
        let names = MethodNames::for_subscription("watch");
        assert_eq!(names.unsubscribe, "unsubscribe");
        assert_eq!(names.notification, "notice");
    }
}
