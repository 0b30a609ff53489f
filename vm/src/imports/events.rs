//! Events emitted by the executing contract.

use super::HostTrap;
use super::env::{HostEnv, check_len, host_result};
use crate::host::EventError;
use chainvm_abi::limits;

/// `emit_event(topic_ptr, topic_len, data_ptr, data_len)`: records an event, or ends the
/// call with [`HostTrap::EventRefused`] when the host's event-byte allowance is used up.
pub(super) fn do_emit_event(
    env: &mut HostEnv<'_>,
    topic_ptr: i32,
    topic_len: i32,
    data_ptr: i32,
    data_len: i32,
) -> Result<(), HostTrap> {
    let (flat, per_byte) = (env.costs().event, env.costs().event_per_byte);
    env.begin(flat)?;
    let topic_len = check_len(topic_len, limits::MAX_TOPIC_LEN, "event topic")?;
    let data_len = check_len(data_len, limits::MAX_EVENT_DATA_LEN, "event data")?;
    let topic = env.charged_read(topic_ptr, topic_len, per_byte)?;
    let data = env.charged_read(data_ptr, data_len, per_byte)?;
    match host_result(env.host.emit_event(&topic, &data))? {
        Ok(()) => Ok(()),
        Err(EventError::LimitReached) => Err(HostTrap::EventRefused),
    }
}
