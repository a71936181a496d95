//! The simulator over real HTTP: identity, response shapes against the published samples,
//! resource lifecycles, faults and stats.

mod bulk;
mod faults;
mod helpers;
mod identity;
mod lifecycle;
mod operator;
mod shapes;
mod versions;
