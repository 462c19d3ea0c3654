//! `rtvc serve` as a child process for the tests that need a real server.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `rtvc serve`; killed on drop.
pub struct ServeProcess {
    pub child: Child,
    /// host:port it listens on.
    pub addr: String,
}

impl ServeProcess {
    /// Starts `rtvc serve --listen LISTEN EXTRA...` and reads the address it prints first.
    pub fn start(listen: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rtvc"))
            .args(["serve", "--listen", listen])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("rtvc serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("piped"))
            .read_line(&mut line)
            .expect("first line");
        assert!(line.contains("listening on"), "{line}");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .expect("an address")
            .to_owned();
        Self { child, addr }
    }

    /// Its WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
