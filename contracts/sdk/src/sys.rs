//! The raw host imports (see `chainvm_abi::HOST_FUNCTIONS` for their contracts).

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    pub fn input(out: *mut u8, cap: u32) -> u32;
    pub fn set_return(ptr: *const u8, len: u32);
    pub fn storage_get(key: *const u8, key_len: u32, out: *mut u8, cap: u32) -> i64;
    pub fn storage_set(key: *const u8, key_len: u32, val: *const u8, val_len: u32);
    pub fn storage_remove(key: *const u8, key_len: u32) -> i32;
    pub fn storage_has(key: *const u8, key_len: u32) -> i32;
    pub fn caller(out: *mut u8);
    pub fn self_address(out: *mut u8);
    pub fn value(out: *mut u8);
    pub fn balance(out: *mut u8);
    pub fn block_height() -> i64;
    pub fn block_timestamp() -> i64;
    pub fn transfer(to: *const u8, amount: *const u8) -> i32;
    pub fn emit_event(topic: *const u8, topic_len: u32, data: *const u8, data_len: u32);
    pub fn keccak256(data: *const u8, len: u32, out: *mut u8);
    pub fn abort(
        msg: *const u8,
        msg_len: u32,
        file: *const u8,
        file_len: u32,
        line: u32,
        column: u32,
    );
    pub fn call_contract(
        addr: *const u8,
        method: *const u8,
        method_len: u32,
        args: *const u8,
        args_len: u32,
        value: *const u8,
        gas: i64,
    ) -> i32;
    pub fn return_data(out: *mut u8, cap: u32) -> u32;
}
