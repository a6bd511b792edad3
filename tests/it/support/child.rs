//! A child process whose exit a thread waits for, so the test can wait for it with a deadline
//! (or kill it) without polling.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};

pub struct Watched {
    pid: Pid,
    exited: Receiver<ExitStatus>,
    status: Option<ExitStatus>,
}

impl Watched {
    /// Takes over `child`: a thread reaps it and reports its status.
    pub fn new(mut child: Child) -> Watched {
        let pid = Pid::from_child(&child);
        let (tx, exited) = mpsc::channel();
        thread::spawn(move || {
            let status = child.wait().expect("wait for the child");
            let _ = tx.send(status);
        });
        Watched {
            pid,
            exited,
            status: None,
        }
    }

    /// Its status, if it has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.exited.try_recv().ok();
        }
        self.status
    }

    /// Waits up to `limit` for it to exit.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            match self.exited.recv_timeout(limit) {
                Ok(status) => self.status = Some(status),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => panic!("the waiter thread died"),
            }
        }
        self.status
    }

    /// SIGKILLs it unless it has exited, and returns its status: [`killed_by_sigkill`] tells
    /// whether the kill landed (a process that had already exited keeps its own status).
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.try_status() {
            return status;
        }
        // Not reported yet, so not reaped more than an instant ago: the pid is still its own.
        let _ = kill_process(self.pid, Signal::KILL);
        let status = self
            .exited
            .recv()
            .expect("the waiter thread reports the status");
        self.status = Some(status);
        status
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.kill();
        }
    }
}

/// Whether the process was ended by SIGKILL.
pub fn killed_by_sigkill(status: ExitStatus) -> bool {
    status.signal() == Some(9)
}
