//! Gas profiles from a test: where a call's gas went, by the contract's Rust functions.

use crate::{Address, GasProfile, Receipt, TestChain, TestingError, Value, Wasm};
use chainvm_runtime::Payload;
use std::path::Path;

/// A call made with its gas profile: the receipt the block gave it, and the profile of the
/// same transaction's dry run just before, named from the crate's own build.
#[derive(Debug, Clone)]
pub struct CallProfile {
    /// The call's receipt (its `gas.total` equals `profile.total()`).
    pub receipt: Receipt,
    /// Gas by call stack of the deployed code.
    pub profile: GasProfile,
    /// The profile as folded stacks (`root;fn;fn gas`), heaviest first.
    pub folded: Vec<String>,
    root: String,
}

impl CallProfile {
    /// The stack that used the most gas, as a folded line.
    pub fn heaviest(&self) -> Option<&str> {
        self.folded.first().map(String::as_str)
    }

    /// Writes the flamegraph SVG to `path`.
    pub fn write_svg(&self, path: impl AsRef<Path>) -> Result<(), TestingError> {
        let title = format!("{}: {} gas", self.root, self.profile.total());
        let svg = chainvm_build::flame::svg(&self.folded, &title)
            .map_err(|e| TestingError::Profile(e.to_string()))?;
        std::fs::write(path.as_ref(), svg)
            .map_err(|e| TestingError::Profile(format!("{}: {e}", path.as_ref().display())))
    }
}

impl TestChain {
    /// Calls `method` like [`TestChain::call`] and profiles it: the transaction runs once as a
    /// profiled dry run on the state it is about to meet, then in its block. `wasm` is the
    /// build deployed at `contract` (its named twin gives the function names).
    pub fn call_profiled(
        &mut self,
        from: usize,
        wasm: &Wasm,
        contract: Address,
        method: &str,
        args: Value,
    ) -> Result<CallProfile, TestingError> {
        if self.code(&contract)?.as_deref() != Some(wasm.code.as_slice()) {
            return Err(TestingError::Profile(format!(
                "the contract at {contract:?} is not this build of {}",
                wasm.name
            )));
        }
        let twin = std::fs::read(&wasm.names)
            .map_err(|e| TestingError::Profile(format!("{}: {e}", wasm.names.display())))?;
        let names = chainvm_build::names::function_names(&twin)
            .map_err(|e| TestingError::Profile(e.to_string()))?;
        let key = self.key(from)?.clone();
        let abi = self.abi(&contract)?;
        let payload = Payload::Call {
            contract,
            method: method.into(),
            args: abi
                .encode_args(method, &args)
                .map_err(chainvm_runtime::ChainError::from)?,
            value: crate::U256::zero(),
        };
        let tx = self.next_transaction(&key.address(), payload)?.sign(&key);
        let (_, profile) = self.simulate_profiled(&tx)?;
        let profile =
            profile.ok_or_else(|| TestingError::Profile("no profile for a call".into()))?;
        let receipt = self.submit(&tx)?;
        let root = format!("{}.{method}", wasm.name);
        Ok(CallProfile {
            folded: chainvm_build::flame::folded(&profile, &names, &root),
            receipt,
            profile,
            root,
        })
    }
}
