//! `chainvm proof --light`: a state value from a node, believed only through the light client
//! ([`chainvm_runtime::light`]). The genesis file is the trust root; headers, certificates,
//! validator-set proofs and the value's proof come from the node and are each checked; the
//! node's own state roots and its "verified" claims are never used.

use crate::backend::Backend;
use crate::query::state_key;
use crate::util::{CliError, Res, emit, fail};
use chainvm_runtime::block::CertifiedHeader;
use chainvm_runtime::home::{GENESIS_FILE, read_genesis};
use chainvm_runtime::layout::{ACCOUNT_PREFIX, Account};
use chainvm_runtime::light::LightSource;
use chainvm_runtime::types::hex;
use chainvm_runtime::{LightClient, StateProof};
use serde_json::json;
use std::path::Path;

impl LightSource for Backend {
    type Error = CliError;
    fn certified_header(&self, height: u64) -> Res<Option<CertifiedHeader>> {
        Ok(self.block(height)?.map(|b| CertifiedHeader {
            signed_header: b.signed_header,
            certificate: b.certificate,
        }))
    }
    fn prove(&self, key: &[u8], height: u64) -> Res<StateProof> {
        Backend::prove(self, key, Some(height))
    }
}

/// Runs `chainvm proof --light KEY --node URL`: follows the node's chain from the genesis
/// (`genesis`, or the home's) to `height` (default: the node's latest) and verifies `key`
/// there.
pub(crate) fn proof(
    home: &Path,
    node: Option<&str>,
    genesis: Option<&Path>,
    key: &str,
    height: Option<u64>,
    j: bool,
) -> Res<()> {
    let Some(url) = node else {
        return fail("--light checks a node's answers: give --node URL");
    };
    let raw = state_key(home, key)?;
    let genesis_path = genesis.map_or_else(|| home.join(GENESIS_FILE), Path::to_path_buf);
    if !genesis_path.exists() {
        return fail(format!(
            "no genesis to trust at {}: give --genesis FILE (the chain's genesis.json)",
            genesis_path.display()
        ));
    }
    let config = read_genesis(&genesis_path)?;
    let light = |e: chainvm_runtime::LightError| CliError(format!("light client: {e}"));
    let mut client = LightClient::from_genesis(&config).map_err(light)?;
    let backend = Backend::open(home, Some(url))?;
    // The node's latest height only says which header to ask for; it proves nothing.
    let latest = backend.height()?;
    let target = match height {
        Some(h) if h > latest => {
            return fail(format!(
                "the node has no block {h} (its latest is {latest})"
            ));
        }
        Some(h) => h,
        None => latest,
    };
    let checked = client.follow(&backend, target).map_err(light)?;
    let value = client.prove(&backend, &raw, target).map_err(light)?;
    let header = client
        .header(target)
        .ok_or_else(|| CliError(format!("light client: header {target} is not trusted")))?;
    let account: Option<Account> = value
        .as_deref()
        .filter(|_| raw.first() == Some(&ACCOUNT_PREFIX))
        .and_then(|v| borsh::from_slice(v).ok());
    let account_json = account.as_ref().map(|a| {
        json!({"balance": a.balance.to_string(), "nonce": a.nonce,
               "code_hash": a.code_hash.map(|h| format!("{h:?}"))})
    });
    let v = json!({
        "key": hex(&raw),
        "value": value.as_ref().map(|v| hex(v)),
        "account": account_json,
        "height": target,
        "block_hash": format!("{:?}", header.hash()),
        "state_root": format!("{:?}", header.state_root),
        "certificates_checked": checked,
        "genesis_hash": format!("{:?}", client.genesis_hash()),
        "verified": true,
    });
    let mut human = format!(
        "key       {}\nvalue     {}\n",
        hex(&raw),
        value
            .as_ref()
            .map(|v| hex(v))
            .unwrap_or_else(|| "(absent: proof of absence)".into()),
    );
    if let Some(a) = &account {
        human += &format!("account   balance {}  nonce {}\n", a.balance, a.nonce);
    }
    human += &format!(
        "verified  at header {target} {:?} (state root {:?})\nchecked   {checked} certificates from genesis {:?}",
        header.hash(),
        header.state_root,
        client.genesis_hash()
    );
    emit(j, &human, &v);
    Ok(())
}
