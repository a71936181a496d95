//! The shapes OpenStack gives the ids of its resources, checked before an id goes anywhere:
//! the BFF checks its inputs with them, and the client checks every id it puts in a URL.

use std::fmt;

/// A kind of id, by the resource it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// A Nova server: a UUID.
    Instance,
    /// A Cinder volume: a UUID.
    Volume,
    /// A Glance image: a UUID.
    Image,
    /// A Neutron network: a UUID.
    Network,
    /// A Keystone project: 32 hex digits as Keystone makes them, up to 64 characters of
    /// `[A-Za-z0-9_-]` as its database allows (`default`, LDAP or federated ids).
    Project,
    /// A Keystone user: like a project id.
    User,
    /// A Nova flavor: free-form (`1`, `m1.small`, a UUID), up to 255 characters.
    Flavor,
    /// A Nova key pair name: free-form, up to 255 characters.
    Keypair,
}

/// How ids of a kind are written.
#[derive(Clone, Copy)]
enum Shape {
    /// `8-4-4-4-12` hex digits, either case.
    Uuid,
    /// 1 to 64 of `[A-Za-z0-9_-]`.
    Keystone,
    /// 1 to 255 characters, no control character, no leading or trailing white space, not `.`
    /// or `..`.
    Free,
}

/// Longest free-form id (Nova's `flavorid` and key pair name columns).
const MAX_FREE_CHARS: usize = 255;
/// Longest Keystone id (its `id` columns).
const MAX_KEYSTONE_CHARS: usize = 64;

impl IdKind {
    /// What the id names, as a message says it (`instance`, `volume`, …).
    pub const fn noun(self) -> &'static str {
        match self {
            IdKind::Instance => "instance",
            IdKind::Volume => "volume",
            IdKind::Image => "image",
            IdKind::Network => "network",
            IdKind::Project => "project",
            IdKind::User => "user",
            IdKind::Flavor => "flavor",
            IdKind::Keypair => "key pair name",
        }
    }

    const fn shape(self) -> Shape {
        match self {
            IdKind::Instance | IdKind::Volume | IdKind::Image | IdKind::Network => Shape::Uuid,
            IdKind::Project | IdKind::User => Shape::Keystone,
            IdKind::Flavor | IdKind::Keypair => Shape::Free,
        }
    }

    /// Checks that `id` has the shape of this kind of id.
    pub fn check(self, id: &str) -> Result<(), InvalidId> {
        let fits = match self.shape() {
            Shape::Uuid => is_uuid(id),
            Shape::Keystone => is_keystone_id(id),
            Shape::Free => is_free_form(id),
        };
        if fits {
            Ok(())
        } else {
            Err(InvalidId { kind: self })
        }
    }
}

/// An id that does not have the shape of its kind; says which shape is expected (never echoes
/// the id, which may be anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId {
    /// The kind of id expected.
    pub kind: IdKind,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = self.kind.noun();
        let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        match self.kind.shape() {
            Shape::Uuid => write!(
                f,
                "{article} {noun} id is a UUID (8-4-4-4-12 hexadecimal digits)"
            ),
            Shape::Keystone => write!(
                f,
                "{article} {noun} id is 1 to {MAX_KEYSTONE_CHARS} letters, digits, '-' or '_'"
            ),
            Shape::Free => write!(
                f,
                "{article} {noun}{id} is 1 to {MAX_FREE_CHARS} characters without control \
                 characters or surrounding spaces, and not '.' or '..'",
                id = if self.kind == IdKind::Flavor {
                    " id"
                } else {
                    ""
                }
            ),
        }
    }
}

impl std::error::Error for InvalidId {}

fn is_uuid(id: &str) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut groups = id.split('-');
    GROUPS.iter().all(|&len| {
        groups
            .next()
            .is_some_and(|g| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
    }) && groups.next().is_none()
}

fn is_keystone_id(id: &str) -> bool {
    (1..=MAX_KEYSTONE_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_free_form(id: &str) -> bool {
    (1..=MAX_FREE_CHARS).contains(&id.chars().count())
        && !id.chars().any(char::is_control)
        && id.trim() == id
        && id != "."
        && id != ".."
}

#[cfg(test)]
mod tests {
    use super::IdKind;

    #[test]
    fn uuids_are_five_groups_of_hex_digits() {
        let ok = "7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
        assert!(IdKind::Instance.check(ok).is_ok());
        assert!(IdKind::Volume.check(&ok.to_uppercase()).is_ok());
        for bad in [
            "",
            "7f1e2d3c4b5a69788a9b0c1d2e3f4a5b",
            "7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-",
            "7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5g",
            "../7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
            "7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b?x",
        ] {
            assert!(IdKind::Image.check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keystone_ids_are_short_words() {
        for ok in [
            "a6944d763bf64ee6a275f1263fae0352",
            "default",
            "fake_tenant",
            "263fd9",
        ] {
            assert!(IdKind::Project.check(ok).is_ok(), "{ok:?}");
        }
        for bad in ["", "..", "a/b", "a b", "%2e", &"a".repeat(65), "é"] {
            assert!(IdKind::Project.check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn free_form_names_refuse_controls_dots_and_padding() {
        for ok in ["1", "m1.small", "my key", "keypair-50ca852e"] {
            assert!(IdKind::Flavor.check(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            ".",
            "..",
            " k",
            "k ",
            "k\ney",
            "k\u{0}",
            &"k".repeat(256),
        ] {
            assert!(IdKind::Keypair.check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn messages_name_the_shape_not_the_input() {
        let error = IdKind::Volume.check("../../x").unwrap_err();
        assert_eq!(
            error.to_string(),
            "a volume id is a UUID (8-4-4-4-12 hexadecimal digits)"
        );
        let error = IdKind::Instance.check("x").unwrap_err();
        assert!(error.to_string().starts_with("an instance id"), "{error}");
    }
}
