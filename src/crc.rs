//! CRC32 as the format uses it: IEEE 802.3 (reflected polynomial 0xEDB88320, initial value
//! and final XOR 0xFFFFFFFF), bit for bit what crc32fast, and so the seed, computes.
//!
//! Why a kernel of our own: records are short (the benchmark mix averages 57 bytes), and for
//! short inputs crc32fast's per-call overhead (CPU detection, dispatch, assembling the last
//! partial block byte by byte) was a third of the zero-copy reader's instructions. The
//! kernel below folds 16-byte blocks with PCLMULQDQ and takes the last partial block with
//! one overlapping load; longer inputs go to crc32fast's wide kernels. `tests` (and the
//! `crc_matches_crc32fast` property) hold it to crc32fast on every length.

/// Inputs up to this length use the short kernel; longer ones crc32fast's folding loops.
const SHORT_MAX: usize = 255;

/// The CRC32 of `data`.
#[inline]
pub fn crc32(data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if (16..=SHORT_MAX).contains(&data.len()) && clmul::available() {
            return clmul::crc32(data);
        }
    }
    wide(data)
}

fn wide(data: &[u8]) -> u32 {
    // `crc32fast::hash` detects the CPU on every call: detect once and clone.
    static TEMPLATE: std::sync::OnceLock<crc32fast::Hasher> = std::sync::OnceLock::new();
    let mut hasher = TEMPLATE.get_or_init(crc32fast::Hasher::new).clone();
    hasher.update(data);
    hasher.finalize()
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod clmul {
    //! The carry-less multiplication kernel (Gopal et al., "Fast CRC computation for generic
    //! polynomials using PCLMULQDQ", Intel 2009, in its bit-reflected form).
    use std::arch::x86_64::*;

    /// x^(128+32) and x^(128-32) mod P, bit-reflected: folding by 128 bits.
    const K3: i64 = 0x1751997d0;
    const K4: i64 = 0x0ccaa009e;
    /// x^64 mod P, bit-reflected: the 96 to 64 bit step.
    const K5: i64 = 0x163cd6124;
    /// P and the Barrett constant μ = floor(x^64 / P), bit-reflected.
    const P_X: i64 = 0x1DB710641;
    const U_PRIME: i64 = 0x1F7011641;

    /// Whether the CPU has the kernel's features; detected once (three separate checks
    /// per record were a tenth of the kernel's cost).
    #[inline]
    pub fn available() -> bool {
        use std::sync::atomic::{AtomicU8, Ordering};
        const UNKNOWN: u8 = 0;
        const YES: u8 = 1;
        const NO: u8 = 2;
        static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
        match STATE.load(Ordering::Relaxed) {
            YES => true,
            NO => false,
            _ => {
                let has = is_x86_feature_detected!("pclmulqdq")
                    && is_x86_feature_detected!("sse4.1")
                    && is_x86_feature_detected!("ssse3");
                STATE.store(if has { YES } else { NO }, Ordering::Relaxed);
                has
            }
        }
    }

    /// The CRC32 of `data`, 16 bytes or more. Only call when [`available`].
    #[inline]
    pub fn crc32(data: &[u8]) -> u32 {
        debug_assert!(data.len() >= 16 && available());
        // SAFETY: the caller checked `available()`, so the CPU has every feature the kernel
        // is compiled for. The kernel has no other precondition: its loads are slices
        // checked against `data`'s bounds.
        unsafe { kernel(data) }
    }

    /// The 16 bytes of `data` at `at`. Only call with `at + 16 <= data.len()`: the kernel
    /// calls it at `0` and at offsets whose loop condition or arithmetic proves that.
    #[inline(always)]
    unsafe fn block(data: &[u8], at: usize) -> __m128i {
        debug_assert!(at + 16 <= data.len());
        // SAFETY: the caller guarantees `at + 16 <= data.len()`, so all 16 bytes are inside
        // `data`; the load is unaligned. (A checked slice here cost a bounds check and a
        // branch per block, a sixth of the kernel on the benchmark's records.)
        unsafe { _mm_loadu_si128(data.as_ptr().add(at).cast()) }
    }

    #[target_feature(
        enable = "pclmulqdq",
        enable = "sse2",
        enable = "sse4.1",
        enable = "ssse3"
    )]
    unsafe fn fold(x: __m128i, next: __m128i, keys: __m128i) -> __m128i {
        _mm_xor_si128(
            _mm_xor_si128(next, _mm_clmulepi64_si128(x, keys, 0x00)),
            _mm_clmulepi64_si128(x, keys, 0x11),
        )
    }

    #[target_feature(
        enable = "pclmulqdq",
        enable = "sse2",
        enable = "sse4.1",
        enable = "ssse3"
    )]
    unsafe fn kernel(data: &[u8]) -> u32 {
        // Every `block` below reads inside `data`: `len >= 16` (the caller's contract) for
        // the first block and the last (`len - 16`), and the loop condition for the others.
        let len = data.len();
        let keys = _mm_set_epi64x(K4, K3);
        // The initial value !0 enters as an XOR into the first four bytes.
        let mut x = _mm_xor_si128(block(data, 0), _mm_cvtsi32_si128(-1));
        let mut at = 16;
        while len - at >= 16 {
            x = fold(x, block(data, at), keys);
            at += 16;
        }
        let rem = len - at;
        if rem > 0 {
            // The message is now x (16 bytes) then `rem` more bytes. Seen as 16 + rem bytes
            // after (harmless) leading zeros: `high` is x's first `rem` bytes, moved to the
            // top of a block, and `low` is x's remaining bytes followed by the tail, which
            // the overlapping load of the last 16 bytes holds in its top `rem` lanes.
            let lanes = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            let to_high = _mm_add_epi8(lanes, _mm_set1_epi8(rem as i8 - 16));
            let to_low = _mm_xor_si128(to_high, _mm_set1_epi8(-128));
            let high = _mm_shuffle_epi8(x, to_high);
            // Lanes whose shuffle index has its top bit set take the tail.
            let low = _mm_blendv_epi8(_mm_shuffle_epi8(x, to_low), block(data, len - 16), to_low);
            x = fold(high, low, keys);
        }
        // 128 → 96 → 64 bits, then Barrett reduction to 32.
        let x = _mm_xor_si128(_mm_clmulepi64_si128(x, keys, 0x10), _mm_srli_si128(x, 8));
        let low32 = _mm_set_epi32(0, 0, 0, -1);
        let x = _mm_xor_si128(
            _mm_clmulepi64_si128(_mm_and_si128(x, low32), _mm_set_epi64x(0, K5), 0x00),
            _mm_srli_si128(x, 4),
        );
        let pu = _mm_set_epi64x(U_PRIME, P_X);
        let t1 = _mm_clmulepi64_si128(_mm_and_si128(x, low32), pu, 0x10);
        let t2 = _mm_clmulepi64_si128(_mm_and_si128(t1, low32), pu, 0x00);
        !(_mm_extract_epi32(_mm_xor_si128(x, t2), 1) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_crc32fast_on_every_length_and_alignment() {
        let bytes: Vec<u8> = (0..2048u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for start in 0..16 {
            for len in 0..600 {
                let data = &bytes[start..start + len];
                assert_eq!(
                    crc32(data),
                    crc32fast::hash(data),
                    "start {start} len {len}"
                );
            }
        }
    }

    #[test]
    fn crc_matches_known_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"123456789123456789"),
            crc32fast::hash(b"123456789123456789")
        );
    }
}
