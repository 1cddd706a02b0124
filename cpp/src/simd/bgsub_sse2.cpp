// SSE2 row primitives of the background subtractor: the x86-64 baseline. Splitting BGR needs
// a byte shuffle (SSSE3), so gray conversion and deinterleaving stay scalar on this tier.
#include <emmintrin.h>

#include <cstring>

#include "../bgsub_kernels.hpp"

namespace fastseg {
namespace {

inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline void store128(void* p, __m128i v) { _mm_storeu_si128(static_cast<__m128i*>(p), v); }

void hblur_u8_u16(const std::uint8_t* src, const std::uint16_t* w, int ksize, std::uint16_t* out, std::size_t n) {
    const int r = ksize / 2;
    const __m128i zero = _mm_setzero_si128();
    auto px8 = [&](std::size_t at) { return _mm_unpacklo_epi8(_mm_loadl_epi64(static_cast<const __m128i*>(
                                                                  static_cast<const void*>(src + at))),
                                                              zero); };
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i acc = _mm_mullo_epi16(px8(i + r), _mm_set1_epi16(short(w[r])));
        for (int k = 0; k < r; ++k) {
            const __m128i pair = _mm_add_epi16(px8(i + k), px8(i + ksize - 1 - k));  // symmetric taps
            acc = _mm_add_epi16(acc, _mm_mullo_epi16(pair, _mm_set1_epi16(short(w[k]))));
        }
        store128(out + i, acc);
    }
    for (; i < n; ++i) out[i] = hblur_px(src + i, w, ksize);
}

// As the AVX2 version: rows biased to signed and interleaved in pairs, one madd per two taps.
void vblur_u16_u8(const std::uint16_t* const* rows, const std::uint16_t* w, int ksize, std::uint8_t* out,
                  std::size_t n) {
    const __m128i flip = _mm_set1_epi16(short(0x8000)), bias = _mm_set1_epi32(32768 * 256 + 32768);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i lo = bias, hi = bias;
        for (int k = 0; k < ksize; k += 2) {
            const bool pair = k + 1 < ksize;
            const __m128i taps = _mm_set1_epi32(int(w[k]) | (pair ? int(w[k + 1]) << 16 : 0));
            const __m128i a = _mm_xor_si128(load128(rows[k] + i), flip);
            const __m128i b = pair ? _mm_xor_si128(load128(rows[k + 1] + i), flip) : _mm_setzero_si128();
            lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(a, b), taps));
            hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(a, b), taps));
        }
        const __m128i v = _mm_packs_epi32(_mm_srli_epi32(lo, 16), _mm_srli_epi32(hi, 16));  // <= 255
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(v, v));
    }
    for (; i < n; ++i) out[i] = vblur_px(rows, w, ksize, i);
}

void diff_bits(const std::uint8_t* cur, const std::uint8_t* bg, const std::uint8_t* thr, std::size_t n,
               std::uint64_t* bits, bool accumulate) {
    const __m128i zero = _mm_setzero_si128();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i c = load128(cur + i), b = load128(bg + i);
        const __m128i d = _mm_or_si128(_mm_subs_epu8(c, b), _mm_subs_epu8(b, c));
        const __m128i same = _mm_cmpeq_epi8(_mm_subs_epu8(d, load128(thr + i)), zero);
        std::uint16_t m = std::uint16_t(~_mm_movemask_epi8(same));
        std::uint8_t* word = reinterpret_cast<std::uint8_t*>(bits) + i / 8;  // little-endian: 2 bytes = 16 bits
        if (accumulate) {
            std::uint16_t old;
            std::memcpy(&old, word, 2);
            m = std::uint16_t(m | old);
        }
        std::memcpy(word, &m, 2);
    }
    diff_bits_tail(cur, bg, thr, i, n, bits, accumulate);
}

void update_background(const std::uint8_t* cur, const std::uint8_t* mask, float rate, float* bgf, std::uint8_t* bg8,
                       std::size_t n) {
    const __m128 vr = _mm_set1_ps(rate), half = _mm_set1_ps(0.5f);
    const __m128i zero = _mm_setzero_si128();
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        std::uint32_t m4, c4;
        std::memcpy(&m4, mask + i, 4);
        std::memcpy(&c4, cur + i, 4);
        const __m128i m8 = _mm_cmpeq_epi8(_mm_cvtsi32_si128(int(m4)), zero);
        const __m128 keep = _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(m8, m8), _mm_unpacklo_epi8(m8, m8)));
        const __m128 c = _mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(int(c4)), zero), zero));
        const __m128 old = _mm_loadu_ps(bgf + i);
        const __m128 upd = _mm_add_ps(old, _mm_mul_ps(vr, _mm_sub_ps(c, old)));
        const __m128 v = _mm_or_ps(_mm_and_ps(keep, upd), _mm_andnot_ps(keep, old));
        _mm_storeu_ps(bgf + i, v);
        // bg8 == round(bgf) holds everywhere, so rounding the unchanged lanes rewrites their old value.
        const __m128i q = _mm_cvttps_epi32(_mm_add_ps(v, half));
        const __m128i packed = _mm_packus_epi16(_mm_packs_epi32(q, q), zero);
        const std::uint32_t b4 = std::uint32_t(_mm_cvtsi128_si32(packed));
        std::memcpy(bg8 + i, &b4, 4);
    }
    for (; i < n; ++i)
        if (mask[i] == 0) update_px(cur[i], rate, bgf[i], bg8[i]);
}

}  // namespace

const BgsubKernels& bgsub_sse2_kernels() {
    const BgsubKernels& scalar = bgsub_scalar_kernels();
    static const BgsubKernels k{"sse2", scalar.bgr_to_gray, scalar.deinterleave3, hblur_u8_u16, vblur_u16_u8,
                                diff_bits, update_background};
    return k;
}

}  // namespace fastseg
