//! Where commands get the chain from: the home directory (opened in-process) or a running
//! `chainvm node` over JSON-RPC (`--node URL`). Both give back the same typed values (the
//! node sends canonical borsh encodings), so every command prints the same either way.

use crate::util::{CliError, Res, fail};
use chainvm_runtime::block::SignedHeader;
use chainvm_runtime::block::{IncludedTx, StoredBlock};
use chainvm_runtime::layout::Account;
use chainvm_runtime::state::Proof;
use chainvm_runtime::types::{hex, parse_hex};
use chainvm_runtime::{
    Address, Chain, GasProfile, H256, Receipt, SignedTransaction, StateProof, TxLocation,
    ViewOutcome,
};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// A chain reached directly or through a node.
pub enum Backend {
    /// The chain in a home directory.
    Local(Box<Chain>),
    /// A node's JSON-RPC endpoint.
    Remote(Remote),
}

/// A JSON-RPC client of a `chainvm node`.
pub struct Remote {
    url: String,
    agent: ureq::Agent,
}

fn decode<T: borsh::BorshDeserialize>(v: &Value, what: &str) -> Res<T> {
    let bytes = v
        .as_str()
        .and_then(parse_hex)
        .ok_or_else(|| CliError(format!("node sent a malformed {what}")))?;
    borsh::from_slice(&bytes).map_err(|e| CliError(format!("node sent a malformed {what}: {e}")))
}

impl Remote {
    fn rpc(&self, method: &str, params: Value) -> Res<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut resp = self
            .agent
            .post(&self.url)
            .send_json(&body)
            .map_err(|e| CliError(format!("node {}: {e}", self.url)))?;
        let v: Value = resp
            .body_mut()
            .read_json()
            .map_err(|e| CliError(format!("node {}: bad response: {e}", self.url)))?;
        if let Some(err) = v.get("error") {
            return fail(err["message"].as_str().unwrap_or("node error").to_string());
        }
        Ok(v.get("result").cloned().unwrap_or(Value::Null))
    }
}

impl Backend {
    /// Opens the home, or connects to `node` if given.
    pub fn open(home: &Path, node: Option<&str>) -> Res<Backend> {
        match node {
            None => Ok(Backend::Local(Box::new(Chain::open(home)?))),
            Some(url) => {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(60)))
                    .http_status_as_error(false)
                    .build()
                    .into();
                let remote = Remote {
                    url: url.to_string(),
                    agent,
                };
                remote.rpc("chainvm_chainId", Value::Null)?;
                Ok(Backend::Remote(remote))
            }
        }
    }

    /// The local chain, for commands that need the home itself.
    pub fn local(&self, what: &str) -> Res<&Chain> {
        match self {
            Backend::Local(c) => Ok(c),
            Backend::Remote(_) => fail(format!(
                "{what} works on a home directory, not through --node"
            )),
        }
    }

    /// The chain id.
    pub fn chain_id(&self) -> Res<u64> {
        match self {
            Backend::Local(c) => Ok(c.params().chain_id),
            Backend::Remote(r) => r
                .rpc("chainvm_chainId", Value::Null)?
                .as_u64()
                .ok_or_else(|| CliError("bad chain id".into())),
        }
    }

    /// The account at `a`.
    pub fn account(&self, a: &Address) -> Res<Account> {
        match self {
            Backend::Local(c) => Ok(c.account(a)?),
            Backend::Remote(r) => decode(
                &r.rpc("chainvm_getAccount", json!({"address": hex(a.as_bytes())}))?["raw"],
                "account",
            ),
        }
    }

    /// The registered validators' addresses, in address order.
    pub fn validators(&self) -> Res<Vec<Address>> {
        match self {
            Backend::Local(c) => Ok(chainvm_runtime::staking::validators(&c.latest_state()?)
                .map_err(|e| CliError(e.to_string()))?
                .into_iter()
                .map(|(a, _)| a)
                .collect()),
            Backend::Remote(r) => r
                .rpc("chainvm_validators", Value::Null)?
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    v["address"]
                        .as_str()
                        .and_then(crate::util::parse_address)
                        .ok_or_else(|| CliError("node sent a malformed validator".into()))
                })
                .collect(),
        }
    }

    /// Contract code at `a`.
    pub fn code(&self, a: &Address) -> Res<Option<Vec<u8>>> {
        match self {
            Backend::Local(c) => Ok(c.code(a)?),
            Backend::Remote(r) => {
                let v = r.rpc("chainvm_getCode", json!({"address": hex(a.as_bytes())}))?;
                Ok(v.as_str().and_then(parse_hex))
            }
        }
    }

    /// Submits a transaction and waits for its receipt.
    pub fn submit(&mut self, tx: &SignedTransaction) -> Res<Receipt> {
        match self {
            Backend::Local(c) => Ok(c.submit(tx)?),
            Backend::Remote(r) => {
                r.rpc(
                    "chainvm_sendRawTransaction",
                    json!({"tx": hex(&tx.encode())}),
                )?;
                let hash = format!("{:?}", tx.hash());
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let v = r.rpc("chainvm_getReceipt", json!({"hash": hash}))?;
                    if !v.is_null() {
                        return decode(&v["receipt_raw"], "receipt");
                    }
                    if Instant::now() > deadline {
                        return fail(format!("transaction {hash} was not included within 60 s"));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// Executes a contract call or deploy `tx` as if in the next block, committing nothing,
    /// with its gas profile: the receipt it would get and where its gas went by call stack of
    /// the deployed code (`chainvm_runtime::vm::profile`; total = `receipt.gas.total`).
    /// Over `--node`: `chainvm_simulate` with `profile: true`.
    pub fn simulate_profiled(&self, tx: &SignedTransaction) -> Res<(Receipt, GasProfile)> {
        let (receipt, profile) = match self {
            Backend::Local(c) => c.simulate_profiled(tx)?,
            Backend::Remote(r) => {
                let v = r.rpc(
                    "chainvm_simulate",
                    json!({"tx": hex(&tx.encode()), "profile": true}),
                )?;
                let receipt = decode(&v["raw"], "receipt")?;
                let profile = match v.get("profile") {
                    None | Some(Value::Null) => None,
                    Some(p) => Some(serde_json::from_value(p.clone()).map_err(|e| {
                        CliError(format!("node sent a malformed gas profile: {e}"))
                    })?),
                };
                (receipt, profile)
            }
        };
        match profile {
            Some(p) => Ok((receipt, p)),
            None => fail("only a contract call or deploy has a gas profile"),
        }
    }

    /// A read-only call.
    pub fn view(
        &self,
        caller: Address,
        contract: Address,
        method: &str,
        args: &[u8],
        gas: u64,
    ) -> Res<ViewOutcome> {
        match self {
            Backend::Local(c) => Ok(c.view_raw(caller, contract, method, args, gas)?),
            Backend::Remote(r) => {
                let v = r.rpc(
                    "chainvm_view",
                    json!({"contract": hex(contract.as_bytes()), "method": method, "args": hex(args),
                           "caller": hex(caller.as_bytes()), "gas": gas}),
                )?;
                decode(&v["raw"], "view result")
            }
        }
    }

    /// Latest height.
    pub fn height(&self) -> Res<u64> {
        match self {
            Backend::Local(c) => Ok(c.height()?),
            Backend::Remote(r) => r
                .rpc("chainvm_blockNumber", Value::Null)?
                .as_u64()
                .ok_or_else(|| CliError("bad height".into())),
        }
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Res<Option<StoredBlock>> {
        match self {
            Backend::Local(c) => Ok(c.block(height)?),
            Backend::Remote(r) => {
                let v = r.rpc("chainvm_getBlockByNumber", json!({"height": height}))?;
                if v.is_null() {
                    return Ok(None);
                }
                let header: SignedHeader = decode(&v["header_raw"], "header")?;
                let mut txs = Vec::new();
                for t in v["transactions"].as_array().into_iter().flatten() {
                    txs.push(IncludedTx {
                        transaction: decode(&t["tx_raw"], "transaction")?,
                        receipt: decode(&t["receipt_raw"], "receipt")?,
                    });
                }
                let certificate = match &v["certificate_raw"] {
                    Value::Null => None,
                    raw => Some(decode(raw, "certificate")?),
                };
                Ok(Some(StoredBlock {
                    signed_header: header,
                    certificate,
                    txs,
                }))
            }
        }
    }

    /// A transaction with where it was included and its receipt.
    pub fn transaction(&self, hash: &H256) -> Res<Option<TxLocation>> {
        match self {
            Backend::Local(c) => Ok(c.transaction(hash)?),
            Backend::Remote(r) => {
                let v = r.rpc(
                    "chainvm_getTransaction",
                    json!({"hash": format!("{hash:?}")}),
                )?;
                if v.is_null() {
                    return Ok(None);
                }
                let height = v["block"].as_u64().unwrap_or(0);
                let index = v["index"].as_u64().unwrap_or(0) as u32;
                Ok(Some(TxLocation {
                    height,
                    index,
                    transaction: decode(&v["tx_raw"], "transaction")?,
                    receipt: decode(&v["receipt_raw"], "receipt")?,
                }))
            }
        }
    }

    /// A state key's value and proof at `height` (latest if `None`), with the root.
    pub fn prove(&self, key: &[u8], height: Option<u64>) -> Res<StateProof> {
        match self {
            Backend::Local(c) => Ok(c.prove(key, height)?),
            Backend::Remote(r) => {
                let v = r.rpc(
                    "chainvm_getProof",
                    json!({"key": hex(key), "height": height}),
                )?;
                let proof = v["proof"]
                    .as_str()
                    .and_then(parse_hex)
                    .and_then(|b| Proof::decode(&b).ok())
                    .ok_or_else(|| CliError("node sent a malformed proof".into()))?;
                let root = v["state_root"]
                    .as_str()
                    .and_then(parse_hex)
                    .filter(|b| b.len() == 32)
                    .map(|b| H256::from_slice(&b))
                    .ok_or_else(|| CliError("node sent a malformed root".into()))?;
                Ok(StateProof {
                    value: v["value"].as_str().and_then(parse_hex),
                    proof,
                    root,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainvm_runtime::vm::Frame;
    use chainvm_runtime::{Payload, U256};
    use serde_json::json;

    /// The same call's profile from a home and from a node serving that home: equal, and
    /// adding up to the receipt's gas.
    #[test]
    fn a_profiled_simulation_is_the_same_on_a_home_and_over_a_node() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let (mut chain, keys) = Chain::builder().dev_accounts().init(home).unwrap();
        let code = chainvm_tests::contract_wasm("token");
        let supply = json!({"name": "T", "symbol": "T", "supply": "1000"});
        let token = chain.deploy(&keys[0], &code, supply).unwrap();
        let args = json!({"to": hex(keys[1].address().as_bytes()), "amount": 7});
        let payload = Payload::Call {
            contract: token.address,
            method: "transfer".into(),
            args: token.abi.encode_args("transfer", &args).unwrap(),
            value: U256::zero(),
        };
        let tx = chain
            .next_transaction(&keys[0].address(), payload)
            .unwrap()
            .sign(&keys[0]);
        let transfer = Payload::Transfer {
            to: keys[1].address(),
            amount: U256::one(),
        };
        let plain = chain
            .next_transaction(&keys[0].address(), transfer)
            .unwrap()
            .sign(&keys[0]);
        drop(chain);

        let local = Backend::open(home, None).unwrap();
        let (receipt, profile) = local.simulate_profiled(&tx).unwrap();
        assert!(receipt.is_success(), "{:?}", receipt.error);
        assert_eq!(profile.total(), receipt.gas.total);
        assert!(profile.stacks.contains_key(&vec![Frame::Intrinsic]));
        assert!(local.simulate_profiled(&plain).is_err());
        drop(local);

        let node = chainvm_node::start(
            home,
            "127.0.0.1:0",
            chainvm_node::Mode::Automine,
            chainvm_node::Settings::default(),
        )
        .unwrap();
        let url = format!("http://{}", node.addr());
        let remote = Backend::open(home, Some(&url)).unwrap();
        let (remote_receipt, remote_profile) = remote.simulate_profiled(&tx).unwrap();
        assert_eq!(remote_receipt.gas, receipt.gas);
        assert_eq!(remote_profile, profile);
        let refused = remote.simulate_profiled(&plain).unwrap_err();
        assert!(refused.0.contains("gas profile"), "{}", refused.0);
        // Without `profile` the node answers as before, with no profile.
        let Backend::Remote(r) = &remote else {
            unreachable!()
        };
        let v = r
            .rpc("chainvm_simulate", json!({"tx": hex(&tx.encode())}))
            .unwrap();
        assert!(v.get("profile").is_none());
        let v = r
            .rpc(
                "chainvm_simulate",
                json!({"tx": hex(&tx.encode()), "profile": true}),
            )
            .unwrap();
        assert_eq!(v["profile"][0]["stack"], json!(["intrinsic"]));
        node.stop().unwrap();
    }
}
