//! A small chain harness for runtime tests: a store with a genesis, dev keys, and one block
//! per `send`.
#![allow(dead_code)]

use chainvm_runtime::genesis::InitialValidator;
use chainvm_runtime::layout::{self, Account};
use chainvm_runtime::staking;
use chainvm_runtime::state::{BlockRecord, Overlay, StateReader, Store};
use chainvm_runtime::vm::Vm;
use chainvm_runtime::{
    Address, ApplyError, BlockContext, Chain, ChainParams, Executor, Genesis, GenesisConfig,
    Keypair, Payload, Receipt, SignedTransaction, Transaction, U256,
};

pub const FUNDS: u128 = 1_000_000_000_000_000_000_000_000;
/// The gas limit of the harness's calls and deploys (the defaults of their kind).
pub const GAS: u64 = chainvm_runtime::tx::default_gas::CALL;

/// The validator key of [`dev_chain`].
pub fn dev_validator() -> Keypair {
    Keypair::derive("validator", 0)
}

/// An in-memory chain (id 7) with the dev accounts, its clock set past the genesis time.
pub fn dev_chain() -> Chain {
    let validator = dev_validator();
    let mut chain =
        Chain::in_memory(GenesisConfig::dev(7, &validator, 1_000), &validator).expect("dev chain");
    chain.set_time(2_000);
    chain
}

pub fn fixture(name: &str) -> Vec<u8> {
    wat::parse_file(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

pub struct Harness {
    pub vm: Vm,
    pub params: ChainParams,
    pub store: Store,
    pub keys: Vec<Keypair>,
    pub validator: Keypair,
    pub height: u64,
}

impl Harness {
    pub fn new() -> Harness {
        let params = ChainParams::default();
        let vm = Vm::new(params.vm_config()).unwrap();
        let store = Store::in_memory().unwrap();
        let keys: Vec<_> = (0..5).map(|i| Keypair::derive("harness", i)).collect();
        let validator = Keypair::derive("validator", 0);
        let genesis = Genesis {
            accounts: keys
                .iter()
                .map(|k| (k.address(), U256::from(FUNDS)))
                .collect(),
            validators: vec![InitialValidator {
                address: validator.address(),
                public_key: validator.public(),
                stake: U256::from(FUNDS),
                commission_bps: 1_000,
            }],
        };
        let staged = store
            .stage(genesis.writes(&ChainParams::default()).unwrap())
            .unwrap();
        store
            .commit(
                staged,
                &BlockRecord {
                    height: 0,
                    ..Default::default()
                },
            )
            .unwrap();
        Harness {
            vm,
            params,
            store,
            keys,
            validator,
            height: 0,
        }
    }

    pub fn addr(&self, i: usize) -> Address {
        self.keys[i].address()
    }

    pub fn nonce(&self, i: usize) -> u64 {
        self.account(&self.addr(i)).nonce
    }

    pub fn account(&self, a: &Address) -> Account {
        layout::account(&self.store.snapshot().unwrap(), a).unwrap()
    }

    /// An unsigned transaction from account `from` at its next nonce, with the default gas
    /// limit of its kind and gas price 1.
    pub fn unsigned(&self, from: usize, payload: Payload) -> Transaction {
        Transaction::new(self.params.chain_id, self.nonce(from), payload)
    }

    /// [`Harness::unsigned`], signed by `from`.
    pub fn tx(&self, from: usize, payload: Payload) -> SignedTransaction {
        self.unsigned(from, payload).sign(&self.keys[from])
    }

    pub fn block_ctx(&self) -> BlockContext {
        BlockContext {
            height: self.height + 1,
            timestamp: 1_700_000_000 + self.height + 1,
            proposer: self.validator.address(),
        }
    }

    /// Applies transactions as the next block; refused ones are returned as errors and
    /// left out.
    pub fn block(&mut self, txs: &[SignedTransaction]) -> Vec<Result<Receipt, ApplyError>> {
        let snap = self.store.snapshot().unwrap();
        let mut overlay = Overlay::new(&snap);
        let exec = Executor::new(&self.vm, &self.params);
        let ctx = self.block_ctx();
        let results: Vec<_> = txs
            .iter()
            .map(|t| exec.apply(&mut overlay, &ctx, t))
            .collect();
        let writes = overlay.into_writes();
        drop(snap);
        let staged = self.store.stage(writes).unwrap();
        let ok: Vec<_> = txs
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .collect();
        self.height += 1;
        self.store
            .commit(
                staged,
                &BlockRecord {
                    height: self.height,
                    hash: chainvm_runtime::types::keccak(&self.height.to_be_bytes()).0,
                    header: vec![],
                    txs: ok.iter().map(|(t, _)| (t.hash().0, t.encode())).collect(),
                    receipts: ok
                        .iter()
                        .map(|(_, r)| r.as_ref().unwrap().encode())
                        .collect(),
                },
            )
            .unwrap();
        results
    }

    pub fn send(&mut self, from: usize, payload: Payload) -> Result<Receipt, ApplyError> {
        let tx = self.tx(from, payload);
        self.block(&[tx]).remove(0)
    }

    pub fn deploy(&mut self, from: usize, code: Vec<u8>, args: Vec<u8>) -> Address {
        let r = self.send(from, Payload::Deploy { code, args }).unwrap();
        assert!(r.is_success(), "deploy failed: {:?}", r.error);
        r.contract_address.unwrap()
    }

    pub fn call(
        &mut self,
        from: usize,
        contract: Address,
        method: &str,
        args: Vec<u8>,
        value: u128,
    ) -> Receipt {
        self.send(
            from,
            Payload::Call {
                contract,
                method: method.into(),
                args,
                value: U256::from(value),
            },
        )
        .unwrap()
    }

    pub fn root(&self) -> [u8; 32] {
        self.store.latest().unwrap().unwrap().1
    }

    /// Every key and value of the latest state.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.store.snapshot().unwrap().entries().unwrap()
    }

    /// Balances + bonded stake + unbonding: all value that exists.
    pub fn total_value(&self) -> U256 {
        staking::total_value(&self.store.snapshot().unwrap()).unwrap()
    }

    pub fn supply(&self) -> staking::Supply {
        staking::supply(&self.store.snapshot().unwrap()).unwrap()
    }

    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.store.snapshot().unwrap().get(key).unwrap()
    }
}

/// One height of an in-memory network decided by those of `signers` (indices into `keys`)
/// in its set: the round-0 proposer builds, the other chains check the block (decoded from
/// its encoding, as consensus moves it), and every chain commits with the certificate.
pub fn decide(
    keys: &[Keypair],
    chains: &mut [Chain],
    signers: &[usize],
    txs: &[SignedTransaction],
) {
    use chainvm_runtime::{Certificate, ProposedBlock};
    let height = chains[0].height().unwrap() + 1;
    let set = chains[0].validator_set(height).unwrap().unwrap();
    let parent = chains[0].header(height - 1).unwrap().unwrap().header.hash();
    let proposer = set.proposer(&parent, 0).unwrap().address;
    let p = keys.iter().position(|k| k.address() == proposer).unwrap();
    let built = chains[p].propose_block(txs, 0).unwrap();
    let block = ProposedBlock::decode(&built.block.encode()).unwrap();
    // Only members sign (a validator not yet in this height's set has no vote).
    let cert_keys: Vec<&Keypair> = signers
        .iter()
        .map(|i| &keys[*i])
        .filter(|k| set.get(&k.address()).is_some())
        .collect();
    let cert = Certificate::sign(height, 0, built.hash, &cert_keys);
    let mut pendings = Vec::new();
    for (i, c) in chains.iter().enumerate() {
        if i != p {
            pendings.push((i, c.check_proposal(&block, 0).unwrap()));
        }
    }
    chains[p].commit_block(built, cert.clone()).unwrap();
    for (i, pending) in pendings {
        assert_eq!(pending.hash, block.hash());
        chains[i].commit_block(pending, cert.clone()).unwrap();
    }
}
