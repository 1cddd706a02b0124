// SSE2 row primitives: the x86-64 baseline, so every x86 machine runs at least this.
// Tails fall back to the scalar definitions in scalar_math.hpp.
#include <emmintrin.h>

#include <algorithm>
#include <cmath>

#include "../scalar_math.hpp"
#include "fastseg/dispatch.hpp"

namespace fastseg {
namespace {

void accumulate_u8_f32(const std::uint8_t* src, float w, float* acc, std::size_t n, bool first) {
    const __m128 vw = _mm_set1_ps(w);
    const __m128i zero = _mm_setzero_si128();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        const __m128i lo = _mm_unpacklo_epi8(b, zero), hi = _mm_unpackhi_epi8(b, zero);
        const __m128i q[4] = {_mm_unpacklo_epi16(lo, zero), _mm_unpackhi_epi16(lo, zero),
                              _mm_unpacklo_epi16(hi, zero), _mm_unpackhi_epi16(hi, zero)};
        for (int k = 0; k < 4; ++k) {
            __m128 v = _mm_mul_ps(vw, _mm_cvtepi32_ps(q[k]));
            if (!first) v = _mm_add_ps(_mm_loadu_ps(acc + i + 4 * k), v);
            _mm_storeu_ps(acc + i + 4 * k, v);
        }
    }
    for (; i < n; ++i) acc[i] = first ? w * float(src[i]) : acc[i] + w * float(src[i]);
}

// The running sums stay in registers across the rows; each output is stored once.
void sum_rows_u8_u16(const std::uint8_t* src, std::ptrdiff_t stride, int rows, std::uint16_t* out, std::size_t n) {
    const __m128i zero = _mm_setzero_si128();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i lo = zero, hi = zero;
        for (int t = 0; t < rows; ++t) {
            const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + t * stride + std::ptrdiff_t(i)));
            lo = _mm_add_epi16(lo, _mm_unpacklo_epi8(b, zero));
            hi = _mm_add_epi16(hi, _mm_unpackhi_epi8(b, zero));
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), lo);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i + 8), hi);
    }
    if (i < n) scalar_kernels().sum_rows_u8_u16(src + i, stride, rows, out + i, n - i);
}

void window_sum_u16(const std::uint16_t* in, std::uint16_t* out, std::size_t n, int taps, int step) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
        for (int k = 1; k < taps; ++k)
            s = _mm_add_epi16(s, _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i + std::size_t(k) * step)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), s);
    }
    if (i < n) scalar_kernels().window_sum_u16(in + i, out + i, n - i, taps, step);
}

void expand_u8(const std::uint8_t* src, const ExpandChunk* chunks, std::uint8_t* out, std::size_t n) {
    scalar_kernels().expand_u8(src, chunks, out, n);
}

// r0 * (128 - fy) + r1 * fy <= 255 * 128 fits an int16 lane.
void lerp_rows_u8(const std::uint8_t* r0, const std::uint8_t* r1, int fy, std::uint8_t* out, std::size_t n) {
    const __m128i zero = _mm_setzero_si128(), w0 = _mm_set1_epi16(short(kLerpOne - fy)), w1 = _mm_set1_epi16(short(fy));
    const __m128i half = _mm_set1_epi16(kLerpOne / 2);
    auto lerp8 = [&](__m128i a, __m128i b) {
        const __m128i v = _mm_add_epi16(_mm_add_epi16(_mm_mullo_epi16(a, w0), _mm_mullo_epi16(b, w1)), half);
        return _mm_srli_epi16(v, kLerpBits);
    };
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + i));
        const __m128i lo = lerp8(_mm_unpacklo_epi8(a, zero), _mm_unpacklo_epi8(b, zero));
        const __m128i hi = lerp8(_mm_unpackhi_epi8(a, zero), _mm_unpackhi_epi8(b, zero));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(lo, hi));
    }
    for (; i < n; ++i) out[i] = lerp_u8(r0[i], r1[i], fy);
}

void stretch_u8(const std::uint8_t* in, std::uint8_t* out, std::size_t n, int gain, int offset) {
    const __m128i zero = _mm_setzero_si128(), g = _mm_set1_epi16(short(gain)), o = _mm_set1_epi16(short(offset));
    auto stretch8 = [&](__m128i v) { return _mm_sub_epi16(_mm_mullo_epi16(v, g), o); };
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
        const __m128i lo = stretch8(_mm_unpacklo_epi8(v, zero)), hi = stretch8(_mm_unpackhi_epi8(v, zero));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(lo, hi));  // saturates to 0..255
    }
    if (i < n) scalar_kernels().stretch_u8(in + i, out + i, n - i, gain, offset);
}

// (fg * a + bg * (255 - a) + 128), then the exact division by 255, on 8 u16 lanes.
inline __m128i blend_u16(__m128i fg, __m128i bg, __m128i a) {
    const __m128i c255 = _mm_set1_epi16(255), c128 = _mm_set1_epi16(128);
    __m128i x = _mm_add_epi16(_mm_mullo_epi16(fg, a), _mm_mullo_epi16(bg, _mm_sub_epi16(c255, a)));
    x = _mm_add_epi16(x, c128);
    return _mm_srli_epi16(_mm_add_epi16(x, _mm_srli_epi16(x, 8)), 8);
}

void blend_u8(const std::uint8_t* fg, const std::uint8_t* bg, const std::uint8_t* a, std::uint8_t* out,
              std::size_t n) {
    const __m128i zero = _mm_setzero_si128();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i f = _mm_loadu_si128(reinterpret_cast<const __m128i*>(fg + i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bg + i));
        const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
        const __m128i lo = blend_u16(_mm_unpacklo_epi8(f, zero), _mm_unpacklo_epi8(b, zero), _mm_unpacklo_epi8(w, zero));
        const __m128i hi = blend_u16(_mm_unpackhi_epi8(f, zero), _mm_unpackhi_epi8(b, zero), _mm_unpackhi_epi8(w, zero));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(lo, hi));
    }
    for (; i < n; ++i) out[i] = blend_px(fg[i], bg[i], a[i]);
}

// SSE2 has no byte shuffle: the alpha is spread in scalar code, a block of pixels at a time
// on the stack, then the background and the blend run vectorised.
void composite_row_u8(const std::uint8_t* fg, const std::uint8_t* r0, const std::uint8_t* r1, int fy,
                      const std::uint8_t* a, std::uint8_t* out, std::size_t npix) {
    constexpr std::size_t kBlock = 256;
    std::uint8_t a3[3 * kBlock], bg[3 * kBlock];
    for (std::size_t i = 0; i < npix; i += kBlock) {
        const std::size_t m = std::min(kBlock, npix - i), at = 3 * i;
        for (std::size_t j = 0; j < m; ++j) a3[3 * j] = a3[3 * j + 1] = a3[3 * j + 2] = a[i + j];
        const std::uint8_t* b = r0 + at;
        if (fy != 0) {
            lerp_rows_u8(r0 + at, r1 + at, fy, bg, 3 * m);
            b = bg;
        }
        blend_u8(fg + at, b, a3, out + at, 3 * m);
    }
}

void interleave_rgba(const std::uint8_t* bgr, const std::uint8_t* a, std::uint8_t* rgba, std::size_t npix,
                     bool swap_rb) {
    scalar_kernels().interleave_rgba(bgr, a, rgba, npix, swap_rb);
}

inline __m128 floor_ps(__m128 x) {
    const __m128 t = _mm_cvtepi32_ps(_mm_cvttps_epi32(x));
    return _mm_sub_ps(t, _mm_and_ps(_mm_cmpgt_ps(t, x), _mm_set1_ps(1.0f)));
}

// Cephes expf: exp(x) = 2^n * exp(r), |r| <= ln2 / 2, relative error about 1e-7.
inline __m128 exp_ps(__m128 x) {
    x = _mm_min_ps(_mm_set1_ps(88.0f), _mm_max_ps(_mm_set1_ps(-88.0f), x));  // NaN passes through, as in std::exp
    const __m128 n = floor_ps(_mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(1.44269504088896341f)), _mm_set1_ps(0.5f)));
    x = _mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(0.693359375f)));
    x = _mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(-2.12194440e-4f)));
    __m128 p = _mm_set1_ps(1.9875691500e-4f);
    p = _mm_add_ps(_mm_mul_ps(p, x), _mm_set1_ps(1.3981999507e-3f));
    p = _mm_add_ps(_mm_mul_ps(p, x), _mm_set1_ps(8.3334519073e-3f));
    p = _mm_add_ps(_mm_mul_ps(p, x), _mm_set1_ps(4.1665795894e-2f));
    p = _mm_add_ps(_mm_mul_ps(p, x), _mm_set1_ps(1.6666665459e-1f));
    p = _mm_add_ps(_mm_mul_ps(p, x), _mm_set1_ps(5.0000001201e-1f));
    p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_mul_ps(p, x), x), x), _mm_set1_ps(1.0f));
    const __m128i e = _mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(n), _mm_set1_epi32(127)), 23);
    return _mm_mul_ps(p, _mm_castsi128_ps(e));
}

void sigmoid_f32(const float* fg, const float* bg, float* out, std::size_t n) {
    const __m128 one = _mm_set1_ps(1.0f);
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_loadu_ps(fg + i);
        if (bg) x = _mm_sub_ps(x, _mm_loadu_ps(bg + i));
        _mm_storeu_ps(out + i, _mm_div_ps(one, _mm_add_ps(one, exp_ps(_mm_sub_ps(_mm_setzero_ps(), x)))));
    }
    if (i < n) scalar_kernels().sigmoid_f32(fg + i, bg ? bg + i : nullptr, out + i, n - i);
}

void ema_f32(const float* cur, float* state, float s, std::size_t n) {
    const __m128 vs = _mm_set1_ps(s), vr = _mm_set1_ps(1.0f - s);
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m128 v = _mm_add_ps(_mm_mul_ps(vs, _mm_loadu_ps(state + i)), _mm_mul_ps(vr, _mm_loadu_ps(cur + i)));
        _mm_storeu_ps(state + i, v);
    }
    if (i < n) scalar_kernels().ema_f32(cur + i, state + i, s, n - i);
}

void smoothstep_f32(const float* x, float* out, float lo, float hi, std::size_t n) {
    std::size_t i = 0;
    if (hi > lo) {
        const __m128 vlo = _mm_set1_ps(lo), span = _mm_set1_ps(hi - lo);
        const __m128 zero = _mm_setzero_ps(), one = _mm_set1_ps(1.0f), two = _mm_set1_ps(2.0f), three = _mm_set1_ps(3.0f);
        for (; i + 4 <= n; i += 4) {
            __m128 t = _mm_div_ps(_mm_sub_ps(_mm_loadu_ps(x + i), vlo), span);
            t = _mm_min_ps(one, _mm_max_ps(zero, t));  // NaN passes through, as in the scalar
            _mm_storeu_ps(out + i, _mm_mul_ps(_mm_mul_ps(t, t), _mm_sub_ps(three, _mm_mul_ps(two, t))));
        }
    } else {
        const __m128 vlo = _mm_set1_ps(lo), one = _mm_set1_ps(1.0f);
        for (; i + 4 <= n; i += 4) _mm_storeu_ps(out + i, _mm_and_ps(_mm_cmpge_ps(_mm_loadu_ps(x + i), vlo), one));
    }
    if (i < n) scalar_kernels().smoothstep_f32(x + i, out + i, lo, hi, n - i);
}

void affine_u8(const float* a, const float* b, const float* g, std::uint8_t* out, std::size_t n) {
    const __m128 c255 = _mm_set1_ps(255.0f), half = _mm_set1_ps(0.5f), zero = _mm_setzero_ps();
    auto quant4 = [&](std::size_t j) {
        __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(a + j), _mm_loadu_ps(g + j)), _mm_loadu_ps(b + j));
        v = _mm_add_ps(_mm_mul_ps(v, c255), half);
        v = _mm_min_ps(_mm_max_ps(v, zero), c255);
        return _mm_cvttps_epi32(v);
    };
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i lo = _mm_packs_epi32(quant4(i), quant4(i + 4));
        const __m128i hi = _mm_packs_epi32(quant4(i + 8), quant4(i + 12));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(lo, hi));
    }
    for (; i < n; ++i) out[i] = unit_to_u8(a[i] * g[i] + b[i]);
}

void pack_bits(const std::uint8_t* mask, std::uint8_t threshold, std::uint8_t* bits, std::size_t npix) {
    const __m128i t = _mm_set1_epi8(char(threshold));
    std::size_t i = 0;
    for (; i + 16 <= npix; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(mask + i));
        const int m = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, t), v));
        bits[i / 8] = std::uint8_t(m);
        bits[i / 8 + 1] = std::uint8_t(m >> 8);
    }
    if (i < npix) scalar_kernels().pack_bits(mask + i, threshold, bits + i / 8, npix - i);
}

void unpack_bits(const std::uint8_t* bits, std::uint8_t* mask, std::size_t npix) {
    const __m128i sel = _mm_set_epi8(-128, 64, 32, 16, 8, 4, 2, 1, -128, 64, 32, 16, 8, 4, 2, 1);
    std::size_t i = 0;
    for (; i + 16 <= npix; i += 16) {
        const __m128i v = _mm_unpacklo_epi64(_mm_set1_epi8(char(bits[i / 8])), _mm_set1_epi8(char(bits[i / 8 + 1])));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(mask + i), _mm_cmpeq_epi8(_mm_and_si128(v, sel), sel));
    }
    if (i < npix) scalar_kernels().unpack_bits(bits + i / 8, mask + i, npix - i);
}

}  // namespace

const RowKernels& sse2_kernels() {
    static const RowKernels k{"sse2",          accumulate_u8_f32, sum_rows_u8_u16, window_sum_u16, expand_u8, lerp_rows_u8, stretch_u8, composite_row_u8,
                              interleave_rgba, sigmoid_f32,       ema_f32,          smoothstep_f32, affine_u8,
                              pack_bits,       unpack_bits};
    return k;
}

}  // namespace fastseg
