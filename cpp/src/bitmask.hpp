// Binary masks packed 64 pixels to a word (LSB first, each row starting on a word), and the
// two mask stages of the background subtractor that run on them: square morphology and
// connected components. A word holds 64 pixels, so plain 64-bit integer code is already wider
// than a SIMD byte path and needs no per-ISA variants.
#pragma once
#include <cstdint>
#include <vector>

#include "fastseg/image.hpp"

namespace fastseg {

struct BitMask {
    int height = 0, width = 0, words = 0;  // words per row
    std::vector<std::uint64_t> bits;       // bits past `width` in a row are always 0

    void reset(int h, int w);
    std::uint64_t* row(int y) { return bits.data() + std::size_t(y) * words; }
    const std::uint64_t* row(int y) const { return bits.data() + std::size_t(y) * words; }
    std::uint64_t last_word_mask() const;
};

struct MorphScratch {
    std::vector<std::uint64_t> a, g, h;  // a row copy; van Herk's running ORs
};

struct Run {
    int y, x0, x1;  // pixels x0 .. x1 - 1 of row y
};

struct ComponentScratch {
    std::vector<Run> runs;
    std::vector<int> row_start;  // runs of row y: row_start[y] .. row_start[y + 1] - 1
    std::vector<int> parent;
    std::vector<std::int64_t> area;
};

// m = m dilated (or eroded) by a ksize x ksize square; ksize odd, 1 leaves m unchanged.
void dilate(BitMask& m, int ksize, MorphScratch& s);
void erode(BitMask& m, int ksize, MorphScratch& s);

// Writes 255 at the pixels of the kept components of m and 0 elsewhere.
void paint_components(const BitMask& m, ImageU8 out, int min_area, bool largest, int connectivity,
                      ComponentScratch& s);

// Nonzero -> 1 and back to 0 / 255, through the pack_bits / unpack_bits row kernels.
void pack(ConstImageU8 mask, BitMask& m);
void unpack(const BitMask& m, ImageU8 out);

}  // namespace fastseg
