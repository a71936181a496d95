//! The kinds of change a notice can announce. One table, so a new kind is a one-line change.

use serde::{Deserialize, Serialize};

/// Declares [`UpdateType`] and [`NoticeType`] from one list of `Variant => "wire name"` lines,
/// so the two enums, [`UpdateType::ALL`] and [`UpdateType::as_str`] can never disagree.
macro_rules! update_types {
    ($( $(#[doc = $doc:literal])* $variant:ident => $name:tt, )+) => {
        /// What kind of resource changed. Queries declare which types invalidate them; clients
        /// refetch the matching queries when a notice of that type arrives.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type,
        )]
        #[serde(rename_all = "lowercase")]
        pub enum UpdateType {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl UpdateType {
            /// Every update type, in declaration order.
            pub const ALL: [UpdateType; [$($name),+].len()] = [$(UpdateType::$variant),+];

            /// The wire name (the same string serde writes).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( UpdateType::$variant => $name, )+
                }
            }
        }

        /// The `type` of a notice on the wire: every [`UpdateType`], plus `resync`, which tells
        /// the client to refetch everything because it may have missed notices.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type,
        )]
        #[serde(rename_all = "lowercase")]
        pub enum NoticeType {
            $( $(#[doc = $doc])* $variant, )+
            /// Refetch everything: notices were missed (see `ResyncReason`).
            Resync,
        }

        impl From<UpdateType> for NoticeType {
            fn from(ty: UpdateType) -> Self {
                match ty {
                    $( UpdateType::$variant => NoticeType::$variant, )+
                }
            }
        }
    };
}

update_types! {
    /// Projects (Keystone).
    Projects => "projects",
    /// Instances and flavors (Nova).
    Compute => "compute",
    /// Volumes (Cinder).
    Volumes => "volumes",
    /// Images (Glance).
    Images => "images",
    /// Networks, subnets and ports (Neutron).
    Networks => "networks",
    /// Progress of long-running operations started from the console.
    Progress => "progress",
}

/// The filter bit of `ty` in a [`TypeSet`].
const fn bit(ty: UpdateType) -> u64 {
    1 << (ty as u32)
}

const _: () = assert!(
    UpdateType::ALL.len() <= 64,
    "TypeSet holds at most 64 update types"
);

/// A set of update types as a bit mask: the per-subscriber filter, checked once per notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TypeSet(u64);

impl TypeSet {
    /// The set a subscriber asked for; `None` means every type.
    pub(crate) fn new(types: Option<&[UpdateType]>) -> Self {
        match types {
            None => Self(UpdateType::ALL.iter().fold(0, |mask, &ty| mask | bit(ty))),
            Some(types) => Self(types.iter().fold(0, |mask, &ty| mask | bit(ty))),
        }
    }

    /// Whether notices of `ty` pass the filter.
    pub(crate) fn contains(self, ty: UpdateType) -> bool {
        self.0 & bit(ty) != 0
    }
}
