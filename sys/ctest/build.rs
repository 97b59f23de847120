// Compiles the C scenario against the checked-in header.
fn main() {
    println!("cargo:rerun-if-changed=scenario.c");
    println!("cargo:rerun-if-changed=../include/dm_mirror.h");
    cc::Build::new()
        .file("scenario.c")
        .include("../include")
        .flag("-std=c99")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .compile("dmm_scenario");
}
