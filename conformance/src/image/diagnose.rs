//! Turns what the emulator said about a session that never became ready (the pool's failed
//! provisioning message, the console lines, the image's declared ports) into one message that
//! says what is wrong and what to fix.

/// Why the session never became ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The container exited (code when known).
    Crashed(Option<i32>),
    /// A Startup probe kept failing (the probe's last answer).
    ProbeFailed(String),
    /// Nothing accepted connections on the target port.
    PortClosed,
    /// The image could not be pulled or loaded.
    Image(String),
    /// Anything else.
    Other(String),
}

/// Classifies the emulator's start-failure message.
pub fn classify(message: &str) -> Cause {
    let m = message.to_ascii_lowercase();
    if m.contains("exited with code") || m.contains("container ended") {
        let code = m.split("code ").nth(1).and_then(|r| {
            r.split(|c: char| !(c.is_ascii_digit() || c == '-'))
                .next()
                .and_then(|n| n.parse().ok())
        });
        return Cause::Crashed(code);
    }
    if m.contains("killed by signal") || m.contains("container process did not start") {
        return Cause::Crashed(None);
    }
    if m.contains("probe failed") {
        let last = message
            .rsplit_once("in a row: ")
            .map(|(_, r)| r.to_string())
            .unwrap_or_else(|| message.to_string());
        return Cause::ProbeFailed(last);
    }
    if m.contains("target port") && m.contains("never accepted") {
        return Cause::PortClosed;
    }
    if m.contains("image")
        && (m.contains("pull") || m.contains("not found") || m.contains("manifest"))
    {
        return Cause::Image(message.to_string());
    }
    Cause::Other(message.to_string())
}

/// Ports a console line says the program listens on (`listening on 0.0.0.0:9090`, `port 3000`).
pub fn ports_in_console(lines: &[String]) -> Vec<u16> {
    let mut out = Vec::new();
    for line in lines {
        let l = line.to_ascii_lowercase();
        if !(l.contains("listen")
            || l.contains("port")
            || l.contains("serving")
            || l.contains("running on"))
        {
            continue;
        }
        let bytes: Vec<char> = l.chars().collect();
        let mut i = 0;
        while i < bytes.len() {
            let after_colon = bytes[i] == ':';
            let after_port =
                l[..l.char_indices().nth(i).map(|(b, _)| b).unwrap_or(l.len())].ends_with("port ");
            if after_colon || after_port {
                let start = if after_colon { i + 1 } else { i };
                let digits: String = bytes[start..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                let ends_word = bytes
                    .get(start + digits.len())
                    .is_none_or(|c| !c.is_ascii_alphanumeric());
                if !digits.is_empty() && digits.len() <= 5 && ends_word {
                    if let Ok(p) = digits.parse::<u16>() {
                        if p != 0 && !out.contains(&p) {
                            out.push(p);
                        }
                    }
                }
            }
            i += 1;
        }
    }
    out
}

/// The last `n` console lines, indented, for a message.
pub fn tail(lines: &[String], n: usize) -> String {
    if lines.is_empty() {
        return "    (the container wrote nothing to stdout or stderr)".into();
    }
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a wrong target port looks like, and what to do.
pub fn wrong_port(target: u16, exposed: &[String], console: &[String]) -> String {
    let mut listening = ports_in_console(console);
    listening.retain(|p| *p != target);
    let mut msg = format!("nothing accepted connections on the target port {target}.");
    if !listening.is_empty() {
        let ports: Vec<String> = listening.iter().map(u16::to_string).collect();
        msg.push_str(&format!(
            " The container says it listens on port {} (console).",
            ports.join(", ")
        ));
    }
    let other_exposed: Vec<&String> = exposed
        .iter()
        .filter(|p| p.split('/').next() != Some(&target.to_string()))
        .collect();
    if !other_exposed.is_empty() {
        msg.push_str(&format!(
            " The image declares EXPOSE {}.",
            other_exposed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let suggestion = listening.first().copied().or_else(|| {
        other_exposed
            .first()
            .and_then(|p| p.split('/').next()?.parse().ok())
    });
    match suggestion {
        Some(p) => msg.push_str(&format!(
            "\n  fix: run the check with --target-port {p} (the pool's ingress targetPort), or make the app listen on 0.0.0.0:{target}"
        )),
        None => msg.push_str(&format!(
            "\n  fix: make the app listen on 0.0.0.0:{target} (not 127.0.0.1), or pass the port it listens on as --target-port"
        )),
    }
    msg.push_str(&format!("\n  last console lines:\n{}", tail(console, 10)));
    msg
}

/// A container that exited before it became ready.
pub fn crashed(code: Option<i32>, message: &str, console: &[String]) -> String {
    let code = code
        .map(|c| format!("exit code {c}"))
        .unwrap_or_else(|| "no exit code".into());
    format!(
        "the container exited before it became ready ({code}): {message}\n  last console lines:\n{}\n  fix: the program must keep running and serve on the target port; run the image locally (docker run) with the same --env to see why it exits",
        tail(console, 10)
    )
}

/// A Startup probe that never passed.
pub fn probe_failed(probe: &str, last_answer: &str, console: &[String]) -> String {
    format!(
        "the {probe} never passed; its last answer: {last_answer}\n  last console lines:\n{}\n  fix: the probe's path must answer 200-399 once the app is ready (or pass the path that does with --probe startup:http:PATH)",
        tail(console, 10)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn classifies_start_failures() {
        assert_eq!(
            classify("the container exited with code 3 before it became ready"),
            Cause::Crashed(Some(3))
        );
        assert_eq!(
            classify("the container ended before it became ready: exited with code -1"),
            Cause::Crashed(Some(-1))
        );
        assert_eq!(
            classify("the Startup probe failed 2 times in a row: HTTP 503"),
            Cause::ProbeFailed("HTTP 503".into())
        );
        assert_eq!(
            classify("the target port 8080 never accepted a connection within 120 s"),
            Cause::PortClosed
        );
        assert!(matches!(classify("something"), Cause::Other(_)));
    }

    #[test]
    fn finds_listening_ports_in_console_lines() {
        assert_eq!(
            ports_in_console(&v(&["sample-session listening on 0.0.0.0:9090"])),
            vec![9090]
        );
        assert_eq!(
            ports_in_console(&v(&[
                "Server running on port 3000",
                "time 12:30:45 nothing"
            ])),
            vec![3000]
        );
        assert!(ports_in_console(&v(&["12:30:45 started"])).is_empty());
    }

    #[test]
    fn wrong_port_names_the_real_one() {
        let m = wrong_port(
            8080,
            &["9090/tcp".into()],
            &v(&["sample-session listening on 0.0.0.0:9090"]),
        );
        assert!(m.contains("target port 8080"), "{m}");
        assert!(m.contains("listens on port 9090"), "{m}");
        assert!(m.contains("EXPOSE 9090/tcp"), "{m}");
        assert!(m.contains("--target-port 9090"), "{m}");
        let m = wrong_port(8080, &[], &[]);
        assert!(m.contains("0.0.0.0:8080"), "{m}");
        assert!(m.contains("wrote nothing"), "{m}");
    }

    #[test]
    fn crash_shows_code_and_lines() {
        let m = crashed(Some(3), "exited", &v(&["boom"]));
        assert!(m.contains("exit code 3") && m.contains("| boom"), "{m}");
    }
}
