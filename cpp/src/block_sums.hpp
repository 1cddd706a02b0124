// Exact sums over fy x fx pixel blocks of an interleaved u8 image, in 16 bits: the shared
// first half of integer-factor area downscaling (preprocess) and of composite_blur's
// low-resolution background. Rows are summed vertically with sum_rows_u8_u16, then
// horizontally with window_sum_u16 (sliding sums of fx whole pixels), and every block's sum
// is picked from its first pixel's window.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "fastseg/dispatch.hpp"
#include "fastseg/image.hpp"

namespace fastseg {

// 255 * 257 is the largest 16-bit sum.
inline bool block_sums_fit(int fy, int fx) { return fy >= 1 && fx >= 1 && fy * fx <= 257; }

struct BlockSums {
    std::vector<std::uint16_t> rows, windows, sums;
};

// emit(by, rows, sums) once per block row, top to bottom: sums[bx * channels + c] for every
// block, ceil(width / fx) of them. The last block row and column may be partial: `rows` says
// how many image rows the sums cover, columns are min(fx, width - bx * fx).
template <class Emit>
void block_sums(ConstImageU8 img, int fy, int fx, BlockSums& s, Emit&& emit) {
    const RowKernels& k = kernels();
    const int c = img.channels, full = img.width / fx, blocks = (img.width + fx - 1) / fx;
    const std::size_t n = std::size_t(img.width) * c;
    s.rows.resize(n);
    s.windows.resize(full > 0 ? std::size_t(full - 1) * fx * c + c : 0);
    s.sums.resize(std::size_t(blocks) * c);
    for (int by = 0, y0 = 0; y0 < img.height; ++by, y0 += fy) {
        const int rows = std::min(fy, img.height - y0);
        k.sum_rows_u8_u16(img.row(y0), img.stride, rows, s.rows.data(), n);
        k.window_sum_u16(s.rows.data(), s.windows.data(), s.windows.size(), fx, c);
        for (int bx = 0; bx < full; ++bx)
            for (int ch = 0; ch < c; ++ch) s.sums[std::size_t(bx) * c + ch] = s.windows[std::size_t(bx) * fx * c + ch];
        if (full < blocks) {  // the partial block at the right edge
            for (int ch = 0; ch < c; ++ch) {
                unsigned sum = 0;
                for (std::size_t x = std::size_t(full) * fx; x < std::size_t(img.width); ++x) sum += s.rows[x * c + ch];
                s.sums[std::size_t(full) * c + ch] = std::uint16_t(sum);
            }
        }
        emit(by, rows, s.sums.data());
    }
}

}  // namespace fastseg
