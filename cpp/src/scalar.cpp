// Scalar reference for every row primitive. Compiled without auto-vectorisation and without
// floating-point contraction: it is the ground truth the SIMD paths are tested against, so
// it stays as plain as the definitions in dispatch.hpp.
#include <algorithm>
#include <cmath>

#include "fastseg/dispatch.hpp"
#include "scalar_math.hpp"

namespace fastseg {
namespace {

void accumulate_u8_f32(const std::uint8_t* src, float w, float* acc, std::size_t n, bool first) {
    if (first) {
        for (std::size_t i = 0; i < n; ++i) acc[i] = w * float(src[i]);
    } else {
        for (std::size_t i = 0; i < n; ++i) acc[i] = acc[i] + w * float(src[i]);
    }
}

void sum_rows_u8_u16(const std::uint8_t* src, std::ptrdiff_t stride, int rows, std::uint16_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        unsigned s = 0;
        for (int t = 0; t < rows; ++t) s += src[t * stride + std::ptrdiff_t(i)];
        out[i] = std::uint16_t(s);
    }
}

void window_sum_u16(const std::uint16_t* in, std::uint16_t* out, std::size_t n, int taps, int step) {
    for (std::size_t i = 0; i < n; ++i) {
        unsigned s = 0;
        for (int k = 0; k < taps; ++k) s += in[i + std::size_t(k) * step];
        out[i] = std::uint16_t(s);
    }
}

void expand_u8(const std::uint8_t* src, const ExpandChunk* chunks, std::uint8_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = expand_one(src, chunks[i / 8], int(i % 8));
}

void lerp_rows_u8(const std::uint8_t* r0, const std::uint8_t* r1, int fy, std::uint8_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = lerp_u8(r0[i], r1[i], fy);
}

void stretch_u8(const std::uint8_t* in, std::uint8_t* out, std::size_t n, int gain, int offset) {
    for (std::size_t i = 0; i < n; ++i) out[i] = std::uint8_t(std::clamp(gain * in[i] - offset, 0, 255));
}

void composite_row_u8(const std::uint8_t* fg, const std::uint8_t* r0, const std::uint8_t* r1, int fy,
                      const std::uint8_t* a, std::uint8_t* out, std::size_t npix) {
    for (std::size_t i = 0; i < 3 * npix; ++i) out[i] = blend_px(fg[i], lerp_u8(r0[i], r1[i], fy), a[i / 3]);
}

void interleave_rgba(const std::uint8_t* bgr, const std::uint8_t* a, std::uint8_t* rgba, std::size_t npix,
                     bool swap_rb) {
    const int c0 = swap_rb ? 2 : 0, c2 = swap_rb ? 0 : 2;
    for (std::size_t i = 0; i < npix; ++i) {
        rgba[4 * i + 0] = bgr[3 * i + c0];
        rgba[4 * i + 1] = bgr[3 * i + 1];
        rgba[4 * i + 2] = bgr[3 * i + c2];
        rgba[4 * i + 3] = a[i];
    }
}

void sigmoid_f32(const float* fg, const float* bg, float* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const float x = bg ? fg[i] - bg[i] : fg[i];
        out[i] = 1.0f / (1.0f + std::exp(-x));
    }
}

void ema_f32(const float* cur, float* state, float s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) state[i] = s * state[i] + (1.0f - s) * cur[i];
}

void smoothstep_f32(const float* x, float* out, float lo, float hi, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = smoothstep(x[i], lo, hi);
}

void affine_u8(const float* a, const float* b, const float* g, std::uint8_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = unit_to_u8(a[i] * g[i] + b[i]);
}

void pack_bits(const std::uint8_t* mask, std::uint8_t threshold, std::uint8_t* bits, std::size_t npix) {
    for (std::size_t i = 0; i < npix; i += 8) {
        std::uint8_t byte = 0;
        for (std::size_t j = 0; j < 8 && i + j < npix; ++j)
            if (mask[i + j] >= threshold) byte |= std::uint8_t(1u << j);
        bits[i / 8] = byte;
    }
}

void unpack_bits(const std::uint8_t* bits, std::uint8_t* mask, std::size_t npix) {
    for (std::size_t i = 0; i < npix; ++i) mask[i] = (bits[i / 8] >> (i % 8)) & 1 ? 255 : 0;
}

}  // namespace

const RowKernels& scalar_kernels() {
    static const RowKernels k{"scalar",        accumulate_u8_f32, sum_rows_u8_u16, window_sum_u16, expand_u8, lerp_rows_u8, stretch_u8, composite_row_u8,
                              interleave_rgba, sigmoid_f32,       ema_f32,          smoothstep_f32, affine_u8,
                              pack_bits,       unpack_bits};
    return k;
}

}  // namespace fastseg
