//! The simulator over real HTTP: identity (its own, or another Keystone's), response shapes
//! against the published samples, Glance's listing rules, resource lifecycles, faults and
//! stats.

mod behind_keystone;
mod bulk;
mod faults;
mod helpers;
mod identity;
mod image_listing;
mod lifecycle;
mod operator;
mod shapes;
mod versions;
