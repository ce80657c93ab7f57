//! Embeds an rpath to libtorch's `lib` folder into the crate's binaries, examples, tests and
//! benches, so that they run without LD_LIBRARY_PATH. LIBTORCH comes from the environment or
//! from `.cargo/config.toml` (the folder `scripts/setup-libtorch.sh` fills).
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Some(dir) = std::env::var_os("LIBTORCH") {
        let lib = PathBuf::from(dir).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        if !lib.is_dir() {
            println!(
                "cargo:warning=LIBTORCH lib folder {} does not exist: run scripts/setup-libtorch.sh",
                lib.display()
            );
        }
    }
}
