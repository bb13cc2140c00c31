//! The conformance protocol's framing: each message is a little-endian `u32` length, then
//! that many bytes of one UTF-8 JSON object. Requests go to the responder's stdin, answers
//! come back on its stdout, one answer per request, in order.
//!
//! Guarantees: a frame is read whole or not at all; a length over [`FRAME_LEN_MAX`] is an
//! error before anything is allocated; a clean end of input between frames is `Ok(None)`,
//! an end inside a frame an error.

use std::io::{self, Read, Write};

use serde_json::Value;

/// The largest message either side accepts (the largest vector is a few tens of KiB).
pub const FRAME_LEN_MAX: u32 = 64 << 20;

/// Writes one message and flushes it.
pub fn write_frame(out: &mut impl Write, message: &Value) -> io::Result<()> {
    let body = serde_json::to_vec(message).map_err(io::Error::other)?;
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&n| n <= FRAME_LEN_MAX)
        .ok_or_else(|| io::Error::other("message over the frame limit"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

/// Reads one message's bytes; `Ok(None)` when the input ends before a frame starts.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < len.len() {
        match input.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(len);
    if len > FRAME_LEN_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame length {len} is over the limit {FRAME_LEN_MAX}"),
        ));
    }
    let mut body = vec![0u8; len as usize];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_frame_reads_back_as_written_and_the_end_is_clean() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &json!({"op": "decode_record", "hex": "0a"})).unwrap();
        assert_eq!(&buf[..4], &(buf.len() as u32 - 4).to_le_bytes());
        let mut input = &buf[..];
        let body = read_frame(&mut input).unwrap().unwrap();
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["op"], "decode_record");
        assert!(read_frame(&mut input).unwrap().is_none());
    }

    #[test]
    fn a_frame_cut_short_or_over_the_limit_is_an_error() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &json!({"a": 1})).unwrap();
        let cut = &buf[..buf.len() - 1];
        assert!(read_frame(&mut &cut[..]).is_err());
        assert!(read_frame(&mut &buf[..2]).is_err());
        let huge = (FRAME_LEN_MAX + 1).to_le_bytes();
        assert_eq!(
            read_frame(&mut &huge[..]).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
