// Binary masks packed 8 or 16 pixels per word, LSB first (pixel x of a row is bit x % bits of
// word x / bits), every row padded to whole words: the compact transport format for masks.
#pragma once
#include <cstdint>

#include "fastseg/image.hpp"

namespace fastseg {

inline int packed_row_words(int width, int bits_per_word) { return (width + bits_per_word - 1) / bits_per_word; }

// A pixel is set when mask >= threshold. words: height x packed_row_words(width, 8 or 16).
void pack_mask(ConstImageU8 mask, std::uint8_t threshold, std::uint8_t* words, int bits_per_word);
// Set bits become 255, clear bits 0.
void unpack_mask(const std::uint8_t* words, int bits_per_word, ImageU8 mask);

}  // namespace fastseg
