//! The EC2 user data: installs the recommendation server (shipped inline, never
//! downloaded) as a systemd unit, so it comes back by itself after a reboot.

use std::time::Duration;

/// The server every instance runs (Python 3 with boto3 on Amazon Linux 2023).
pub const SERVER_PY: &str = include_str!("server.py");

/// How long the server uses the parameters it read before reading them
/// again (`RESILIENT_PARAMETER_MAX_AGE`): Parameter Store allows an account
/// 40 `GetParameter`/`GetParameters` calls per second per region by default.
pub const PARAMETER_MAX_AGE: Duration = Duration::from_secs(1);

/// How many times the package installation is tried before the boot fails.
pub(crate) const INSTALL_ATTEMPTS: u32 = 5;

/// The pause between two installation attempts, in seconds.
pub(crate) const INSTALL_PAUSE_S: u32 = 10;

/// The user-data script for a deployment with this prefix in this region
/// (the first release).
pub(crate) fn script(prefix: &str, region: &str) -> String {
    script_for(prefix, region, &crate::cloud::Release::first())
}

/// The user-data script of a release: its systemd unit tells the server the
/// release's label (`RESILIENT_VERSION`) and how it is broken
/// (`RESILIENT_BREAK`). The label is checked by [`crate::cloud::Release::validate`]
/// (letters, digits, `.`, `_`, `-`): nothing in it needs quoting.
pub(crate) fn script_for(prefix: &str, region: &str, release: &crate::cloud::Release) -> String {
    let max_age = PARAMETER_MAX_AGE.as_secs_f64();
    let version = &release.label;
    let broken = release.broken.as_str();
    format!(
        r#"#!/bin/bash
# resilient: recommendation service for deployment {prefix}
set -euo pipefail
# A repository can fail for a moment: try again before giving up.
installed=0
for attempt in $(seq 1 {INSTALL_ATTEMPTS}); do
  if dnf install -y python3 python3-boto3; then
    installed=1
    break
  fi
  echo "dnf install failed (attempt $attempt of {INSTALL_ATTEMPTS})" >&2
  if [ "$attempt" -lt {INSTALL_ATTEMPTS} ]; then
    sleep {INSTALL_PAUSE_S}
    dnf clean expire-cache || true
  fi
done
if [ "$installed" -ne 1 ]; then
  echo "dnf install failed {INSTALL_ATTEMPTS} times: giving up" >&2
  exit 1
fi
install -d -m 0755 /opt/resilient
cat > /opt/resilient/server.py <<'RESILIENT_SERVER_EOF'
{SERVER_PY}RESILIENT_SERVER_EOF
cat > /etc/systemd/system/resilient.service <<'RESILIENT_UNIT_EOF'
[Unit]
Description=resilient recommendation service
After=network-online.target
Wants=network-online.target

[Service]
Environment=RESILIENT_PREFIX={prefix}
Environment=AWS_REGION={region}
Environment=RESILIENT_PARAMETER_MAX_AGE={max_age}
Environment=RESILIENT_VERSION={version}
Environment=RESILIENT_BREAK={broken}
ExecStart=/usr/bin/python3 /opt/resilient/server.py
Restart=always
RestartSec=2
# Connections a hung service holds open without answering.
LimitNOFILE=16384

[Install]
WantedBy=multi-user.target
RESILIENT_UNIT_EOF
systemctl daemon-reload
systemctl enable --now resilient.service
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ships_the_server_inline_as_a_systemd_unit() {
        let s = script("demo", "eu-west-1");
        assert!(s.contains("def health_check"), "the server is inline");
        assert!(s.contains("Restart=always") && s.contains("systemctl enable --now"));
        assert!(s.contains("RESILIENT_PREFIX=demo") && s.contains("AWS_REGION=eu-west-1"));
        assert!(s.contains("RESILIENT_PARAMETER_MAX_AGE=1\n"), "{s}");
        assert!(!s.contains("curl") && !s.contains("wget") && !s.contains("git clone"));
        assert!(
            !SERVER_PY.contains("RESILIENT_SERVER_EOF"),
            "the heredoc marker cannot clash"
        );
    }

    /// Runs the script's installation part with a `dnf` that fails `failures`
    /// times, then succeeds; returns whether the script went on, and how
    /// many times `dnf install` ran.
    fn install_with_flaky_dnf(failures: u32) -> (bool, u32) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let count = dir.join("count");
        let dnf = format!(
            "#!/bin/bash\n[ \"$1\" = install ] || exit 0\nn=$(( $(cat {c} 2>/dev/null || echo 0) + 1 ))\necho $n > {c}\n[ $n -gt {failures} ]\n",
            c = count.display()
        );
        let sleep = "#!/bin/bash\nexit 0\n";
        for (name, body) in [("dnf", dnf.as_str()), ("sleep", sleep)] {
            let path = bin.join(name);
            std::fs::write(&path, body).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // Everything up to the server's installation, then a marker.
        let full = script("demo", "eu-west-1");
        let install = &full[..full.find("install -d").unwrap()];
        let test = format!("{install}echo WENT_ON\n");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&test)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .unwrap();
        let runs = std::fs::read_to_string(&count)
            .map(|s| s.trim().parse().unwrap_or(0))
            .unwrap_or(0);
        let went_on = String::from_utf8_lossy(&out.stdout).contains("WENT_ON");
        assert_eq!(went_on, out.status.success(), "{out:?}");
        (went_on, runs)
    }

    #[test]
    fn a_transient_dnf_failure_is_retried_and_a_lasting_one_fails_the_boot() {
        assert_eq!(install_with_flaky_dnf(0), (true, 1));
        assert_eq!(
            install_with_flaky_dnf(2),
            (true, 3),
            "retried after failures"
        );
        assert_eq!(
            install_with_flaky_dnf(INSTALL_ATTEMPTS),
            (false, INSTALL_ATTEMPTS),
            "gives up (set -e semantics) after every attempt failed"
        );
    }
}
