fn main() {
    // tauri.conf.json sits at the top level; the capabilities live in src-tauri/.
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"),
    )
    .expect("tauri build step failed");
}
