// Compiles the C scenario and the misuse test against the checked-in header.
fn main() {
    println!("cargo:rerun-if-changed=scenario.c");
    println!("cargo:rerun-if-changed=misuse.c");
    println!("cargo:rerun-if-changed=../include/dm_mirror.h");
    cc::Build::new()
        .file("scenario.c")
        .file("misuse.c")
        .include("../include")
        .flag("-std=c99")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .compile("dmm_scenario");
}
