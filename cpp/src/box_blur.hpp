// Running-sum box blur of an interleaved float image, borders replicated. Shared by mask
// feathering (1 channel) and the low-resolution background of composite_blur (3 channels).
#pragma once
#include <algorithm>
#include <vector>

namespace fastseg {

struct BoxScratch {
    std::vector<float> tmp, acc;
};

// One horizontal then one vertical pass of radius r, in place on an h x w x c image.
inline void box_blur(float* img, int h, int w, int c, int r, BoxScratch& s) {
    if (r <= 0) return;
    const std::size_t row = std::size_t(w) * c;
    const float inv = 1.0f / float(2 * r + 1);
    s.tmp.resize(row * h);
    s.acc.resize(row);
    for (int y = 0; y < h; ++y) {
        const float* in = img + y * row;
        float* out = s.tmp.data() + y * row;
        for (int ch = 0; ch < c; ++ch) {
            float sum = 0;
            for (int i = -r; i <= r; ++i) sum += in[std::size_t(std::clamp(i, 0, w - 1)) * c + ch];
            for (int i = 0; i < w; ++i) {
                out[std::size_t(i) * c + ch] = sum * inv;
                sum += in[std::size_t(std::min(i + r + 1, w - 1)) * c + ch] - in[std::size_t(std::max(i - r, 0)) * c + ch];
            }
        }
    }
    // Vertically, whole rows at a time: the inner loops are contiguous and vectorise.
    float* acc = s.acc.data();
    const float* t = s.tmp.data();
    std::fill(acc, acc + row, 0.0f);
    for (int i = -r; i <= r; ++i) {
        const float* src = t + std::size_t(std::clamp(i, 0, h - 1)) * row;
        for (std::size_t x = 0; x < row; ++x) acc[x] += src[x];
    }
    for (int y = 0; y < h; ++y) {
        float* out = img + y * row;
        const float* add = t + std::size_t(std::min(y + r + 1, h - 1)) * row;
        const float* sub = t + std::size_t(std::max(y - r, 0)) * row;
        for (std::size_t x = 0; x < row; ++x) {
            out[x] = acc[x] * inv;
            acc[x] += add[x] - sub[x];
        }
    }
}

}  // namespace fastseg
