//! Figure 4: binary and zip size of the release profile.

use super::*;

// ---------------------------------------------------------------------------------------------------------------
// 4. Package

/// `[profile.release]` of the workspace's Cargo.toml, as one line.
pub(super) fn release_profile() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return "unreadable".into();
    };
    let mut inside = false;
    let mut keys = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            inside = l == "[profile.release]";
            continue;
        }
        if inside && !l.is_empty() && !l.starts_with('#') {
            keys.push(l.replace('"', "'"));
        }
    }
    let overrides: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("CARGO_PROFILE_RELEASE_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut s = if keys.is_empty() {
        "defaults".to_string()
    } else {
        keys.join(", ")
    };
    if !overrides.is_empty() {
        s.push_str(&format!(
            " (environment overrides: {})",
            overrides.join(" ")
        ));
    }
    s
}

/// Size of a Lambda zip holding the binary as `bootstrap` (deflate, as `cargo lambda build --output-format zip`).
pub(super) fn zip_size(binary: &Path, python: Option<&Path>) -> Result<u64, String> {
    let python = python.ok_or("no Python to build the zip")?;
    let out = std::env::temp_dir().join(format!("ec2ops-bench-{}.zip", std::process::id()));
    let script = "import sys, zipfile\n\
                  zi = zipfile.ZipInfo('bootstrap', date_time=(2020, 1, 1, 0, 0, 0))\n\
                  zi.external_attr = 0o100755 << 16\n\
                  zi.compress_type = zipfile.ZIP_DEFLATED\n\
                  with zipfile.ZipFile(sys.argv[2], 'w') as z, open(sys.argv[1], 'rb') as f:\n    z.writestr(zi, f.read())\n";
    let status = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(binary)
        .arg(&out)
        .status()
        .map_err(|e| format!("python: {e}"))?;
    if !status.success() {
        return Err(format!("python zipfile exited with {status}"));
    }
    let size = std::fs::metadata(&out)
        .map(|m| m.len())
        .map_err(|e| e.to_string());
    let _ = std::fs::remove_file(&out);
    size
}

pub(super) fn mib(bytes: u64) -> String {
    format!("{:.2} MiB ({bytes} B)", bytes as f64 / 1_048_576.0)
}

pub(super) fn package(o: &Options, table: &mut Table) {
    log("package");
    let python = peer_python(o.python.as_deref());
    let mut contenders = vec![(
        o.responder.clone(),
        format!("current profile: {}", release_profile()),
    )];
    if let Some((p, label)) = &o.alt {
        contenders.push((p.clone(), label.clone()));
    }
    let mut sizes = Vec::new();
    for (path, label) in &contenders {
        match std::fs::metadata(path) {
            Ok(m) => {
                sizes.push(m.len());
                table.fact(
                    "4. binary size (`responder`)",
                    mib(m.len()),
                    "–",
                    label.clone(),
                );
                match zip_size(path, python.as_deref()) {
                    Ok(z) => table.fact(
                        "4. zip size (`bootstrap`, deflate)",
                        mib(z),
                        "–",
                        label.clone(),
                    ),
                    Err(e) => table.fact("4. zip size", "unavailable".into(), "–", e),
                }
            }
            Err(e) => table.notes.push(format!("package {}: {e}", path.display())),
        }
    }
    if let [a, b] = sizes.as_slice() {
        table.fact(
            "4. binary size ratio alternative / current",
            format!("{:.2}×", *b as f64 / *a as f64),
            "–",
            "same run".into(),
        );
    }
}
