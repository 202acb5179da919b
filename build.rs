//! Links the `resilient` executable position-dependent (not PIE) on Linux.
//!
//! A position-independent executable has to be relocated by the dynamic
//! loader at every start: for this binary that is about 79,000 pointers
//! patched and 1.1 MB of data copied page by page before `main` runs, a
//! third of an empty script's run. Without PIE the linker fixes those
//! addresses once. The price is that the executable's own code and data are
//! not placed at random addresses (the heap, the stack and the shared
//! libraries still are). Set `RESILIENT_PIE=1` when building to keep PIE.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RESILIENT_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let keep_pie = std::env::var("RESILIENT_PIE").is_ok_and(|v| v == "1");
    if linux && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
