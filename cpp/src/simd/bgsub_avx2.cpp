// AVX2 row primitives of the background subtractor (compiled with -mavx2 -mfma, chosen at run
// time only when the CPU has both). No FMA: the float update multiplies then adds, like the
// scalar reference, so every output is bit-exact across instruction sets.
#include <immintrin.h>

#include <cstring>

#include "../bgsub_kernels.hpp"

namespace fastseg {
namespace {

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline void store256(void* p, __m256i v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
inline __m256i load2x128(const std::uint8_t* hi, const std::uint8_t* lo) {
    return _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(hi), reinterpret_cast<const __m128i*>(lo));
}

// 32 interleaved BGR pixels (96 bytes) -> their B, G and R bytes, lane 0 pixels 0..15 and
// lane 1 pixels 16..31: each 48-byte half is spread over three registers and gathered back
// with one byte shuffle per register and channel.
struct Planes32 {
    __m256i b, g, r;
};

inline Planes32 split_bgr32(const std::uint8_t* p) {
    const char z = -128;  // pshufb writes 0 for indices with the top bit set
    const __m256i a = load2x128(p + 48, p), b = load2x128(p + 64, p + 16), c = load2x128(p + 80, p + 32);
    auto mask = [](char i0, char i1, char i2, char i3, char i4, char i5, char i6, char i7, char i8, char i9,
                   char i10, char i11, char i12, char i13, char i14, char i15) {
        return _mm256_broadcastsi128_si256(
            _mm_setr_epi8(i0, i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11, i12, i13, i14, i15));
    };
    auto gather = [](__m256i a, __m256i b, __m256i c, __m256i ma, __m256i mb, __m256i mc) {
        return _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(a, ma), _mm256_shuffle_epi8(b, mb)),
                               _mm256_shuffle_epi8(c, mc));
    };
    const __m256i ba = mask(0, 3, 6, 9, 12, 15, z, z, z, z, z, z, z, z, z, z);
    const __m256i bb = mask(z, z, z, z, z, z, 2, 5, 8, 11, 14, z, z, z, z, z);
    const __m256i bc = mask(z, z, z, z, z, z, z, z, z, z, z, 1, 4, 7, 10, 13);
    const __m256i ga = mask(1, 4, 7, 10, 13, z, z, z, z, z, z, z, z, z, z, z);
    const __m256i gb = mask(z, z, z, z, z, 0, 3, 6, 9, 12, 15, z, z, z, z, z);
    const __m256i gc = mask(z, z, z, z, z, z, z, z, z, z, z, 2, 5, 8, 11, 14);
    const __m256i ra = mask(2, 5, 8, 11, 14, z, z, z, z, z, z, z, z, z, z, z);
    const __m256i rb = mask(z, z, z, z, z, 1, 4, 7, 10, 13, z, z, z, z, z, z);
    const __m256i rc = mask(z, z, z, z, z, z, z, z, z, z, 0, 3, 6, 9, 12, 15);
    return {gather(a, b, c, ba, bb, bc), gather(a, b, c, ga, gb, gc), gather(a, b, c, ra, rb, rc)};
}

void bgr_to_gray(const std::uint8_t* bgr, std::uint8_t* gray, std::size_t npix) {
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi16(1);
    const __m256i wbg = _mm256_set1_epi32(kGrayB | (kGrayG << 16));
    const __m256i wr1 = _mm256_set1_epi32(kGrayR | ((1 << (kGrayShift - 1)) << 16));
    // 8 pixels per 32-bit lane group: B*wb + G*wg and R*wr + 1*round through two madds.
    auto dot = [&](__m256i b16, __m256i g16, __m256i r16, bool high) {
        const __m256i bg = high ? _mm256_unpackhi_epi16(b16, g16) : _mm256_unpacklo_epi16(b16, g16);
        const __m256i r1 = high ? _mm256_unpackhi_epi16(r16, one) : _mm256_unpacklo_epi16(r16, one);
        const __m256i sum = _mm256_add_epi32(_mm256_madd_epi16(bg, wbg), _mm256_madd_epi16(r1, wr1));
        return _mm256_srli_epi32(sum, kGrayShift);
    };
    std::size_t i = 0;
    for (; i + 32 <= npix; i += 32) {
        const Planes32 p = split_bgr32(bgr + 3 * i);
        const __m256i bl = _mm256_unpacklo_epi8(p.b, zero), gl = _mm256_unpacklo_epi8(p.g, zero),
                      rl = _mm256_unpacklo_epi8(p.r, zero);
        const __m256i bh = _mm256_unpackhi_epi8(p.b, zero), gh = _mm256_unpackhi_epi8(p.g, zero),
                      rh = _mm256_unpackhi_epi8(p.r, zero);
        const __m256i lo = _mm256_packs_epi32(dot(bl, gl, rl, false), dot(bl, gl, rl, true));
        const __m256i hi = _mm256_packs_epi32(dot(bh, gh, rh, false), dot(bh, gh, rh, true));
        store256(gray + i, _mm256_packus_epi16(lo, hi));  // the unpacks' lane order cancels out
    }
    for (; i < npix; ++i) gray[i] = gray_px(bgr + 3 * i);
}

void deinterleave3(const std::uint8_t* bgr, std::uint8_t* p0, std::uint8_t* p1, std::uint8_t* p2, std::size_t npix) {
    std::size_t i = 0;
    for (; i + 32 <= npix; i += 32) {
        const Planes32 p = split_bgr32(bgr + 3 * i);
        store256(p0 + i, p.b);
        store256(p1 + i, p.g);
        store256(p2 + i, p.r);
    }
    bgsub_scalar_kernels().deinterleave3(bgr + 3 * i, p0 + i, p1 + i, p2 + i, npix - i);
}

// Gaussian taps are symmetric: a mirrored pair of pixels is added first, half the multiplies.
// 16-bit wrap-around is harmless: the exact sum is <= 255 * 256.
void hblur_u8_u16(const std::uint8_t* src, const std::uint16_t* w, int ksize, std::uint16_t* out, std::size_t n) {
    const int r = ksize / 2;
    auto px16 = [&](std::size_t at) {
        return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + at)));
    };
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i acc = _mm256_mullo_epi16(px16(i + r), _mm256_set1_epi16(short(w[r])));
        for (int k = 0; k < r; ++k) {
            const __m256i pair = _mm256_add_epi16(px16(i + k), px16(i + ksize - 1 - k));
            acc = _mm256_add_epi16(acc, _mm256_mullo_epi16(pair, _mm256_set1_epi16(short(w[k]))));
        }
        store256(out + i, acc);
    }
    for (; i < n; ++i) out[i] = hblur_px(src + i, w, ksize);
}

// Rows are biased to signed (x - 32768) and interleaved two by two, so one madd applies two
// taps with 32-bit sums; the bias comes back as 32768 * 256 (the taps sum to 256).
void vblur_u16_u8(const std::uint16_t* const* rows, const std::uint16_t* w, int ksize, std::uint8_t* out,
                  std::size_t n) {
    const __m256i flip = _mm256_set1_epi16(short(0x8000));
    const __m256i bias = _mm256_set1_epi32(32768 * 256 + 32768);
    auto biased = [&](int k, std::size_t at) { return _mm256_xor_si256(load256(rows[k] + at), flip); };
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i acc[4] = {bias, bias, bias, bias};
        for (int k = 0; k < ksize; k += 2) {
            const bool pair = k + 1 < ksize;
            const __m256i taps = _mm256_set1_epi32(int(w[k]) | (pair ? int(w[k + 1]) << 16 : 0));
            for (int h = 0; h < 2; ++h) {
                const std::size_t at = i + 16 * std::size_t(h);
                const __m256i a = biased(k, at), b = pair ? biased(k + 1, at) : _mm256_setzero_si256();
                acc[2 * h] = _mm256_add_epi32(acc[2 * h], _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), taps));
                acc[2 * h + 1] = _mm256_add_epi32(acc[2 * h + 1], _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), taps));
            }
        }
        const __m256i v0 = _mm256_packus_epi32(_mm256_srli_epi32(acc[0], 16), _mm256_srli_epi32(acc[1], 16));
        const __m256i v1 = _mm256_packus_epi32(_mm256_srli_epi32(acc[2], 16), _mm256_srli_epi32(acc[3], 16));
        store256(out + i, _mm256_permute4x64_epi64(_mm256_packus_epi16(v0, v1), _MM_SHUFFLE(3, 1, 2, 0)));
    }
    for (; i < n; ++i) out[i] = vblur_px(rows, w, ksize, i);
}

void diff_bits(const std::uint8_t* cur, const std::uint8_t* bg, const std::uint8_t* thr, std::size_t n,
               std::uint64_t* bits, bool accumulate) {
    const __m256i zero = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256i c = load256(cur + i), b = load256(bg + i);
        const __m256i d = _mm256_or_si256(_mm256_subs_epu8(c, b), _mm256_subs_epu8(b, c));
        const __m256i same = _mm256_cmpeq_epi8(_mm256_subs_epu8(d, load256(thr + i)), zero);
        std::uint32_t m = ~std::uint32_t(_mm256_movemask_epi8(same));
        std::uint8_t* word = reinterpret_cast<std::uint8_t*>(bits) + i / 8;  // little-endian: 4 bytes = 32 bits
        if (accumulate) {
            std::uint32_t old;
            std::memcpy(&old, word, 4);
            m |= old;
        }
        std::memcpy(word, &m, 4);
    }
    diff_bits_tail(cur, bg, thr, i, n, bits, accumulate);
}

void update_background(const std::uint8_t* cur, const std::uint8_t* mask, float rate, float* bgf, std::uint8_t* bg8,
                       std::size_t n) {
    const __m256 vr = _mm256_set1_ps(rate), half = _mm256_set1_ps(0.5f);
    const __m256i gather = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(mask + i));
        const __m256 keep = _mm256_castsi256_ps(_mm256_cvtepi8_epi32(_mm_cmpeq_epi8(m8, _mm_setzero_si128())));
        const __m256 c = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(cur + i))));
        const __m256 old = _mm256_loadu_ps(bgf + i);
        const __m256 v = _mm256_blendv_ps(old, _mm256_add_ps(old, _mm256_mul_ps(vr, _mm256_sub_ps(c, old))), keep);
        _mm256_storeu_ps(bgf + i, v);
        // bg8 == round(bgf) holds everywhere, so rounding the unchanged lanes rewrites their old value.
        const __m256i q = _mm256_cvttps_epi32(_mm256_add_ps(v, half));
        const __m256i packed = _mm256_packus_epi16(_mm256_packs_epi32(q, q), _mm256_setzero_si256());
        const __m256i ordered = _mm256_permutevar8x32_epi32(packed, gather);  // dwords 0 and 4 hold the bytes
        _mm_storel_epi64(reinterpret_cast<__m128i*>(bg8 + i), _mm256_castsi256_si128(ordered));
    }
    for (; i < n; ++i)
        if (mask[i] == 0) update_px(cur[i], rate, bgf[i], bg8[i]);
}

}  // namespace

const BgsubKernels& bgsub_avx2_kernels() {
    static const BgsubKernels k{"avx2", bgr_to_gray, deinterleave3, hblur_u8_u16, vblur_u16_u8, diff_bits,
                                update_background};
    return k;
}

}  // namespace fastseg
