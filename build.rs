//! Links `resilient` as a position-dependent executable on Linux.
//!
//! A position-independent one (rustc's default) is relocated by the dynamic
//! loader at every start: this binary holds about 120,000 pointers in its
//! read-only data (the AWS SDK's and Rhai's tables), and writing them cost
//! a copied page each, about 1.1 ms of a 3.5 ms start (measured with
//! `benches/local_cloud.rs`, `startup`, against `rhai-run`). Linked at a
//! fixed address they need no relocation. The libraries, the heap and the
//! stacks are still placed at random; only the binary's own image is not.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
