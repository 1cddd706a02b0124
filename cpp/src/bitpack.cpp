#include "fastseg/bitpack.hpp"

#include "fastseg/dispatch.hpp"

namespace fastseg {

// Little-endian 16-bit words hold the same bit stream as bytes; only the row padding differs.
void pack_mask(ConstImageU8 mask, std::uint8_t threshold, std::uint8_t* words, int bits_per_word) {
    require(bits_per_word == 8 || bits_per_word == 16, "bits per word must be 8 or 16");
    require(!mask.empty() && mask.channels == 1, "mask must be a non-empty H x W image");
    const std::size_t row_bytes = std::size_t(packed_row_words(mask.width, bits_per_word)) * (bits_per_word / 8);
    const RowKernels& k = kernels();
    for (int y = 0; y < mask.height; ++y) {
        std::uint8_t* dst = words + y * row_bytes;
        k.pack_bits(mask.row(y), threshold, dst, std::size_t(mask.width));
        for (std::size_t b = (std::size_t(mask.width) + 7) / 8; b < row_bytes; ++b) dst[b] = 0;
    }
}

void unpack_mask(const std::uint8_t* words, int bits_per_word, ImageU8 mask) {
    require(bits_per_word == 8 || bits_per_word == 16, "bits per word must be 8 or 16");
    require(!mask.empty() && mask.channels == 1, "mask must be a non-empty H x W image");
    const std::size_t row_bytes = std::size_t(packed_row_words(mask.width, bits_per_word)) * (bits_per_word / 8);
    const RowKernels& k = kernels();
    for (int y = 0; y < mask.height; ++y) k.unpack_bits(words + y * row_bytes, mask.row(y), std::size_t(mask.width));
}

}  // namespace fastseg
