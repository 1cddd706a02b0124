// Runtime instruction-set dispatch.
//
// The SIMD work of every kernel is expressed as a handful of row primitives. Each
// instruction set fills one RowKernels table; the frame-level algorithms in cpp/src call
// through the active table, so forcing an ISA (tests, benchmarks) switches every kernel at once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fastseg {

// Eight outputs of a bilinear row expansion: out[8k + j] = (src[offset + idx[j]] * w0[j] +
// src[offset + idx[8 + j]] * w1[j] + 64) >> 7, with w0 + w1 = 128. Every source byte a chunk needs lies within 16 bytes of
// its offset, so a SIMD path can fetch them with one load and one byte shuffle.
struct ExpandChunk {
    std::int32_t offset;
    std::uint8_t idx[16];
    std::int16_t w0[8], w1[8];
};

struct RowKernels {
    const char* isa;

    // acc[i] (+)= w * src[i]; `first` overwrites instead of accumulating.
    void (*accumulate_u8_f32)(const std::uint8_t* src, float w, float* acc, std::size_t n, bool first);

    // out[i] = sum of src[t * stride + i] for t < rows, in 16 bits (rows <= 257).
    void (*sum_rows_u8_u16)(const std::uint8_t* src, std::ptrdiff_t stride, int rows, std::uint16_t* out, std::size_t n);

    // out[i] = sum of in[i + k * step] for k < taps: sliding sums along a row, e.g. of `taps`
    // whole pixels of `step` interleaved channels. Reads in[0 .. n + (taps - 1) * step).
    void (*window_sum_u16)(const std::uint16_t* in, std::uint16_t* out, std::size_t n, int taps, int step);

    // Bilinear horizontal expansion of a u8 row to n u8 values (see ExpandChunk), rounded;
    // src must stay readable for 16 bytes past the last chunk's offset.
    void (*expand_u8)(const std::uint8_t* src, const ExpandChunk* chunks, std::uint8_t* out, std::size_t n);

    // Vertical blend of two rows: out[i] = (r0[i] * (128 - fy) + r1[i] * fy + 64) >> 7, fy in 0..128.
    void (*lerp_rows_u8)(const std::uint8_t* r0, const std::uint8_t* r1, int fy, std::uint8_t* out, std::size_t n);

    // out[i] = clamp(gain * in[i] - offset, 0, 255) in 16 bits (|gain| * 255 and |offset| < 32768);
    // in may be out.
    void (*stretch_u8)(const std::uint8_t* in, std::uint8_t* out, std::size_t n, int gain, int offset);

    // The final composite of one row of npix interleaved 3-channel pixels:
    // out[3i + c] = round((fg * a[i] + bg * (255 - a[i])) / 255), exact, where the background
    // bg = lerp_rows_u8(r0, r1, fy)[3i + c] is blended from two rows on the fly (fy == 0: r0 itself).
    void (*composite_row_u8)(const std::uint8_t* fg, const std::uint8_t* r0, const std::uint8_t* r1, int fy,
                             const std::uint8_t* a, std::uint8_t* out, std::size_t npix);

    // rgba[4i..4i+3] = (bgr[3i..3i+2] in the requested order, a[i]).
    void (*interleave_rgba)(const std::uint8_t* bgr, const std::uint8_t* a, std::uint8_t* rgba, std::size_t npix,
                            bool swap_rb);

    // out[i] = 1 / (1 + exp(bg[i] - fg[i])); bg == nullptr gives the plain sigmoid of fg.
    void (*sigmoid_f32)(const float* fg, const float* bg, float* out, std::size_t n);

    // state[i] = s * state[i] + (1 - s) * cur[i]
    void (*ema_f32)(const float* cur, float* state, float s, std::size_t n);

    // out = smoothstep(lo, hi, x); hi <= lo is a hard threshold at lo.
    void (*smoothstep_f32)(const float* x, float* out, float lo, float hi, std::size_t n);

    // out[i] = clamp(round(255 * (a[i] * g[i] + b[i])), 0, 255): the guided filter's output step.
    void (*affine_u8)(const float* a, const float* b, const float* g, std::uint8_t* out, std::size_t n);

    // bit (i % 8) of bits[i / 8] = (mask[i] >= threshold): LSB first, ceil(npix / 8) bytes written.
    // Little-endian 16-bit words are the same bit stream, so one primitive serves both widths.
    void (*pack_bits)(const std::uint8_t* mask, std::uint8_t threshold, std::uint8_t* bits, std::size_t npix);
    // mask[i] = bit i ? 255 : 0
    void (*unpack_bits)(const std::uint8_t* bits, std::uint8_t* mask, std::size_t npix);
};

// Names usable on this machine, best last: e.g. {"scalar", "sse2", "avx2"}.
std::vector<std::string> available_isas();
// Force an ISA (tests, benchmarks), or "auto" for the best; throws std::invalid_argument if it is not available.
void set_isa(const std::string& name);
const char* current_isa();
const RowKernels& kernels();

// One table per instruction set, defined in cpp/src/scalar.cpp and cpp/src/simd/*.cpp.
const RowKernels& scalar_kernels();
#if defined(FASTSEG_HAVE_X86)
const RowKernels& sse2_kernels();
const RowKernels& avx2_kernels();
#endif
#if defined(FASTSEG_HAVE_AVX512)
const RowKernels& avx512_kernels();
#endif
#if defined(FASTSEG_HAVE_NEON)
const RowKernels& neon_kernels();
#endif

}  // namespace fastseg
