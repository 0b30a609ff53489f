//! [`NodeError`]: why the node could not start, serve or stop cleanly.

use chainvm_runtime::ChainError;

/// A failure of the node as a process (a refused request is a JSON-RPC error instead).
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Opening, reading or producing on the chain failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The async runtime could not be built.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The listening address could not be bound (or read back).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The node's thread could not be started.
    #[error("cannot start the node thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The JSON-RPC methods could not be registered (two with one name: a bug).
    #[error("cannot register the JSON-RPC methods: {0}")]
    Methods(#[from] jsonrpsee::server::RegisterMethodError),
    /// The home's network file is unusable.
    #[error(transparent)]
    Network(#[from] crate::testnet::TestnetError),
    /// A setting is unusable.
    #[error("{0}")]
    Config(String),
    /// Consensus did not start.
    #[error("consensus did not start: {0}")]
    Consensus(#[from] crate::consensus::StartError),
    /// The node's thread panicked.
    #[error("the node thread panicked")]
    Panicked,
}

/// Result of a node step.
pub type Result<T, E = NodeError> = std::result::Result<T, E>;
