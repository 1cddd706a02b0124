// Row primitives of the background subtractor, one table per instruction set like RowKernels
// (fastseg/dispatch.hpp), kept in their own table and files so this area builds and changes
// independently. bgsub_kernels() follows the ISA chosen by set_isa(), so forcing an ISA
// switches these too. Per-element definitions shared by the scalar reference and the SIMD
// tails are below, so a tail cannot drift from the reference.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fastseg {

struct BgsubKernels {
    const char* isa;

    // gray[i] = (3735 B + 19235 G + 9798 R + 16384) >> 15 of the interleaved BGR pixel i.
    void (*bgr_to_gray)(const std::uint8_t* bgr, std::uint8_t* gray, std::size_t npix);

    // planes[c][i] = bgr[3i + c].
    void (*deinterleave3)(const std::uint8_t* bgr, std::uint8_t* p0, std::uint8_t* p1, std::uint8_t* p2,
                          std::size_t npix);

    // out[i] = sum_k w[k] * src[i + k], k < ksize; taps sum to 256, so out <= 255 * 256 fits.
    // src is a row padded by ksize / 2 on each side.
    void (*hblur_u8_u16)(const std::uint8_t* src, const std::uint16_t* w, int ksize, std::uint16_t* out,
                         std::size_t n);

    // out[i] = (sum_k w[k] * rows[k][i] + 32768) >> 16: the vertical taps and the one rounding.
    void (*vblur_u16_u8)(const std::uint16_t* const* rows, const std::uint16_t* w, int ksize, std::uint8_t* out,
                         std::size_t n);

    // Bit i (LSB first, 64 per word) = |cur[i] - bg[i]| > thr[i]; `accumulate` ORs into bits
    // instead of overwriting. Writes ceil(n / 64) words; bits past n are 0 (or kept, accumulating).
    void (*diff_bits)(const std::uint8_t* cur, const std::uint8_t* bg, const std::uint8_t* thr, std::size_t n,
                      std::uint64_t* bits, bool accumulate);

    // Where mask[i] == 0: bgf[i] += rate * (cur[i] - bgf[i]); bg8[i] = round(bgf[i]).
    void (*update_background)(const std::uint8_t* cur, const std::uint8_t* mask, float rate, float* bgf,
                              std::uint8_t* bg8, std::size_t n);
};

const BgsubKernels& bgsub_kernels();
const BgsubKernels& bgsub_scalar_kernels();
#if defined(FASTSEG_HAVE_X86)
const BgsubKernels& bgsub_sse2_kernels();
const BgsubKernels& bgsub_avx2_kernels();
#endif

// --- per-element definitions ------------------------------------------------------------------

// cv2.cvtColor(COLOR_BGR2GRAY)'s 15-bit fixed point (OpenCV 5): 0.114 B + 0.587 G + 0.299 R.
constexpr int kGrayShift = 15;
constexpr int kGrayB = 3735, kGrayG = 19235, kGrayR = 9798;  // sum 2^15

inline std::uint8_t gray_px(const std::uint8_t* p) {
    return std::uint8_t((kGrayB * p[0] + kGrayG * p[1] + kGrayR * p[2] + (1 << (kGrayShift - 1))) >> kGrayShift);
}

inline std::uint16_t hblur_px(const std::uint8_t* src, const std::uint16_t* w, int ksize) {
    unsigned acc = 0;
    for (int k = 0; k < ksize; ++k) acc += unsigned(w[k]) * src[k];
    return std::uint16_t(acc);
}

inline std::uint8_t vblur_px(const std::uint16_t* const* rows, const std::uint16_t* w, int ksize, std::size_t i) {
    std::uint32_t acc = 0;
    for (int k = 0; k < ksize; ++k) acc += std::uint32_t(w[k]) * rows[k][i];
    return std::uint8_t((acc + 32768u) >> 16);
}

inline bool differs(std::uint8_t cur, std::uint8_t bg, std::uint8_t thr) {
    const int d = cur > bg ? cur - bg : bg - cur;
    return d > thr;
}

// Mul then add (no FMA) and round half up: the SIMD paths do exactly these float operations.
inline void update_px(std::uint8_t cur, float rate, float& bgf, std::uint8_t& bg8) {
    const float v = bgf + rate * (float(cur) - bgf);
    bgf = v;
    bg8 = std::uint8_t(int(v + 0.5f));
}

// Scalar tail of diff_bits from element `from` (a multiple of 8) to n. Overwriting, it first
// clears the bits at and past `from` in the word the SIMD part left half written.
inline void diff_bits_tail(const std::uint8_t* cur, const std::uint8_t* bg, const std::uint8_t* thr,
                           std::size_t from, std::size_t n, std::uint64_t* bits, bool accumulate) {
    if (!accumulate && from % 64) bits[from / 64] &= (std::uint64_t(1) << (from % 64)) - 1;
    for (std::size_t i = from; i < n; ++i) {
        if (!accumulate && i % 64 == 0) bits[i / 64] = 0;
        if (differs(cur[i], bg[i], thr[i])) bits[i / 64] |= std::uint64_t(1) << (i % 64);
    }
}

}  // namespace fastseg
