//! A dora node in Rust through the C node API (FFI): counts three `tick` inputs, then ends.
//! Built by the `build:` line of dataflow.yml with rustc and `dora c-api --lib-dir`.
use std::ffi::{c_char, c_int, c_void, CStr};
use std::{process, ptr, slice};

const DORA_EVENT_TYPE_STOP: c_int = 0;
const DORA_EVENT_TYPE_INPUT: c_int = 1;

#[link(name = "dora_node_api_c")]
extern "C" {
    fn init_dora_context_from_env() -> *mut c_void;
    fn free_dora_context(context: *mut c_void);
    fn dora_next_event(context: *mut c_void) -> *mut c_void;
    fn free_dora_event(event: *mut c_void);
    fn read_dora_event_type(event: *mut c_void) -> c_int;
    fn read_dora_input_id(event: *mut c_void, out_ptr: *mut *mut c_char, out_len: *mut usize);
    fn dora_last_error() -> *const c_char;
}

fn main() {
    let context = unsafe { init_dora_context_from_env() };
    if context.is_null() {
        let message = unsafe { CStr::from_ptr(dora_last_error()) };
        eprintln!("no dora context: {}", message.to_string_lossy());
        process::exit(3);
    }
    let mut ticks = 0;
    while ticks < 3 {
        let event = unsafe { dora_next_event(context) };
        if event.is_null() {
            break; // the stream has ended
        }
        let kind = unsafe { read_dora_event_type(event) };
        if kind == DORA_EVENT_TYPE_INPUT {
            let (mut id_ptr, mut id_len) = (ptr::null_mut(), 0);
            unsafe { read_dora_input_id(event, &mut id_ptr, &mut id_len) };
            let id = unsafe { slice::from_raw_parts(id_ptr as *const u8, id_len) };
            if id == b"tick" {
                ticks += 1;
                println!("rust node: tick {ticks}");
            }
        }
        unsafe { free_dora_event(event) };
        if kind == DORA_EVENT_TYPE_STOP {
            break;
        }
    }
    unsafe { free_dora_context(context) };
    println!("rust node: done after {ticks} ticks");
}
