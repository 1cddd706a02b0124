// Scalar reference of the background subtractor's row primitives (compiled without
// auto-vectorisation, like scalar.cpp), and the dispatch that follows set_isa().
#include "bgsub_kernels.hpp"
#include "fastseg/dispatch.hpp"

namespace fastseg {
namespace {

void bgr_to_gray(const std::uint8_t* bgr, std::uint8_t* gray, std::size_t npix) {
    for (std::size_t i = 0; i < npix; ++i) gray[i] = gray_px(bgr + 3 * i);
}

void deinterleave3(const std::uint8_t* bgr, std::uint8_t* p0, std::uint8_t* p1, std::uint8_t* p2, std::size_t npix) {
    for (std::size_t i = 0; i < npix; ++i) {
        p0[i] = bgr[3 * i];
        p1[i] = bgr[3 * i + 1];
        p2[i] = bgr[3 * i + 2];
    }
}

void hblur_u8_u16(const std::uint8_t* src, const std::uint16_t* w, int ksize, std::uint16_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = hblur_px(src + i, w, ksize);
}

void vblur_u16_u8(const std::uint16_t* const* rows, const std::uint16_t* w, int ksize, std::uint8_t* out,
                  std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = vblur_px(rows, w, ksize, i);
}

void diff_bits(const std::uint8_t* cur, const std::uint8_t* bg, const std::uint8_t* thr, std::size_t n,
               std::uint64_t* bits, bool accumulate) {
    diff_bits_tail(cur, bg, thr, 0, n, bits, accumulate);
}

void update_background(const std::uint8_t* cur, const std::uint8_t* mask, float rate, float* bgf, std::uint8_t* bg8,
                       std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (mask[i] == 0) update_px(cur[i], rate, bgf[i], bg8[i]);
}

}  // namespace

const BgsubKernels& bgsub_scalar_kernels() {
    static const BgsubKernels k{"scalar", bgr_to_gray, deinterleave3, hblur_u8_u16, vblur_u16_u8, diff_bits,
                                update_background};
    return k;
}

// The RowKernels table in use names the ISA; its twin here is picked by that name.
const BgsubKernels& bgsub_kernels() {
    const RowKernels& active = kernels();
#if defined(FASTSEG_HAVE_X86)
    if (&active == &avx2_kernels()) return bgsub_avx2_kernels();
    if (&active == &sse2_kernels()) return bgsub_sse2_kernels();
#endif
    return bgsub_scalar_kernels();
}

}  // namespace fastseg
