//! Link settings for the `resilient` binary only (no dependency is rebuilt).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux-gnu") {
        // Pack the binary's relative relocations (DT_RELR, glibc ≥ 2.36 and
        // binutils ≥ 2.38; older tools ignore it): the table the loader reads
        // at every start shrinks from about 2 MB to a few kB, which is most
        // of the start-up time of an empty script.
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
