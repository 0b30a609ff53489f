//! The token transfer on each system, execution only, one core: chainvm's VM, wasmi with
//! fuel on the same wasm, the same logic as native Rust over a `BTreeMap`, and revm running
//! a solc-compiled ERC-20 against its in-memory database.

use crate::util::{Table, group, note, secs};
use chainvm_abi::error_code;
use chainvm_vm::testing::MockHost;
use chainvm_vm::{CallContext, Vm, VmConfig, code_hash};
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

/// One system's result: time for N transfers and gas (or fuel) per transfer.
pub struct PeerRun {
    pub name: &'static str,
    pub time: Duration,
    pub gas: Option<(u64, &'static str)>,
}

/// chainvm's VM on the token wasm with an in-memory host (no runtime, no state tree).
fn chainvm_vm(wasm: &[u8]) -> PeerRun {
    let vm = Vm::new(VmConfig::default()).expect("engine");
    let contract = vm.load(&code_hash(wasm), wasm).expect("token loads");
    let ctx = CallContext {
        caller: OWNER,
        ..CallContext::default()
    };
    let mut host = MockHost::default();
    let init = vm
        .execute(&contract, "init", &init_args(), &ctx, u64::MAX, &mut host)
        .expect("init");
    assert!(init.outcome.is_success(), "{:?}", init.outcome);
    let mut gas = 0;
    let start = Instant::now();
    for i in 0..N {
        let e = vm
            .execute(
                &contract,
                "transfer",
                &transfer_args(i),
                &ctx,
                10_000_000,
                &mut host,
            )
            .expect("transfer");
        assert!(e.outcome.is_success(), "{:?}", e.outcome);
        gas = e.gas_used;
    }
    PeerRun {
        name: "chainvm VM (wasmtime, metered)",
        time: start.elapsed(),
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
    let linker = wasmi_linker(&engine).expect("linker");
    let mut host = WasmiHost {
        caller: OWNER,
        ..WasmiHost::default()
    };
    wasmi_call(&engine, &linker, &module, &mut host, "init", init_args()).expect("init");
    let mut fuel = 0;
    let start = Instant::now();
    for i in 0..N {
        fuel = wasmi_call(
            &engine,
            &linker,
            &module,
            &mut host,
            "transfer",
            transfer_args(i),
        )
        .expect("transfer");
        assert!(host.ret.is_empty() || host.ret == [0], "transfer failed");
    }
    PeerRun {
        name: "wasmi 2.0 (fuel), same wasm",
        time: start.elapsed(),
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
    let call = |nonce: u64, i: u32| {
        let mut data = vec![0xa9, 0x05, 0x9c, 0xbb];
        data.extend_from_slice(&[0; 12]);
        data.extend_from_slice(&recipient(i));
        let mut amount = [0u8; 32];
        amount[31] = 1;
        data.extend_from_slice(&amount);
        TxEnv::builder()
            .caller(caller)
            .kind(TxKind::Call(token))
            .data(Bytes::from(data))
            .nonce(nonce)
            .gas_limit(200_000)
            .build_fill()
    };
    let txs: Vec<_> = (0..N).map(|i| call(1 + i as u64, i)).collect();
    let mut gas = 0;
    let start = Instant::now();
    for tx in txs {
        let r = evm.transact_commit(tx).expect("transfer");
        assert!(r.is_success(), "{r:?}");
        gas = r.tx_gas_used();
    }
    PeerRun {
        name: "revm 43 (EVM), solc ERC-20",
        time: start.elapsed(),
        gas: Some((gas, "EVM gas")),
    }
}

/// Prints the peer table; returns chainvm VM's transfers per second for the summary.
pub fn run(token_wasm: &[u8]) -> f64 {
    let runs = [chainvm_vm(token_wasm), wasmi(token_wasm), native(), revm()];
    let base = secs(runs[0].time) / N as f64;
    let t = Table::new(
        &format!(
            "Token transfer, execution only, one core ({N} transfers to {RECIPIENTS} recipients)"
        ),
        &[
            "system",
            "transfers/s",
            "µs per transfer",
            "time vs chainvm VM",
            "metering units per transfer",
        ],
    );
    for r in &runs {
        let per = secs(r.time) / N as f64;
        t.row(&[
            r.name.to_string(),
            group(N as f64 / secs(r.time)),
            format!("{:.2}", per * 1e6),
            format!("{:.2}x", per / base),
            r.gas.map_or("—".into(), |(g, unit)| {
                format!("{} {unit}", group(g as f64))
            }),
        ]);
    }
    note(
        "All four run the same transfer logic (read two balances, write two, emit Transfer). \
         chainvm and wasmi instantiate the module afresh for every call; revm keeps the \
         contract in its cache DB and commits each transaction's state.",
    );
    N as f64 / secs(runs[0].time)
}
