// AVX2 row primitives (compiled with -mavx2 -mfma; chosen at run time only when the CPU has
// both). FMA is deliberately not used: mul-then-add keeps float results identical to the
// scalar reference, so integer outputs are bit-exact across instruction sets.
#include <immintrin.h>

#include "../scalar_math.hpp"
#include "fastseg/dispatch.hpp"

namespace fastseg {
namespace {

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline void store256(void* p, __m256i v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }

void accumulate_u8_f32(const std::uint8_t* src, float w, float* acc, std::size_t n, bool first) {
    const __m256 vw = _mm256_set1_ps(w);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        __m256 v0 = _mm256_mul_ps(vw, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b)));
        __m256 v1 = _mm256_mul_ps(vw, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8))));
        if (!first) {
            v0 = _mm256_add_ps(_mm256_loadu_ps(acc + i), v0);
            v1 = _mm256_add_ps(_mm256_loadu_ps(acc + i + 8), v1);
        }
        _mm256_storeu_ps(acc + i, v0);
        _mm256_storeu_ps(acc + i + 8, v1);
    }
    for (; i < n; ++i) acc[i] = first ? w * float(src[i]) : acc[i] + w * float(src[i]);
}

// The running sums stay in registers across the rows; each output is stored once.
void sum_rows_u8_u16(const std::uint8_t* src, std::ptrdiff_t stride, int rows, std::uint16_t* out, std::size_t n) {
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i lo = _mm256_setzero_si256(), hi = lo;
        for (int t = 0; t < rows; ++t) {
            const std::uint8_t* p = src + t * stride + std::ptrdiff_t(i);
            lo = _mm256_add_epi16(lo, _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
            hi = _mm256_add_epi16(hi, _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16))));
        }
        store256(out + i, lo);
        store256(out + i + 16, hi);
    }
    if (i < n) scalar_kernels().sum_rows_u8_u16(src + i, stride, rows, out + i, n - i);
}

void window_sum_u16(const std::uint16_t* in, std::uint16_t* out, std::size_t n, int taps, int step) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i s = load256(in + i);
        for (int k = 1; k < taps; ++k) s = _mm256_add_epi16(s, load256(in + i + std::size_t(k) * step));
        store256(out + i, s);
    }
    if (i < n) scalar_kernels().window_sum_u16(in + i, out + i, n - i, taps, step);
}

// Two chunks per step: each lane loads its chunk's 16-byte window and shuffles out the
// first and second taps, which unpack to 8 int16 each.
void expand_u8(const std::uint8_t* src, const ExpandChunk* chunks, std::uint8_t* out, std::size_t n) {
    const __m256i zero = _mm256_setzero_si256(), half = _mm256_set1_epi16(kLerpOne / 2);
    auto expand16 = [&](const ExpandChunk& c0, const ExpandChunk& c1) {
        const __m256i win = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(src + c1.offset),
                                                reinterpret_cast<const __m128i*>(src + c0.offset));
        const __m256i idx = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(c1.idx),
                                                reinterpret_cast<const __m128i*>(c0.idx));
        const __m256i w0 = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(c1.w0),
                                               reinterpret_cast<const __m128i*>(c0.w0));
        const __m256i w1 = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(c1.w1),
                                               reinterpret_cast<const __m128i*>(c0.w1));
        const __m256i taps = _mm256_shuffle_epi8(win, idx);
        const __m256i a = _mm256_unpacklo_epi8(taps, zero), b = _mm256_unpackhi_epi8(taps, zero);
        const __m256i v = _mm256_add_epi16(_mm256_add_epi16(_mm256_mullo_epi16(a, w0), _mm256_mullo_epi16(b, w1)), half);
        return _mm256_srli_epi16(v, kLerpBits);  // lane 0: chunk 0, lane 1: chunk 1
    };
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const ExpandChunk* c = chunks + i / 8;
        const __m256i v = _mm256_packus_epi16(expand16(c[0], c[1]), expand16(c[2], c[3]));  // 0 2 | 1 3
        store256(out + i, _mm256_permute4x64_epi64(v, _MM_SHUFFLE(3, 1, 2, 0)));
    }
    for (; i < n; ++i) out[i] = expand_one(src, chunks[i / 8], int(i % 8));
}

// maddubs multiplies unsigned by signed bytes: the weights (0..128) go unsigned and the
// pixels are shifted to signed by -128, which the constant 128 * 128 puts back.
struct RowLerp {
    __m256i w, flip = _mm256_set1_epi8(char(0x80)), bias = _mm256_set1_epi16(128 * kLerpOne + kLerpOne / 2);
    explicit RowLerp(int fy) : w(_mm256_set1_epi16(short((kLerpOne - fy) | (fy << 8)))) {}

    __m256i operator()(__m256i r0, __m256i r1) const {
        const __m256i a = _mm256_xor_si256(r0, flip), b = _mm256_xor_si256(r1, flip);
        const __m256i lo = _mm256_add_epi16(_mm256_maddubs_epi16(w, _mm256_unpacklo_epi8(a, b)), bias);
        const __m256i hi = _mm256_add_epi16(_mm256_maddubs_epi16(w, _mm256_unpackhi_epi8(a, b)), bias);
        return _mm256_packus_epi16(_mm256_srli_epi16(lo, kLerpBits), _mm256_srli_epi16(hi, kLerpBits));
    }
};

void lerp_rows_u8(const std::uint8_t* r0, const std::uint8_t* r1, int fy, std::uint8_t* out, std::size_t n) {
    const RowLerp lerp(fy);
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) store256(out + i, lerp(load256(r0 + i), load256(r1 + i)));
    for (; i < n; ++i) out[i] = lerp_u8(r0[i], r1[i], fy);
}

void stretch_u8(const std::uint8_t* in, std::uint8_t* out, std::size_t n, int gain, int offset) {
    const __m256i zero = _mm256_setzero_si256(), g = _mm256_set1_epi16(short(gain)), o = _mm256_set1_epi16(short(offset));
    auto stretch16 = [&](__m256i v) { return _mm256_sub_epi16(_mm256_mullo_epi16(v, g), o); };
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256i v = load256(in + i);  // unpack and pack both work within 128-bit lanes: order kept
        store256(out + i, _mm256_packus_epi16(stretch16(_mm256_unpacklo_epi8(v, zero)), stretch16(_mm256_unpackhi_epi8(v, zero))));
    }
    if (i < n) scalar_kernels().stretch_u8(in + i, out + i, n - i, gain, offset);
}

// maddubs on (a, 255 - a) unsigned and (fg, bg) shifted to signed gives
// fg * a + bg * (255 - a) - 128 * 255 in int16; adding 128 * 255 + 128 as a u16 wrap-around
// restores the sum plus the rounding term, then (x + (x >> 8)) >> 8 divides by 255 exactly.
inline __m256i blend32(__m256i fg, __m256i bg, __m256i a) {
    const __m256i flip = _mm256_set1_epi8(char(0x80)), c255 = _mm256_set1_epi8(char(255));
    const __m256i bias = _mm256_set1_epi16(short(128 * 255 + 128));
    auto div255 = [](__m256i x) { return _mm256_srli_epi16(_mm256_add_epi16(x, _mm256_srli_epi16(x, 8)), 8); };
    const __m256i f = _mm256_xor_si256(fg, flip), b = _mm256_xor_si256(bg, flip), wb = _mm256_sub_epi8(c255, a);
    const __m256i lo = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_unpacklo_epi8(a, wb), _mm256_unpacklo_epi8(f, b)), bias);
    const __m256i hi = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_unpackhi_epi8(a, wb), _mm256_unpackhi_epi8(f, b)), bias);
    return _mm256_packus_epi16(div255(lo), div255(hi));
}

// 16 alphas in a lane become 48 bytes through three shuffles; two lanes carry 32 pixels.
inline void spread_alpha3(__m256i v, __m256i a3[3]) {
    const __m256i m0 = _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5));
    const __m256i m1 = _mm256_broadcastsi128_si256(_mm_setr_epi8(5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10));
    const __m256i m2 = _mm256_broadcastsi128_si256(_mm_setr_epi8(10, 11, 11, 11, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15));
    const __m256i s0 = _mm256_shuffle_epi8(v, m0), s1 = _mm256_shuffle_epi8(v, m1), s2 = _mm256_shuffle_epi8(v, m2);
    a3[0] = _mm256_permute2x128_si256(s0, s1, 0x20);
    a3[1] = _mm256_permute2x128_si256(s2, s0, 0x30);
    a3[2] = _mm256_permute2x128_si256(s1, s2, 0x31);
}

// 32 pixels (96 bytes) a step. Most of a real mask is all person or all background: such
// steps copy the frame, or write the background without blending.
void composite_row_u8(const std::uint8_t* fg, const std::uint8_t* r0, const std::uint8_t* r1, int fy,
                      const std::uint8_t* a, std::uint8_t* out, std::size_t npix) {
    const RowLerp lerp(fy);
    const __m256i zero = _mm256_setzero_si256(), c255 = _mm256_set1_epi8(char(255));
    auto background = [&](std::size_t j) { return fy ? lerp(load256(r0 + j), load256(r1 + j)) : load256(r0 + j); };
    std::size_t i = 0;
    for (; i + 32 <= npix; i += 32) {
        const std::size_t j = 3 * i;
        const __m256i av = load256(a + i);
        if (unsigned(_mm256_movemask_epi8(_mm256_cmpeq_epi8(av, c255))) == 0xFFFFFFFFu) {
            for (int k = 0; k < 3; ++k) store256(out + j + 32 * k, load256(fg + j + 32 * k));
        } else if (unsigned(_mm256_movemask_epi8(_mm256_cmpeq_epi8(av, zero))) == 0xFFFFFFFFu) {
            for (int k = 0; k < 3; ++k) store256(out + j + 32 * k, background(j + 32 * k));
        } else {
            __m256i a3[3];
            spread_alpha3(av, a3);
            for (int k = 0; k < 3; ++k)
                store256(out + j + 32 * k, blend32(load256(fg + j + 32 * k), background(j + 32 * k), a3[k]));
        }
    }
    if (i < npix) scalar_kernels().composite_row_u8(fg + 3 * i, r0 + 3 * i, r1 + 3 * i, fy, a + i, out + 3 * i, npix - i);
}

void interleave_rgba(const std::uint8_t* bgr, const std::uint8_t* a, std::uint8_t* rgba, std::size_t npix,
                     bool swap_rb) {
    const char z = -128;  // pshufb writes 0 for indices with the top bit set
    const __m256i mc = swap_rb ? _mm256_broadcastsi128_si256(_mm_setr_epi8(2, 1, 0, z, 5, 4, 3, z, 8, 7, 6, z, 11, 10, 9, z))
                               : _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 1, 2, z, 3, 4, 5, z, 6, 7, 8, z, 9, 10, 11, z));
    const __m256i ma = _mm256_setr_epi8(z, z, z, 0, z, z, z, 1, z, z, z, 2, z, z, z, 3,  //
                                        z, z, z, 4, z, z, z, 5, z, z, z, 6, z, z, z, 7);
    std::size_t i = 0;
    // Each step reads 16 bytes at 3 * (i + 4): stop while that stays inside the 3 * npix input.
    for (; i + 10 <= npix; i += 8) {
        const __m256i c = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(bgr + 3 * i + 12),
                                              reinterpret_cast<const __m128i*>(bgr + 3 * i));
        const __m256i al = _mm256_broadcastq_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + i)));
        store256(rgba + 4 * i, _mm256_or_si256(_mm256_shuffle_epi8(c, mc), _mm256_shuffle_epi8(al, ma)));
    }
    if (i < npix) scalar_kernels().interleave_rgba(bgr + 3 * i, a + i, rgba + 4 * i, npix - i, swap_rb);
}

inline __m256 exp_ps(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-88.0f), x));  // NaN passes through
    const __m256 n = _mm256_floor_ps(_mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _mm256_set1_ps(0.5f)));
    x = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f)));
    x = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(-2.12194440e-4f)));
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_add_ps(_mm256_mul_ps(p, x), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, x), _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, x), _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, x), _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, x), _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, x), x), x), _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void sigmoid_f32(const float* fg, const float* bg, float* out, std::size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(fg + i);
        if (bg) x = _mm256_sub_ps(x, _mm256_loadu_ps(bg + i));
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x));
        _mm256_storeu_ps(out + i, _mm256_div_ps(one, _mm256_add_ps(one, e)));
    }
    if (i < n) scalar_kernels().sigmoid_f32(fg + i, bg ? bg + i : nullptr, out + i, n - i);
}

void ema_f32(const float* cur, float* state, float s, std::size_t n) {
    const __m256 vs = _mm256_set1_ps(s), vr = _mm256_set1_ps(1.0f - s);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_add_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(state + i)),
                                       _mm256_mul_ps(vr, _mm256_loadu_ps(cur + i)));
        _mm256_storeu_ps(state + i, v);
    }
    if (i < n) scalar_kernels().ema_f32(cur + i, state + i, s, n - i);
}

void smoothstep_f32(const float* x, float* out, float lo, float hi, std::size_t n) {
    std::size_t i = 0;
    const __m256 vlo = _mm256_set1_ps(lo), one = _mm256_set1_ps(1.0f);
    if (hi > lo) {
        const __m256 span = _mm256_set1_ps(hi - lo), zero = _mm256_setzero_ps();
        const __m256 two = _mm256_set1_ps(2.0f), three = _mm256_set1_ps(3.0f);
        for (; i + 8 <= n; i += 8) {
            __m256 t = _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vlo), span);
            t = _mm256_min_ps(one, _mm256_max_ps(zero, t));  // NaN passes through
            _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(t, t), _mm256_sub_ps(three, _mm256_mul_ps(two, t))));
        }
    } else {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(out + i, _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), vlo, _CMP_GE_OQ), one));
    }
    if (i < n) scalar_kernels().smoothstep_f32(x + i, out + i, lo, hi, n - i);
}

void affine_u8(const float* a, const float* b, const float* g, std::uint8_t* out, std::size_t n) {
    const __m256 c255 = _mm256_set1_ps(255.0f), half = _mm256_set1_ps(0.5f), zero = _mm256_setzero_ps();
    auto quant8 = [&](std::size_t j) {
        __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(g + j)), _mm256_loadu_ps(b + j));
        v = _mm256_add_ps(_mm256_mul_ps(v, c255), half);
        v = _mm256_min_ps(_mm256_max_ps(v, zero), c255);
        return _mm256_cvttps_epi32(v);
    };
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256i lo = _mm256_packs_epi32(quant8(i), quant8(i + 8));        // in-lane: 0-3 8-11 | 4-7 12-15
        const __m256i hi = _mm256_packs_epi32(quant8(i + 16), quant8(i + 24));  // 16-19 24-27 | 20-23 28-31
        const __m256i v = _mm256_packus_epi16(lo, hi);  // dwords: 0-3 8-11 16-19 24-27 | 4-7 12-15 20-23 28-31
        store256(out + i, _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
    for (; i < n; ++i) out[i] = unit_to_u8(a[i] * g[i] + b[i]);
}

void pack_bits(const std::uint8_t* mask, std::uint8_t threshold, std::uint8_t* bits, std::size_t npix) {
    const __m256i t = _mm256_set1_epi8(char(threshold));
    std::size_t i = 0;
    for (; i + 32 <= npix; i += 32) {
        const __m256i v = load256(mask + i);
        const unsigned m = unsigned(_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(v, t), v)));
        for (int k = 0; k < 4; ++k) bits[i / 8 + k] = std::uint8_t(m >> (8 * k));
    }
    if (i < npix) scalar_kernels().pack_bits(mask + i, threshold, bits + i / 8, npix - i);
}

void unpack_bits(const std::uint8_t* bits, std::uint8_t* mask, std::size_t npix) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i sel = _mm256_set1_epi64x(0x8040201008040201LL);
    std::size_t i = 0;
    for (; i + 32 <= npix; i += 32) {
        std::uint32_t word = std::uint32_t(bits[i / 8]) | std::uint32_t(bits[i / 8 + 1]) << 8 |
                             std::uint32_t(bits[i / 8 + 2]) << 16 | std::uint32_t(bits[i / 8 + 3]) << 24;
        const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int(word)), spread);
        store256(mask + i, _mm256_cmpeq_epi8(_mm256_and_si256(v, sel), sel));
    }
    if (i < npix) scalar_kernels().unpack_bits(bits + i / 8, mask + i, npix - i);
}

}  // namespace

const RowKernels& avx2_kernels() {
    static const RowKernels k{"avx2",          accumulate_u8_f32, sum_rows_u8_u16, window_sum_u16, expand_u8, lerp_rows_u8, stretch_u8, composite_row_u8,
                              interleave_rgba, sigmoid_f32,       ema_f32,          smoothstep_f32, affine_u8,
                              pack_bits,       unpack_bits};
    return k;
}

}  // namespace fastseg
