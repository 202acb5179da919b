//! A local instance: a lifecycle and a real HTTP server on 127.0.0.1 running the
//! recommendation service with the credentials of its instance profile.

use super::World;
use crate::cloud::Break;
use crate::cloud::InstanceState;
use crate::cloud::release::SLOW_START_S;
use crate::http::{self, Abort};
use crate::service::{
    self, Dependencies, DependencyError, Identity, Item, ParameterCache, ParameterNames, Reply,
};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// An instance's lifecycle state, as EC2 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// Launched, not yet running.
    Pending,
    /// Running (its server may still be booting).
    Running,
    /// Terminating.
    ShuttingDown,
    /// Gone.
    Terminated,
}

impl Lifecycle {
    /// The state as EC2 reports it.
    pub(crate) fn state(self) -> InstanceState {
        match self {
            Lifecycle::Pending => InstanceState::Pending,
            Lifecycle::Running => InstanceState::Running,
            Lifecycle::ShuttingDown => InstanceState::ShuttingDown,
            Lifecycle::Terminated => InstanceState::Terminated,
        }
    }
}

#[derive(Debug)]
enum Command {
    Reboot,
    /// The service process crashed: its supervisor restarts it.
    Restart,
    Impair,
    Recover,
}

#[derive(Debug)]
struct State {
    lifecycle: Lifecycle,
    profile: String,
    impaired: bool,
}

/// One instance of the local cloud.
#[derive(Debug)]
pub(crate) struct Instance {
    /// `i-` and 17 hex digits.
    pub id: String,
    /// Its Availability Zone.
    pub az: String,
    /// The port its server listens on (reserved at launch, kept across reboots).
    pub port: u16,
    /// The launch template version it was launched from.
    pub version: u32,
    /// What that version runs.
    pub release: crate::cloud::Release,
    /// The innermost lock of the local cloud (after a group's state and a
    /// target group's targets, see `AutoScalingGroup`'s state): held only
    /// to read or set a field, never while taking another lock.
    state: Mutex<State>,
    commands: mpsc::UnboundedSender<Command>,
    life: CancellationToken,
    /// Crash tokens the service already crashed for (they survive restarts).
    crashed: Arc<Mutex<std::collections::BTreeSet<String>>>,
}

impl Instance {
    /// Launches an instance: it is `pending`, then `running`, and its server
    /// answers once it has booted.
    pub(crate) fn launch(
        world: &Arc<World>,
        az: &str,
        profile: &str,
        version: u32,
        release: &crate::cloud::Release,
    ) -> std::io::Result<Arc<Instance>> {
        let socket = reserve_port(0)?;
        let port = socket.local_addr()?.port();
        let (tx, rx) = mpsc::unbounded_channel();
        let instance = Arc::new(Instance {
            id: new_instance_id(),
            az: az.to_string(),
            port,
            version,
            release: release.clone(),
            state: Mutex::new(State {
                lifecycle: Lifecycle::Pending,
                profile: profile.to_string(),
                impaired: false,
            }),
            commands: tx,
            life: world.token.child_token(),
            crashed: Arc::default(),
        });
        world
            .tasks
            .spawn(run(instance.clone(), world.clone(), socket, rx));
        Ok(instance)
    }

    /// The lifecycle state.
    pub(crate) fn lifecycle(&self) -> Lifecycle {
        self.lock().lifecycle
    }

    /// The associated instance profile (takes effect at the next boot).
    pub(crate) fn profile(&self) -> String {
        self.lock().profile.clone()
    }

    /// Whether EC2 status checks fail (its Availability Zone is out).
    pub(crate) fn impaired(&self) -> bool {
        self.lock().impaired
    }

    /// Associates another instance profile.
    pub(crate) fn set_profile(&self, profile: &str) {
        self.lock().profile = profile.to_string();
    }

    /// Reboots: the server goes down, and comes back with fresh credentials.
    pub(crate) fn reboot(&self) {
        let _ = self.commands.send(Command::Reboot);
    }

    /// Makes the instance unreachable (its zone is out) or reachable again.
    pub(crate) fn set_impaired(&self, impaired: bool) {
        self.lock().impaired = impaired;
        let _ = self.commands.send(if impaired {
            Command::Impair
        } else {
            Command::Recover
        });
    }

    /// Starts termination: `shutting-down`, then `terminated`.
    pub(crate) fn terminate(&self) {
        {
            let mut s = self.lock();
            if matches!(s.lifecycle, Lifecycle::ShuttingDown | Lifecycle::Terminated) {
                return;
            }
            s.lifecycle = Lifecycle::ShuttingDown;
        }
        self.life.cancel();
    }

    fn set_lifecycle(&self, lifecycle: Lifecycle) {
        let mut s = self.lock();
        // Termination wins over a late `running`.
        if s.lifecycle == Lifecycle::ShuttingDown && lifecycle == Lifecycle::Running {
            return;
        }
        s.lifecycle = lifecycle;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::sync::lock(&self.state)
    }
}

fn new_instance_id() -> String {
    let mut id = String::from("i-");
    for _ in 0..17 {
        id.push(char::from_digit(fastrand::u32(..16), 16).unwrap_or('0'));
    }
    id
}

/// Binds the port without listening, so connections are refused until boot.
fn reserve_port(port: u16) -> std::io::Result<TcpSocket> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    Ok(socket)
}

/// The instance's life: pending, boot, serve; reboots and outages restart the
/// server; termination ends it.
async fn run(
    me: Arc<Instance>,
    world: Arc<World>,
    socket: TcpSocket,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let timing = world.timing;
    let life = me.life.clone();
    let mut reserved = Some(socket);
    if sleep_or(timing.pending(), &life).await {
        me.set_lifecycle(Lifecycle::Running);
        let mut down_for = Some(match me.release.broken {
            Break::SlowStart => timing.boot() + timing.seconds(SLOW_START_S as f64),
            _ => timing.boot(),
        });
        let mut unreachable_for = None;
        'life: loop {
            if let Some(delay) = unreachable_for.take() {
                // The system is down: nothing answers, not even a SYN. The
                // nearest a loopback port gets is a listener that never
                // accepts, with the smallest queue: once it is full, new
                // connections are never completed (the load balancer's time
                // out: 504, health checks `Target.Timeout`).
                let socket = match reserved.take() {
                    Some(s) => Ok(s),
                    None => reserve_port(me.port),
                };
                let Ok(silent) = socket.and_then(|s| s.listen(0)) else {
                    break;
                };
                let up = sleep_or(delay, &life).await;
                drop(silent);
                match reserve_port(me.port) {
                    Ok(s) => reserved = Some(s),
                    Err(_) => break,
                }
                if !up {
                    break;
                }
            }
            if let Some(delay) = down_for.take()
                && !sleep_or(delay, &life).await
            {
                break;
            }
            // A release that crashes at boot never listens: connections
            // are refused, as to a port nothing listens on.
            let serving = if me.impaired() || me.release.broken == Break::CrashAtBoot {
                None
            } else {
                let socket = match reserved.take() {
                    Some(s) => Ok(s),
                    None => reserve_port(me.port),
                };
                match socket.and_then(|s| s.listen(1024)) {
                    Ok(listener) => {
                        let token = life.child_token();
                        let handler = Handler::new(&me, &world);
                        let task =
                            world
                                .tasks
                                .spawn(http::serve(listener, token.clone(), move |req| {
                                    let handler = handler.clone();
                                    async move { handler.answer(req.uri().path()).await }
                                }));
                        Some((token, task))
                    }
                    Err(_) => break,
                }
            };
            let command = tokio::select! {
                _ = life.cancelled() => None,
                c = commands.recv() => c,
            };
            if let Some((token, task)) = serving {
                token.cancel();
                let _ = task.await;
                match reserve_port(me.port) {
                    Ok(s) => reserved = Some(s),
                    Err(_) => break 'life,
                }
            }
            match command {
                None => break,
                Some(Command::Reboot) => {
                    unreachable_for = Some(timing.reboot_unreachable());
                    down_for = Some(timing.reboot_refusing());
                }
                Some(Command::Restart) => down_for = Some(timing.restart()),
                Some(Command::Impair) | Some(Command::Recover) => {}
            }
        }
    }
    drop(reserved);
    me.set_lifecycle(Lifecycle::ShuttingDown);
    tokio::select! {
        _ = tokio::time::sleep(timing.shutdown()) => {}
        _ = world.token.cancelled() => {}
    }
    me.set_lifecycle(Lifecycle::Terminated);
}

/// Sleeps for `d`; false if `token` was cancelled first.
async fn sleep_or(d: std::time::Duration, token: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = token.cancelled() => false,
    }
}

/// Answers requests with the credentials the instance had when its server
/// started, and the parameters as this server process last read them (a
/// restart or a reboot starts with none, as a new process does).
#[derive(Clone)]
struct Handler {
    deps: Arc<InstanceDependencies>,
    params: Arc<ParameterCache>,
    identity: Arc<Identity>,
    commands: mpsc::UnboundedSender<Command>,
}

impl Handler {
    fn new(me: &Instance, world: &Arc<World>) -> Self {
        Handler {
            deps: Arc::new(InstanceDependencies {
                world: world.clone(),
                profile: me.profile(),
                instance_id: me.id.clone(),
            }),
            params: Arc::new(ParameterCache::new(
                ParameterNames::from(&world.names),
                world.timing.parameter_max_age(),
            )),
            identity: Arc::new(Identity {
                instance_id: me.id.clone(),
                az: me.az.clone(),
                crashed: me.crashed.clone(),
                release: me.release.clone(),
            }),
            commands: me.commands.clone(),
        }
    }

    async fn answer(
        &self,
        path: &str,
    ) -> Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, Abort> {
        match service::handle(path, &self.params, self.deps.as_ref(), &self.identity).await {
            Reply::Json { status, body } => {
                Ok(http::response(status, "application/json", body.to_string()))
            }
            Reply::Abort { reason } => Err(Abort(reason)),
            Reply::Crash => {
                let _ = self.commands.send(Command::Restart);
                Err(Abort("the service process crashed".into()))
            }
        }
    }
}

struct InstanceDependencies {
    world: Arc<World>,
    profile: String,
    instance_id: String,
}

#[async_trait]
impl Dependencies for InstanceDependencies {
    async fn get_parameters(&self, names: &[&str]) -> Result<Vec<String>, DependencyError> {
        self.world.params.count_read(&self.instance_id);
        self.world.iam.authorize_parameters(&self.profile, names)?;
        self.world.params.get(names)
    }

    async fn query(&self, table: &str, media_type: &str) -> Result<Vec<Item>, DependencyError> {
        self.world.iam.authorize_table(&self.profile, table)?;
        self.world.tables.query(table, media_type).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_ec2_ids() {
        let id = new_instance_id();
        assert_eq!(id.len(), 19);
        assert!(id.starts_with("i-"));
        assert!(id[2..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
