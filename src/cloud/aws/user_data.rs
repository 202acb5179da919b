//! The EC2 user data: installs the recommendation server (shipped inline, never
//! downloaded) as a systemd unit, so it comes back by itself after a reboot.

/// The server every instance runs (Python 3 with boto3 on Amazon Linux 2023).
pub const SERVER_PY: &str = include_str!("server.py");

/// The user-data script for a deployment with this prefix in this region.
pub fn script(prefix: &str, region: &str) -> String {
    format!(
        r#"#!/bin/bash
# resilient: recommendation service for deployment {prefix}
set -euo pipefail
dnf install -y python3 python3-boto3
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
ExecStart=/usr/bin/python3 /opt/resilient/server.py
Restart=always
RestartSec=2

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
        assert!(!s.contains("curl") && !s.contains("wget") && !s.contains("git clone"));
        assert!(
            !SERVER_PY.contains("RESILIENT_SERVER_EOF"),
            "the heredoc marker cannot clash"
        );
    }
}
