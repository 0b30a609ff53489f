//! `chainvm testnet run`: starts every node home of a testnet directory as a child process
//! (`chainvm --home DIR/vI node`, output in `DIR/vI/node.log`), prints their RPC URLs once
//! they listen, and on Ctrl-C (or SIGTERM) stops them all with SIGTERM, so each finishes its
//! block and closes its store, then waits for them.

use crate::testnet::{NetworkConfig, TestnetError};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a node may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The node homes of a testnet directory (`v0`, `v1`, … and any other subdirectory with a
/// network file), in name order.
pub fn homes(dir: &Path) -> Result<Vec<(PathBuf, NetworkConfig)>, TestnetError> {
    let io = |source| TestnetError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut homes = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if let Some(cfg) = NetworkConfig::read(&path)? {
            homes.push((path, cfg));
        }
    }
    homes.sort_by(|a, b| a.0.cmp(&b.0));
    if homes.is_empty() {
        return Err(TestnetError::Arguments(format!(
            "{} holds no node homes: run `chainvm testnet init --dir {}` first",
            dir.display(),
            dir.display()
        )));
    }
    Ok(homes)
}

fn terminate(child: &Child) {
    // SAFETY: kill(2) with a child's pid and SIGTERM has no memory effects.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}

/// Stops every child with SIGTERM, then SIGKILL after [`STOP_TIMEOUT`].
fn stop_all(children: &mut [(PathBuf, Child)]) {
    for (_, c) in children.iter() {
        terminate(c);
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    for (_, c) in children.iter_mut() {
        loop {
            match c.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// Starts every home in `dir` with the `chainvm` binary `exe`, calls `ready` with each
/// home's RPC URL once all listen, and runs until SIGINT/SIGTERM or until a node exits on
/// its own (an error naming it).
pub fn run(
    exe: &Path,
    dir: &Path,
    ready: impl FnOnce(&[(PathBuf, String)]),
) -> Result<(), TestnetError> {
    let homes = homes(dir)?;
    // Signals are watched before any child starts, so a Ctrl-C during start-up stops them.
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| TestnetError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let watcher = std::thread::spawn(move || {
        signals.block_on(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let term = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term => {} }
        });
        let _ = stop_tx.send(());
    });
    let mut children: Vec<(PathBuf, Child)> = Vec::new();
    let started = (|| {
        for (home, _) in &homes {
            let log_path = home.join("node.log");
            let log = std::fs::File::create(&log_path).map_err(|source| TestnetError::Io {
                path: log_path.clone(),
                source,
            })?;
            let err = log.try_clone().map_err(|source| TestnetError::Io {
                path: log_path.clone(),
                source,
            })?;
            let child = Command::new(exe)
                .arg("--home")
                .arg(home)
                .arg("node")
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err)
                .spawn()
                .map_err(|source| TestnetError::Io {
                    path: exe.to_path_buf(),
                    source,
                })?;
            children.push((home.clone(), child));
        }
        let deadline = Instant::now() + START_TIMEOUT;
        for (home, child) in children.iter_mut() {
            let log = home.join("node.log");
            loop {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains("listening") {
                    break;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    let last = text.lines().last().unwrap_or("").to_string();
                    return Err(TestnetError::Arguments(format!(
                        "node {} exited ({status}) while starting: {last}",
                        home.display()
                    )));
                }
                if Instant::now() > deadline || stop_rx.try_recv().is_ok() {
                    return Err(TestnetError::Arguments(format!(
                        "node {} did not start listening (see {})",
                        home.display(),
                        log.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    })();
    if let Err(e) = started {
        stop_all(&mut children);
        return Err(e);
    }
    let urls: Vec<(PathBuf, String)> = homes
        .iter()
        .map(|(h, cfg)| (h.clone(), format!("http://{}", cfg.rpc)))
        .collect();
    ready(&urls);
    let outcome = loop {
        if stop_rx.recv_timeout(Duration::from_millis(200)).is_ok() {
            break Ok(());
        }
        if let Some((home, status)) = children
            .iter_mut()
            .find_map(|(h, c)| c.try_wait().ok().flatten().map(|s| (h.clone(), s)))
        {
            break Err(TestnetError::Arguments(format!(
                "node {} exited ({status}); see {}",
                home.display(),
                home.join("node.log").display()
            )));
        }
    };
    stop_all(&mut children);
    drop(watcher);
    outcome
}
