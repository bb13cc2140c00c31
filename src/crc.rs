//! CRC32 as the format uses it: IEEE 802.3 (reflected polynomial 0xEDB88320, initial value
//! and final XOR 0xFFFFFFFF), bit for bit what crc32fast, and so the seed, computes.
//!
//! Why kernels of our own: records are short (the benchmark mix averages 57 bytes), and for
//! short inputs crc32fast's per-call overhead (CPU detection, dispatch, assembling the last
//! partial block byte by byte) was a third of the zero-copy reader's instructions. Two
//! kernels, chosen once per process by the CPU's features:
//!
//! - AVX-512 with VPCLMULQDQ ([`clmul::Avx512`]), for inputs up to [`SHORT_MAX`] bytes, in
//!   three size classes (up to 64, 128 and 255 bytes) with no branch on the length inside a
//!   class, so that a stream of records of mixed lengths does not mispredict: masked loads
//!   place the input right-aligned in a frame of one, two or four 64-byte windows, one
//!   carry-less multiply pair per window folds each of its 16-byte lanes onto the frame's end
//!   with that lane's constants, and the initial value and final XOR enter at the end as the
//!   CRC of as many zero bytes ([`clmul::avx512`] has the details).
//! - PCLMULQDQ ([`clmul::Sse`]), for inputs of 16 to [`SHORT_MAX`] bytes on CPUs without
//!   AVX-512: it folds 16-byte blocks in a loop and takes the last partial block with one
//!   overlapping load.
//!
//! Longer inputs, and short ones on other CPUs, go to crc32fast's wide kernels. A hot loop
//! can run with the AVX-512 kernel inlined into it, compiled for its features
//! ([`with_inlined_kernel`]); the zero-copy scanner's does. `tests` hold every kernel the
//! CPU has, the portable one on every machine, to a bitwise CRC32 on every length and
//! alignment, and print which kernels they tested.
//!
//! ## The arithmetic
//!
//! The register is bit-reflected: the first byte's bit 0 is the message polynomial's highest
//! coefficient. Without initial value and final XOR, the CRC of a message `M` is
//! `M(x)·x^32 mod P`, which leading zero bytes leave unchanged; the CRC being affine in the
//! message, the CRC of an `n`-byte `M` is that value XOR the CRC of `n` zero bytes.
//! Read a 128-bit register as the polynomial whose bit `j` is the coefficient of `x^(127-j)`,
//! and a 64-bit half of it likewise with `x^(63-j)` (the low half of a register `r` is then
//! `h` with `r = h·x^64 + ...`, the high half `h` with `r = ... + h`). PCLMULQDQ of a half
//! `h` by [`clmul::fold_constant`]`(k)` (`x^k mod P`, its 32 bits reversed, shifted left by
//! one) gives the register `h(x)·(x^k mod P)·x^32`, congruent modulo `P` to `h(x)·x^(k+32)`:
//! the half's bits moved `k + 32` places towards the low powers (for the low half, which
//! stood at `x^64`, `k - 32` places), with the result no wider than 96 bits. The constants
//! are computed from `P` at compile time; the tests recompute them with a separate
//! carry-less arithmetic and check it against the published ones.

/// Inputs up to this length use the short kernels; longer ones crc32fast's folding loops.
const SHORT_MAX: usize = 255;

/// The CRC32 of `data`.
#[inline]
pub fn crc32(data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if data.len() <= SHORT_MAX {
            match clmul::level() {
                clmul::Level::Avx512(cpu) => return cpu.crc32(data),
                clmul::Level::Sse(cpu) if data.len() >= 16 => return cpu.crc32(data),
                _ => {}
            }
        }
    }
    wide(data)
}

/// A way of computing the CRC32, passed by value into a hot loop.
pub trait Crc: Copy {
    fn crc32(self, data: &[u8]) -> u32;
}

/// [`crc32`] itself: a call into the kernel the CPU has.
#[derive(Debug, Clone, Copy)]
pub struct Called;

impl Crc for Called {
    #[inline(always)]
    fn crc32(self, data: &[u8]) -> u32 {
        crc32(data)
    }
}

/// Code that runs on a [`Crc`] of the caller's choosing: see [`with_inlined_kernel`].
pub trait WithCrc {
    type Output;
    fn run<C: Crc>(self, crc: C) -> Self::Output;
}

/// Runs `code` with the CRC kernel inlined into it when the CPU has the AVX-512 one: `code`
/// is then compiled for the kernel's features, in one function with it. Otherwise `code`
/// runs with [`Called`].
///
/// Why: a hot loop that checks a checksum in each of the 35 record kinds' arms calls the
/// kernel from each; a call keeps the record's fields in registers the call may clobber, so
/// they went to the stack and back, and the kernel's set-up could not overlap the loop's own
/// work (zero-copy scan of the benchmark mix: see `Scanner::try_for_each`).
#[inline(always)]
pub fn with_inlined_kernel<W: WithCrc>(code: W) -> W::Output {
    #[cfg(target_arch = "x86_64")]
    if let clmul::Level::Avx512(cpu) = clmul::level() {
        return cpu.inlined(code);
    }
    code.run(Called)
}

// Never inlined: the short kernels' callers would save registers for it on every call.
#[inline(never)]
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
    //! The carry-less multiplication kernels (Gopal et al., "Fast CRC computation for generic
    //! polynomials using PCLMULQDQ", Intel 2009, in its bit-reflected form).
    use std::arch::x86_64::*;
    use std::sync::atomic::{AtomicU8, Ordering};

    /// x^(128+32) and x^(128-32) mod P, bit-reflected: folding by 128 bits.
    const K3: i64 = 0x1751997d0;
    const K4: i64 = 0x0ccaa009e;
    /// P, bit-reflected (its 33 bits reversed: bit `k` is the coefficient of `x^(32-k)`).
    const P_X: i64 = 0x1DB710641;
    /// The Barrett constant `μ = ⌊x^96 / P⌋` of [`reduce96`], bit-reflected: bit `k` is the
    /// coefficient of `x^(64-k)`, and the one of `x^0`, which would be bit 64, is left out
    /// (it only touches products' coefficients the reduction discards).
    pub const MU: u64 = {
        let p: u128 = 0x1_04C1_1DB7;
        let (mut rest, mut quotient) = (1u128 << 96, 0u128);
        let mut bit = 96;
        while bit >= 32 {
            if rest >> bit & 1 == 1 {
                rest ^= p << (bit - 32);
                quotient |= 1 << (bit - 32);
            }
            bit -= 1;
        }
        (quotient.reverse_bits() >> (128 - 65)) as u64
    };

    /// `x^k mod P`, `P` the CRC-32 polynomial `x^32 + 0x04C11DB7`, as 32 bits in normal order
    /// (bit `i` is the coefficient of `x^i`): `k` multiplications by `x`, each reduced.
    pub const fn xpow_mod_p(k: u32) -> u32 {
        let mut r: u32 = 1;
        let mut i = 0;
        while i < k {
            let carry = r >> 31;
            r = (r << 1) ^ (0x04C1_1DB7 & carry.wrapping_neg());
            i += 1;
        }
        r
    }

    /// The constant a kernel multiplies a 64-bit half by to take it `k + 32 - 64` bits down
    /// the message (see the module's arithmetic): `x^k mod P` with its 32 bits reversed,
    /// shifted left by one into a 33-bit value (the carry-less product of two reflected
    /// 64-bit values lands one bit low in its 128 bits; the shift makes up for it). K3 and
    /// K4 are `fold_constant(160)` and `fold_constant(96)`.
    pub const fn fold_constant(k: u32) -> u64 {
        (xpow_mod_p(k).reverse_bits() as u64) << 1
    }

    /// The kernels the CPU has, detected once (three separate checks per record were a tenth
    /// of the kernel's cost).
    #[derive(Clone, Copy)]
    pub enum Level {
        Portable,
        Sse(Sse),
        Avx512(Avx512),
    }

    /// [`Level`]'s cache: unknown until the first call's detection.
    static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
    const UNKNOWN: u8 = 0;
    const PORTABLE: u8 = 1;
    const SSE: u8 = 2;
    const AVX512: u8 = 3;

    /// [`Level`], detected on the first call and cached.
    #[inline]
    pub fn level() -> Level {
        match STATE.load(Ordering::Relaxed) {
            // The state is only ever set from a detection that succeeded (`detect`).
            AVX512 => Level::Avx512(Avx512(())),
            SSE => Level::Sse(Sse(())),
            PORTABLE => Level::Portable,
            _ => detect(),
        }
    }

    /// The first call's detection, out of line: inlined, its calls made every caller save
    /// registers on every call.
    #[cold]
    #[inline(never)]
    fn detect() -> Level {
        let (level, state) = match (Avx512::detect(), Sse::detect()) {
            (Some(cpu), _) => (Level::Avx512(cpu), AVX512),
            (None, Some(cpu)) => (Level::Sse(cpu), SSE),
            (None, None) => (Level::Portable, PORTABLE),
        };
        STATE.store(state, Ordering::Relaxed);
        level
    }

    /// Proof that the CPU has the PCLMULQDQ kernel's features: only a detection makes one.
    #[derive(Clone, Copy)]
    pub struct Sse(());

    impl Sse {
        /// `Some` when the CPU has PCLMULQDQ, SSE4.1 and SSSE3.
        pub fn detect() -> Option<Sse> {
            let has = is_x86_feature_detected!("pclmulqdq")
                && is_x86_feature_detected!("sse4.1")
                && is_x86_feature_detected!("ssse3");
            has.then_some(Sse(()))
        }

        /// The CRC32 of `data`, by the PCLMULQDQ kernel from 16 bytes on.
        #[inline]
        pub fn crc32(self, data: &[u8]) -> u32 {
            if data.len() < 16 {
                return super::wide(data);
            }
            // SAFETY: `self` proves that the CPU has every feature the kernel is compiled
            // for, and `data` has the 16 bytes the kernel needs, its only other
            // precondition (its loads are in bounds from there, see `block`).
            unsafe { kernel(data) }
        }
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

    /// The tail both kernels share, Barrett reduction of 96 bits: from a register congruent
    /// to `M·x^64` (the message `M`, see the module's arithmetic) in its low 96 bits, the
    /// CRC of `M` without initial value and final XOR. Those 96 bits are `V·x^32`, `V` of
    /// degree below 96 with `V ≡ M·x^32`, so the CRC is `V mod P` = `V - q·P` with
    /// `q = ⌊V / P⌋ = ⌊T·μ / x^64⌋`, `T = ⌊V / x^32⌋` (the register's low 64 bits) and
    /// `μ = ⌊x^96 / P⌋`: one multiply by [`MU`] gives `q` in the low 64 bits, one by `P`
    /// the low 32 coefficients of `q·P`, aligned with `V`'s in bits 64 to 95.
    #[inline]
    #[target_feature(enable = "pclmulqdq", enable = "sse2", enable = "sse4.1")]
    fn reduce96(x: __m128i) -> u32 {
        let keys = _mm_set_epi64x(P_X, MU as i64);
        let q = _mm_clmulepi64_si128(x, keys, 0x00);
        let qp = _mm_clmulepi64_si128(q, keys, 0x10);
        _mm_extract_epi32(_mm_xor_si128(x, qp), 2) as u32
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
        // 128 → 96 bits, then the shared tail.
        let x = _mm_xor_si128(_mm_clmulepi64_si128(x, keys, 0x10), _mm_srli_si128(x, 8));
        !reduce96(x)
    }

    pub use avx512::Avx512;

    pub mod avx512 {
        //! The AVX-512 kernel. The input, `n` bytes, is the end of a frame of `W` 64-byte
        //! windows (`W` = 1, 2 or 4 by size class) whose first `64·W - n` bytes are zeros:
        //! masked loads fill each window, zeroing the bytes before the input without reading
        //! them. Each 16-byte lane of the frame, `D` bits before the frame's last lane, is
        //! congruent to `M·x^64` (see the module's arithmetic) once its low half is multiplied
        //! by `fold_constant(D + 96)` and its high half by `fold_constant(D + 32)`: one
        //! VPCLMULQDQ pair per window with a per-lane constant vector ([`KEYS`]). The XOR of
        //! all lanes is then 96 bits wide, ready for `reduce96`; XORing in the CRC of `n`
        //! zero bytes ([`ZERO_CRC`]) accounts for the initial value and final XOR.
        //!
        //! Cost (Zen 4, benchmark in the commit message): a call is 4 carry-less multiplies
        //! up to 64 bytes, 6 up to 128 and 10 up to 255, whatever the length inside the
        //! class; on this CPU each multiply, of any width, occupies the unit two cycles.
        //! Three classes rather than one for all short records: a single 128-byte class
        //! wins on a synthetic stream of random lengths (no class branch to mispredict) but
        //! lost in the zero-copy reader, where the class branch follows the record kind's
        //! own branches and predicts well. A masked-off byte in an unmapped page costs a
        //! microcode assist (about 180 ns on Zen 4); that needs an input within 64·W bytes
        //! of the start of a mapping, at most once per buffer.
        use super::{fold_constant, reduce96};
        use std::arch::x86_64::*;

        /// Compiles each function inside for the kernel's features, listed here once: the
        /// kernel's, and the function that runs code with the kernel inlined into it, which
        /// must have at least the kernel's for the compiler to inline it.
        macro_rules! for_the_kernel {
            ($($item:item)*) => {$(
                #[target_feature(
                    enable = "avx512f",
                    enable = "avx512bw",
                    enable = "avx512vl",
                    enable = "vpclmulqdq",
                    enable = "pclmulqdq"
                )]
                $item
            )*};
        }

        /// Proof that the CPU has the AVX-512 kernel's features: only a detection makes one.
        #[derive(Clone, Copy)]
        pub struct Avx512(pub(super) ());

        impl Avx512 {
            /// `Some` when the CPU has AVX-512 F, BW and VL, VPCLMULQDQ and PCLMULQDQ.
            pub fn detect() -> Option<Avx512> {
                let has = is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("vpclmulqdq")
                    && is_x86_feature_detected!("pclmulqdq");
                has.then_some(Avx512(()))
            }

            /// The CRC32 of `data`, any length (inputs longer than `SHORT_MAX` go to
            /// crc32fast).
            #[inline]
            pub fn crc32(self, data: &[u8]) -> u32 {
                // SAFETY: `self` proves that the CPU has every feature `short` is compiled
                // for, its only precondition.
                unsafe { short(data) }
            }

            /// Runs `code` with this kernel, both compiled for its features in one function.
            #[inline]
            pub fn inlined<W: super::super::WithCrc>(self, code: W) -> W::Output {
                // SAFETY: `self` proves that the CPU has every feature `run_inlined` is
                // compiled for, its only precondition.
                unsafe { run_inlined(code, self) }
            }
        }

        impl super::super::Crc for Avx512 {
            #[inline(always)]
            fn crc32(self, data: &[u8]) -> u32 {
                self.crc32(data)
            }
        }

        for_the_kernel! {
            /// `code` run with the kernel, in a function compiled for its features, so that
            /// `short` (which is `#[inline]`) is inlined into `code`'s loop.
            fn run_inlined<W: super::super::WithCrc>(code: W, cpu: Avx512) -> W::Output {
                code.run(cpu)
            }
        }

        /// Per 64-byte window, counted from the frame's end, the eight constants of its four
        /// lanes (earliest first), low half then high half: `fold_constant(D + 96)` and
        /// `fold_constant(D + 32)`, `D` the lane's distance in bits before the frame's last
        /// lane (`128·(4·window + 3 - lane)`).
        pub const KEYS: [[u64; 8]; 4] = {
            let mut keys = [[0; 8]; 4];
            let mut window = 0;
            while window < 4 {
                let mut lane = 0;
                while lane < 4 {
                    let d = 128 * (4 * window + 3 - lane) as u32;
                    keys[window][2 * lane] = fold_constant(d + 96);
                    keys[window][2 * lane + 1] = fold_constant(d + 32);
                    lane += 1;
                }
                window += 1;
            }
            keys
        };

        /// The load mask of a window's last `i` bytes at index `i` (its top `i` bits).
        static LAST: [u64; 65] = {
            let mut masks = [0; 65];
            let mut i = 1;
            while i <= 64 {
                masks[i] = !0 << (64 - i);
                i += 1;
            }
            masks
        };

        /// The CRC32 of `n` zero bytes at index `n`: a message's CRC is its CRC without
        /// initial value and final XOR, XOR this (both are affine in the message).
        pub static ZERO_CRC: [u32; super::super::SHORT_MAX + 1] = {
            let mut table = [0; super::super::SHORT_MAX + 1];
            let mut register: u32 = !0;
            let mut n = 0;
            while n < table.len() {
                table[n] = !register;
                let mut bit = 0;
                while bit < 8 {
                    register = (register >> 1) ^ (0xEDB8_8320 & (register & 1).wrapping_neg());
                    bit += 1;
                }
                n += 1;
            }
            table
        };

        for_the_kernel! {
            /// The CRC32 of `data`: one size class per branch, no branch on the length inside
            /// one.
            #[inline]
            fn short(data: &[u8]) -> u32 {
                let n = data.len();
                // SAFETY (all three): the features are this function's own, and each branch
                // bounds `n` to the kernel's `MIN..=64·W`.
                if n <= 64 {
                    unsafe { kernel::<1, 0>(data) }
                } else if n <= 128 {
                    unsafe { kernel::<2, 65>(data) }
                } else if n <= super::super::SHORT_MAX {
                    unsafe { kernel::<4, 129>(data) }
                } else {
                    super::super::wide(data)
                }
            }
        }

        /// Both halves of every 128-bit lane of `window` multiplied by the lane's constants
        /// in `keys`, XORed.
        #[inline]
        #[target_feature(enable = "avx512f", enable = "vpclmulqdq")]
        fn fold(window: __m512i, keys: &[u64; 8]) -> __m512i {
            let k = keys.map(|k| k as i64);
            let k = _mm512_set_epi64(k[7], k[6], k[5], k[4], k[3], k[2], k[1], k[0]);
            _mm512_xor_si512(
                _mm512_clmulepi64_epi128(window, k, 0x00),
                _mm512_clmulepi64_epi128(window, k, 0x11),
            )
        }

        for_the_kernel! {
            /// The CRC32 of `data` as the end of a frame of `W` windows.
            ///
            /// # Safety
            ///
            /// The CPU has the features, and `data.len() >= MIN` (the windows that `MIN` bytes
            /// fill are loaded whole). Past `64·W` bytes the result is wrong but nothing is read
            /// out of bounds; past `SHORT_MAX`, the table look-up panics.
            #[inline]
            unsafe fn kernel<const W: usize, const MIN: usize>(data: &[u8]) -> u32 {
                let n = data.len();
                debug_assert!(MIN <= n && n <= 64 * W);
                // Where the frame would start: `64·W - n` bytes before `data`. Only ever an
                // address (wrapping arithmetic, no `add` out of bounds): no load below reads a
                // byte before `data`.
                let frame = data.as_ptr().wrapping_add(n).wrapping_sub(64 * W);
                let mut folded = _mm512_setzero_si512();
                for w in 0..W {
                    // The window's first byte, and the bytes from it to the end of the frame.
                    let at = frame.wrapping_add(64 * w);
                    let end = 64 * (W - w);
                    let window = if end <= MIN {
                        // SAFETY: `n >= MIN >= end >= 64`, so the window is the 64 bytes of
                        // `data` from `n - end`: all inside `data`. The load is unaligned.
                        unsafe { _mm512_loadu_si512(at.cast()) }
                    } else {
                        // The input's bytes in this window, at its end: all 64 once the input
                        // covers it.
                        let inside = n.saturating_sub(end - 64).min(64);
                        // SAFETY: the mask enables only the window's last `inside` bytes, `j` from
                        // `64 - inside` to 63. Their addresses, `at + j` = `data + (n - end + j)`,
                        // are inside `data`: `n - end + j >= 0` as `inside <= n - (end - 64)`,
                        // and `n - end + j < n` as `j < 64 <= end`. A masked load (VMOVDQU8 with a
                        // zeroing mask) neither reads nor faults on a masked-off byte (Intel SDM:
                        // faults on masked-off elements are suppressed), and Rust's masked loads
                        // require only the enabled bytes, at `at.wrapping_add(j)`, to be
                        // readable; byte granularity needs no alignment. So only bytes of `data`
                        // are read, and `at`, possibly before `data`, is never dereferenced.
                        unsafe { _mm512_maskz_loadu_epi8(LAST[inside], at.cast()) }
                    };
                    folded = _mm512_xor_si512(folded, fold(window, &KEYS[W - 1 - w]));
                }
                let half = _mm256_xor_si256(
                    _mm512_castsi512_si256(folded),
                    _mm512_extracti64x4_epi64::<1>(folded),
                );
                let lane = _mm_xor_si128(
                    _mm256_castsi256_si128(half),
                    _mm256_extracti128_si256::<1>(half),
                );
                reduce96(lane) ^ ZERO_CRC[n]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudo-random bytes (a multiplicative hash of the index).
    fn pseudo_random(len: usize) -> Vec<u8> {
        (0..len as u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect()
    }

    /// The CRC32 register after `byte`, by the definition: one bit at a time, reflected
    /// polynomial 0xEDB88320 (written apart from every kernel, crc32fast's included).
    fn definition_step(register: u32, byte: u8) -> u32 {
        let mut r = register ^ u32::from(byte);
        for _ in 0..8 {
            r = (r >> 1) ^ (0xEDB8_8320 & (r & 1).wrapping_neg());
        }
        r
    }

    /// `crc`, the kernel `name`, gives the CRC32 of the definition on every length in
    /// `lengths` at every alignment 0..64, on pseudo-random, all-0x00 and all-0xFF bytes.
    fn holds_to_the_definition(
        name: &str,
        lengths: std::ops::Range<usize>,
        crc: &dyn Fn(&[u8]) -> u32,
    ) {
        let size = 64 + lengths.end;
        let inputs = [pseudo_random(size), vec![0x00; size], vec![0xFF; size]];
        for (which, bytes) in inputs.iter().enumerate() {
            for start in 0..64 {
                let mut register = !0u32;
                for len in 0..lengths.end {
                    if lengths.contains(&len) {
                        let data = &bytes[start..start + len];
                        assert_eq!(
                            crc(data),
                            !register,
                            "{name}: input {which} start {start} len {len}"
                        );
                    }
                    register = definition_step(register, bytes[start + len]);
                }
            }
        }
    }

    /// One CRC computed by the code `with_inlined_kernel` runs.
    struct Once<'a>(&'a [u8]);

    impl WithCrc for Once<'_> {
        type Output = u32;
        fn run<C: Crc>(self, crc: C) -> u32 {
            crc.crc32(self.0)
        }
    }

    /// A kernel's name and the function that runs it.
    type Kernel = (&'static str, Box<dyn Fn(&[u8]) -> u32>);

    /// The kernels this CPU runs, and the names of those it cannot. The portable one (what
    /// CPUs without PCLMULQDQ, and other architectures, run for every length) runs
    /// everywhere, so it is held to the definition on every machine.
    fn kernels() -> (Vec<Kernel>, Vec<&'static str>) {
        let mut have: Vec<Kernel> = vec![
            ("portable (crc32fast)", Box::new(wide)),
            ("crc32 (the dispatch)", Box::new(crc32)),
            (
                "with_inlined_kernel",
                Box::new(|data| with_inlined_kernel(Once(data))),
            ),
        ];
        #[allow(unused_mut)] // nothing is lacking on other architectures
        let mut lack = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            match clmul::Sse::detect() {
                Some(cpu) => have.push(("PCLMULQDQ", Box::new(move |data| cpu.crc32(data)))),
                None => lack.push("PCLMULQDQ"),
            }
            match clmul::Avx512::detect() {
                Some(cpu) => {
                    have.push(("AVX-512 VPCLMULQDQ", Box::new(move |data| cpu.crc32(data))))
                }
                None => lack.push("AVX-512 VPCLMULQDQ"),
            }
        }
        (have, lack)
    }

    #[test]
    fn every_kernel_this_cpu_has_matches_the_definition_on_every_length_and_alignment() {
        let (have, lack) = kernels();
        // Every short size class (up to 255 bytes), and past them the fallback.
        for (name, crc) in &have {
            holds_to_the_definition(name, 0..600, crc.as_ref());
        }
        let names: Vec<&str> = have.iter().map(|(name, _)| *name).collect();
        let lack = if lack.is_empty() { vec!["none"] } else { lack };
        let line = format!(
            "CRC32 kernels held to the definition on this CPU: {}; not on this CPU, so not tested: {}\n",
            names.join(", "),
            lack.join(", ")
        );
        // Written to stderr itself, past the test harness's capture (which takes only the
        // print macros): every run, CI's included, says which kernels it tested.
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
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

    /// Carry-less arithmetic modulo P, written apart from the kernels' `const fn`s (square
    /// and multiply here, one multiplication by x at a time there), to recompute their
    /// constants.
    #[cfg(target_arch = "x86_64")]
    mod gf2 {
        /// P with its x^32 term, normal order.
        pub const P: u128 = 0x1_04C1_1DB7;

        pub fn clmul(a: u64, b: u64) -> u128 {
            (0..64)
                .filter(|i| b >> i & 1 == 1)
                .fold(0, |acc, i| acc ^ (u128::from(a) << i))
        }

        pub fn modp(mut v: u128) -> u64 {
            for bit in (32..128).rev() {
                if v >> bit & 1 == 1 {
                    v ^= P << (bit - 32);
                }
            }
            v as u64
        }

        /// x^k mod P.
        pub fn xpow(mut k: u32) -> u64 {
            let (mut result, mut base) = (1, 2);
            while k > 0 {
                if k & 1 == 1 {
                    result = modp(clmul(result, base));
                }
                base = modp(clmul(base, base));
                k >>= 1;
            }
            result
        }

        /// x^k mod P as the kernels hold it: 32 bits reversed, shifted left by one.
        pub fn constant(k: u32) -> u64 {
            u64::from((xpow(k) as u32).reverse_bits()) << 1
        }

        /// `v`, of `bits` bits, bit-reversed.
        pub fn reflect(v: u128, bits: u32) -> u64 {
            (v.reverse_bits() >> (128 - bits)) as u64
        }

        /// floor(x^k / P), by long division.
        pub fn quotient(k: u32) -> u128 {
            let (mut rem, mut quotient) = (1u128 << k, 0u128);
            for bit in (32..=k).rev() {
                if rem >> bit & 1 == 1 {
                    rem ^= P << (bit - 32);
                    quotient |= 1 << (bit - 32);
                }
            }
            quotient
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn constants_are_recomputed_from_the_polynomial() {
        use clmul::avx512::{KEYS, ZERO_CRC};
        // The published constants (Intel's paper, Linux's crc32-pclmul: K3/K4 fold by 128
        // bits, 0x154442bd4 and 0x1c6e41596 by 512) from the independent arithmetic...
        assert_eq!(gf2::constant(128 + 32), 0x1751997d0);
        assert_eq!(gf2::constant(128 - 32), 0x0ccaa009e);
        assert_eq!(gf2::constant(64), 0x163cd6124);
        assert_eq!(gf2::constant(512 + 32), 0x154442bd4);
        assert_eq!(gf2::constant(512 - 32), 0x1c6e41596);
        assert_eq!(gf2::reflect(gf2::P, 33), 0x1DB710641);
        assert_eq!(gf2::reflect(gf2::quotient(64), 33), 0x1F7011641);
        // The 96-bit Barrett constant, its x^0 bit (bit 64 once reflected) left out.
        assert_eq!(clmul::MU, gf2::reflect(gf2::quotient(96), 65));
        // ...and from the kernels' own const fn.
        for k in [0, 1, 31, 32, 33, 64, 96, 160, 480, 544, 2016] {
            assert_eq!(clmul::xpow_mod_p(k) as u64, gf2::xpow(k), "x^{k}");
            assert_eq!(clmul::fold_constant(k), gf2::constant(k), "x^{k}");
        }
        // Every lane's constants of the AVX-512 kernel.
        for (window, keys) in KEYS.iter().enumerate() {
            for lane in 0..4 {
                let d = 128 * (4 * window + 3 - lane) as u32;
                assert_eq!(
                    keys[2 * lane],
                    gf2::constant(d + 96),
                    "window {window} lane {lane}"
                );
                assert_eq!(
                    keys[2 * lane + 1],
                    gf2::constant(d + 32),
                    "window {window} lane {lane}"
                );
            }
        }
        for (n, &crc) in ZERO_CRC.iter().enumerate() {
            assert_eq!(crc, crc32fast::hash(&vec![0; n]), "{n} zero bytes");
        }
    }
}
