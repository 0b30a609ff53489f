//! The token on each system, execution only, one core: an empty call, `balance_of` and a
//! transfer on chainvm's VM (with the in-memory `MockHost`, and with the runtime's own host
//! over a state overlay, what blocks run), wasmi with fuel on the same wasm, the transfer as
//! native Rust over a `BTreeMap`, and revm running a solc-compiled ERC-20 against its
//! in-memory database.

use crate::util::{Table, group, note, secs};
use chainvm_abi::error_code;
use chainvm_runtime::host::{BlockContext, Frame, execute_call};
use chainvm_runtime::state::Overlay;
use chainvm_runtime::{Address, ChainParams, U256};
use chainvm_vm::testing::MockHost;
use chainvm_vm::{CallContext, Contract, Vm, VmConfig, code_hash};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Transfers per measured run.
const N: u32 = 10_000;
/// Distinct recipients cycled through (so the map holds ~1,000 balances, like a warm token).
const RECIPIENTS: u32 = 1_000;
const OWNER: [u8; 20] = [0xaa; 20];
const SUPPLY: u128 = 1_000_000_000_000;

fn recipient(i: u32) -> [u8; 20] {
    let mut a = [0u8; 20];
    a[..4].copy_from_slice(&(i % RECIPIENTS + 1).to_be_bytes());
    a
}

fn init_args() -> Vec<u8> {
    borsh::to_vec(&("Bench".to_string(), "BEN".to_string(), SUPPLY)).unwrap_or_default()
}

fn transfer_args(i: u32) -> Vec<u8> {
    borsh::to_vec(&(recipient(i), 1u128)).unwrap_or_default()
}

fn balance_args(i: u32) -> Vec<u8> {
    recipient(i).to_vec()
}

/// One system's result: time for N of each call (`None` where not measured) and gas (or
/// fuel) per transfer.
pub struct PeerRun {
    pub name: &'static str,
    pub empty: Option<Duration>,
    pub balance: Option<Duration>,
    pub time: Duration,
    pub gas: Option<(u64, &'static str)>,
}

/// Times `N` calls of `call(i)`, which returns the call's gas.
fn timed(mut call: impl FnMut(u32) -> u64) -> (Duration, u64) {
    let mut gas = 0;
    let start = Instant::now();
    for i in 0..N {
        gas = call(i);
    }
    (start.elapsed(), gas)
}

/// The empty-entry-point module of the compute section (`noop`).
fn kernels() -> Vec<u8> {
    wat::parse_str(crate::compute::KERNELS).expect("kernels parse")
}

/// chainvm's VM on the token wasm with an in-memory host (no runtime, no state tree).
fn chainvm_vm(wasm: &[u8]) -> PeerRun {
    let vm = Vm::new(VmConfig::default()).expect("engine");
    let contract = vm.load(&code_hash(wasm), wasm).expect("token loads");
    let noop = kernels();
    let noop = vm.load(&code_hash(&noop), &noop).expect("kernels load");
    let ctx = CallContext {
        caller: OWNER,
        ..CallContext::default()
    };
    let mut host = MockHost::default();
    let mut call = |c: &Contract, entry: &str, input: &[u8], gas: u64| {
        let e = vm
            .execute(c, entry, input, &ctx, gas, &mut host)
            .expect("executes");
        assert!(e.outcome.is_success(), "{entry}: {:?}", e.outcome);
        e.gas_used
    };
    call(&contract, "init", &init_args(), u64::MAX);
    let (empty, _) = timed(|_| call(&noop, "noop", &[], 10_000_000));
    let (time, gas) = timed(|i| call(&contract, "transfer", &transfer_args(i), 10_000_000));
    let (balance, _) = timed(|i| call(&contract, "balance_of", &balance_args(i), 10_000_000));
    PeerRun {
        name: "chainvm VM (wasmtime, metered), MockHost",
        empty: Some(empty),
        balance: Some(balance),
        time,
        gas: Some((gas, "gas")),
    }
}

/// chainvm's VM with the runtime's host (`chainvm_runtime::host`) over a state overlay, as a
/// block's contract call runs it (without the transaction's fee, nonce and signature). The
/// token's initial state is in the overlay's base; the transfers write to the overlay.
fn chainvm_runtime_host(wasm: &[u8]) -> PeerRun {
    let vm = Vm::new(VmConfig::default()).expect("engine");
    let contract = vm.load(&code_hash(wasm), wasm).expect("token loads");
    let noop = kernels();
    let noop = vm.load(&code_hash(&noop), &noop).expect("kernels load");
    let params = ChainParams::default();
    let block = BlockContext {
        height: 1,
        timestamp: 1,
        proposer: Address::default(),
    };
    let (owner, token) = (Address::from(OWNER), Address::from([0x70; 20]));
    let mut events = Vec::new();
    let mut call = |state: &mut Overlay<_>, c: &Contract, method: &str, input: &[u8], gas| {
        let frame = Frame {
            caller: owner,
            target: token,
            method,
            input,
            value: U256::zero(),
            gas_limit: gas,
        };
        let (gas, error) =
            execute_call(&vm, &params, &block, state, &mut events, c, &frame).expect("executes");
        assert!(error.is_none(), "{method}: {error:?}");
        gas
    };
    let mut genesis = Overlay::new(std::collections::BTreeMap::new());
    call(&mut genesis, &contract, "init", &init_args(), u64::MAX);
    let base: BTreeMap<Vec<u8>, Vec<u8>> = genesis
        .into_writes()
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    let mut state = Overlay::new(base);
    let (empty, _) = timed(|_| call(&mut state, &noop, "noop", &[], 10_000_000));
    let (time, gas) = timed(|i| {
        call(
            &mut state,
            &contract,
            "transfer",
            &transfer_args(i),
            10_000_000,
        )
    });
    let (balance, _) = timed(|i| {
        call(
            &mut state,
            &contract,
            "balance_of",
            &balance_args(i),
            10_000_000,
        )
    });
    PeerRun {
        name: "chainvm VM, runtime host over an overlay",
        empty: Some(empty),
        balance: Some(balance),
        time,
        gas: Some((gas, "gas")),
    }
}

#[derive(Default)]
struct WasmiHost {
    storage: BTreeMap<Vec<u8>, Vec<u8>>,
    input: Vec<u8>,
    ret: Vec<u8>,
    caller: [u8; 20],
    events: Vec<(Vec<u8>, Vec<u8>)>,
}

type WCaller<'a> = wasmi::Caller<'a, WasmiHost>;

fn memory(c: &WCaller<'_>) -> Result<wasmi::Memory, wasmi::Error> {
    c.get_export("memory")
        .and_then(wasmi::Extern::into_memory)
        .ok_or_else(|| wasmi::Error::new("no memory export"))
}

fn read(c: &WCaller<'_>, ptr: i32, len: i32) -> Result<Vec<u8>, wasmi::Error> {
    let mut buf = vec![0; len as u32 as usize];
    memory(c)?
        .read(c, ptr as u32 as usize, &mut buf)
        .map_err(|e| wasmi::Error::new(e.to_string()))?;
    Ok(buf)
}

fn write(c: &mut WCaller<'_>, ptr: i32, data: &[u8]) -> Result<(), wasmi::Error> {
    memory(c)?
        .write(c, ptr as u32 as usize, data)
        .map_err(|e| wasmi::Error::new(e.to_string()))
}

/// The chainvm host ABI implemented for wasmi over a `BTreeMap` (the same semantics as
/// chainvm's `MockHost`; storage and events only, which is what the token uses).
fn wasmi_linker(engine: &wasmi::Engine) -> Result<wasmi::Linker<WasmiHost>, wasmi::Error> {
    let mut l = wasmi::Linker::<WasmiHost>::new(engine);
    l.func_wrap("env", "input", |mut c: WCaller<'_>, ptr: i32, cap: i32| {
        let input = c.data().input.clone();
        if input.len() <= cap as u32 as usize {
            write(&mut c, ptr, &input)?;
        }
        Ok::<i32, wasmi::Error>(input.len() as i32)
    })?;
    l.func_wrap(
        "env",
        "set_return",
        |mut c: WCaller<'_>, ptr: i32, len: i32| {
            c.data_mut().ret = read(&c, ptr, len)?;
            Ok::<(), wasmi::Error>(())
        },
    )?;
    l.func_wrap(
        "env",
        "storage_get",
        |mut c: WCaller<'_>, kp: i32, kl: i32, op: i32, oc: i32| {
            let key = read(&c, kp, kl)?;
            match c.data().storage.get(&key).cloned() {
                None => Ok::<i64, wasmi::Error>(-1),
                Some(v) => {
                    if v.len() <= oc as u32 as usize {
                        write(&mut c, op, &v)?;
                    }
                    Ok(v.len() as i64)
                }
            }
        },
    )?;
    l.func_wrap(
        "env",
        "storage_set",
        |mut c: WCaller<'_>, kp: i32, kl: i32, vp: i32, vl: i32| {
            let (k, v) = (read(&c, kp, kl)?, read(&c, vp, vl)?);
            c.data_mut().storage.insert(k, v);
            Ok::<(), wasmi::Error>(())
        },
    )?;
    l.func_wrap(
        "env",
        "storage_remove",
        |mut c: WCaller<'_>, kp: i32, kl: i32| {
            let k = read(&c, kp, kl)?;
            Ok::<i32, wasmi::Error>(c.data_mut().storage.remove(&k).is_some() as i32)
        },
    )?;
    l.func_wrap("env", "storage_has", |c: WCaller<'_>, kp: i32, kl: i32| {
        let k = read(&c, kp, kl)?;
        Ok::<i32, wasmi::Error>(c.data().storage.contains_key(&k) as i32)
    })?;
    l.func_wrap("env", "caller", |mut c: WCaller<'_>, out: i32| {
        let a = c.data().caller;
        write(&mut c, out, &a)
    })?;
    l.func_wrap("env", "self_address", |mut c: WCaller<'_>, out: i32| {
        write(&mut c, out, &[0x5e; 20])
    })?;
    l.func_wrap("env", "value", |mut c: WCaller<'_>, out: i32| {
        write(&mut c, out, &[0; 32])
    })?;
    l.func_wrap("env", "balance", |mut c: WCaller<'_>, out: i32| {
        write(&mut c, out, &[0; 32])
    })?;
    l.func_wrap("env", "block_height", || 1i64)?;
    l.func_wrap("env", "block_timestamp", || 1i64)?;
    l.func_wrap("env", "transfer", |_: WCaller<'_>, _: i32, _: i32| {
        error_code::INSUFFICIENT_FUNDS
    })?;
    l.func_wrap(
        "env",
        "emit_event",
        |mut c: WCaller<'_>, tp: i32, tl: i32, dp: i32, dl: i32| {
            let (t, d) = (read(&c, tp, tl)?, read(&c, dp, dl)?);
            c.data_mut().events.push((t, d));
            Ok::<(), wasmi::Error>(())
        },
    )?;
    l.func_wrap(
        "env",
        "keccak256",
        |mut c: WCaller<'_>, dp: i32, dl: i32, out: i32| {
            use sha3::Digest;
            let h: [u8; 32] = sha3::Keccak256::digest(read(&c, dp, dl)?).into();
            write(&mut c, out, &h)
        },
    )?;
    l.func_wrap(
        "env",
        "abort",
        |c: WCaller<'_>, mp: i32, ml: i32, _: i32, _: i32, _: i32, _: i32| {
            let msg = read(&c, mp, ml)?;
            Err::<(), wasmi::Error>(wasmi::Error::new(
                String::from_utf8_lossy(&msg).into_owned(),
            ))
        },
    )?;
    l.func_wrap(
        "env",
        "call_contract",
        |_: WCaller<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i64| {
            error_code::NO_CONTRACT
        },
    )?;
    l.func_wrap("env", "return_data", |_: WCaller<'_>, _: i32, _: i32| 0i32)?;
    Ok(l)
}

/// Runs `entry` on a fresh instance (as chainvm does: the SDK's bump allocator assumes one
/// instance per call) with `fuel`; returns fuel used.
fn wasmi_call(
    engine: &wasmi::Engine,
    linker: &wasmi::Linker<WasmiHost>,
    module: &wasmi::Module,
    host: &mut WasmiHost,
    entry: &str,
    input: Vec<u8>,
) -> Result<u64, wasmi::Error> {
    let fuel = 100_000_000;
    let mut data = std::mem::take(host);
    data.input = input;
    let mut store = wasmi::Store::new(engine, data);
    store.set_fuel(fuel)?;
    let instance = linker.instantiate_and_start(&mut store, module)?;
    let f = instance.get_typed_func::<(), ()>(&store, entry)?;
    let r = f.call(&mut store, ());
    let left = store.get_fuel()?;
    *host = store.into_data();
    r.map(|()| fuel - left)
}

/// wasmi (fuel metering on) on the same token wasm.
fn wasmi(wasm: &[u8]) -> PeerRun {
    let mut config = wasmi::Config::default();
    config.consume_fuel(true);
    let engine = wasmi::Engine::new(&config);
    let module = wasmi::Module::new(&engine, wasm).expect("wasmi compiles the token");
    let noop = wasmi::Module::new(&engine, &kernels()[..]).expect("wasmi compiles the kernels");
    let linker = wasmi_linker(&engine).expect("linker");
    let mut host = WasmiHost {
        caller: OWNER,
        ..WasmiHost::default()
    };
    wasmi_call(&engine, &linker, &module, &mut host, "init", init_args()).expect("init");
    let (empty, _) = timed(|_| {
        wasmi_call(&engine, &linker, &noop, &mut host, "noop", Vec::new()).expect("noop")
    });
    let (time, fuel) = timed(|i| {
        let fuel = wasmi_call(
            &engine,
            &linker,
            &module,
            &mut host,
            "transfer",
            transfer_args(i),
        )
        .expect("transfer");
        assert!(host.ret.is_empty() || host.ret == [0], "transfer failed");
        fuel
    });
    let (balance, _) = timed(|i| {
        let fuel = wasmi_call(
            &engine,
            &linker,
            &module,
            &mut host,
            "balance_of",
            balance_args(i),
        )
        .expect("balance_of");
        assert_eq!(host.ret.len(), 16, "balance_of returns a u128");
        fuel
    });
    PeerRun {
        name: "wasmi 2.0 (fuel), same wasm",
        empty: Some(empty),
        balance: Some(balance),
        time,
        gas: Some((fuel, "fuel")),
    }
}

/// The token's logic as native Rust over a `BTreeMap`: the floor.
#[derive(Default)]
struct NativeToken {
    balances: BTreeMap<[u8; 20], u128>,
    events: Vec<([u8; 20], [u8; 20], u128)>,
}

impl NativeToken {
    fn transfer(&mut self, from: [u8; 20], to: [u8; 20], amount: u128) -> Result<(), ()> {
        let have = self.balances.get(&from).copied().unwrap_or(0);
        if have < amount {
            return Err(());
        }
        self.balances.insert(from, have - amount);
        *self.balances.entry(to).or_insert(0) += amount;
        self.events.push((from, to, amount));
        Ok(())
    }
}

fn native() -> PeerRun {
    let mut t = NativeToken::default();
    t.balances.insert(OWNER, SUPPLY);
    let start = Instant::now();
    for i in 0..N {
        let r = t.transfer(black_box(OWNER), black_box(recipient(i)), black_box(1));
        assert!(r.is_ok());
    }
    black_box(&t);
    PeerRun {
        name: "native Rust over BTreeMap",
        empty: None,
        balance: None,
        time: start.elapsed(),
        gas: None,
    }
}

/// revm executing `transfer` of the solc-compiled ERC-20 (bench/fixtures/Erc20.sol).
fn revm() -> PeerRun {
    use revm::context::TxEnv;
    use revm::database::InMemoryDB;
    use revm::primitives::{Address, Bytes, TxKind, U256};
    use revm::state::AccountInfo;
    use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

    let hex = include_str!("../../fixtures/Erc20.bin.hex").trim();
    let mut code = chainvm_runtime::types::parse_hex(hex).expect("fixture is hex");
    let mut supply = [0u8; 32];
    supply[16..].copy_from_slice(&SUPPLY.to_be_bytes());
    code.extend_from_slice(&supply);
    let caller = Address::from(OWNER);
    let mut db = InMemoryDB::default();
    db.insert_account_info(
        caller,
        AccountInfo {
            balance: U256::from(10u64).pow(U256::from(30)),
            ..AccountInfo::default()
        },
    );
    let mut evm = Context::mainnet().with_db(db).build_mainnet();
    let deploy = TxEnv::builder()
        .caller(caller)
        .kind(TxKind::Create)
        .data(Bytes::from(code))
        .nonce(0)
        .gas_limit(5_000_000)
        .build_fill();
    let r = evm.transact_commit(deploy).expect("deploy");
    let token = match r {
        revm::context::result::ExecutionResult::Success {
            output: revm::context::result::Output::Create(_, Some(a)),
            ..
        } => a,
        other => panic!("ERC-20 deploy failed: {other:?}"),
    };
    // An ERC-20 call: 4-byte selector, the recipient as a 32-byte word, then `extra` words.
    let call_with = |selector: [u8; 4], nonce: u64, i: u32, extra: &[u8]| {
        let mut data = selector.to_vec();
        data.extend_from_slice(&[0; 12]);
        data.extend_from_slice(&recipient(i));
        data.extend_from_slice(extra);
        TxEnv::builder()
            .caller(caller)
            .kind(TxKind::Call(token))
            .data(Bytes::from(data))
            .nonce(nonce)
            .gas_limit(200_000)
            .build_fill()
    };
    let mut amount = [0u8; 32];
    amount[31] = 1;
    // transfer(address,uint256)
    let call = |nonce: u64, i: u32| call_with([0xa9, 0x05, 0x9c, 0xbb], nonce, i, &amount);
    let txs: Vec<_> = (0..N).map(|i| call(1 + i as u64, i)).collect();
    let mut gas = 0;
    let start = Instant::now();
    for tx in txs {
        let r = evm.transact_commit(tx).expect("transfer");
        assert!(r.is_success(), "{r:?}");
        gas = r.tx_gas_used();
    }
    let time = start.elapsed();
    // balanceOf(address), committed like the transfers (a view, but it still bumps the nonce).
    let balance_of = |nonce: u64, i: u32| call_with([0x70, 0xa0, 0x82, 0x31], nonce, i, &[]);
    let txs: Vec<_> = (0..N).map(|i| balance_of(1 + (N + i) as u64, i)).collect();
    let start = Instant::now();
    for tx in txs {
        let r = evm.transact_commit(tx).expect("balanceOf");
        assert!(r.is_success(), "{r:?}");
    }
    PeerRun {
        name: "revm 43 (EVM), solc ERC-20",
        empty: None,
        balance: Some(start.elapsed()),
        time,
        gas: Some((gas, "EVM gas")),
    }
}

/// The same-run ratios the summary reports.
pub struct PeerNumbers {
    /// chainvm VM's transfer time over revm's.
    pub transfer_vs_revm: f64,
    /// chainvm VM's transfer time over wasmi's.
    pub transfer_vs_wasmi: f64,
}

/// Prints the peer table; returns the transfer ratios for the summary.
pub fn run(token_wasm: &[u8]) -> PeerNumbers {
    let runs = [
        chainvm_vm(token_wasm),
        chainvm_runtime_host(token_wasm),
        wasmi(token_wasm),
        native(),
        revm(),
    ];
    let per = |d: Duration| secs(d) / N as f64;
    let us = |d: Option<Duration>| d.map_or("—".into(), |d| format!("{:.2}", per(d) * 1e6));
    let (base, revm_t, wasmi_t) = (per(runs[0].time), per(runs[4].time), per(runs[2].time));
    let t = Table::new(
        &format!(
            "Token calls, execution only, one core ({N} calls each; transfers to {RECIPIENTS} recipients)"
        ),
        &[
            "system",
            "empty call µs",
            "balance_of µs",
            "transfer µs",
            "transfers/s",
            "transfer vs chainvm VM",
            "metering units per transfer",
        ],
    );
    for r in &runs {
        t.row(&[
            r.name.to_string(),
            us(r.empty),
            us(r.balance),
            format!("{:.2}", per(r.time) * 1e6),
            group(N as f64 / secs(r.time)),
            format!("{:.2}x", per(r.time) / base),
            r.gas.map_or("—".into(), |(g, unit)| {
                format!("{} {unit}", group(g as f64))
            }),
        ]);
    }
    note(&format!(
        "chainvm VM transfer vs revm: {:.2}x; vs wasmi: {:.2}x. All run the same transfer \
         logic (read two balances, write two, emit Transfer); the empty call is the compute \
         section's `noop` (chainvm, wasmi). chainvm and wasmi instantiate the module afresh \
         for every call; revm keeps the contract in its cache DB and commits each \
         transaction's state (balanceOf too).",
        base / revm_t,
        base / wasmi_t,
    ));
    PeerNumbers {
        transfer_vs_revm: base / revm_t,
        transfer_vs_wasmi: base / wasmi_t,
    }
}
