//! # rtvc-testkit
//!
//! Tools for testing and measuring rtvc that are not part of the codec library:
//!
//! | module | what |
//! |---|---|
//! | [`conformance`] | decode the test vectors of a manifest and compare MD5s with the references (`rtvc conformance`, `cargo test`) |
//! | [`rng`] | a tiny seeded random source (xorshift64) for simulations, synthetic traces and tests |
//! | [`shared`] | where the shared test data (`../shared`) is, and what a test does when it, or a tool it needs, is missing: under `CI=true` it fails, locally it says so on the terminal |

#![deny(missing_docs)]

pub mod conformance;
/// The seeded random source lives in `rtvc-netsim` (its traces use it); re-exported here for tests.
pub use rtvc_netsim::rng;
pub mod shared;
