// Running-sum box blur of an interleaved float image, borders replicated. Shared by mask
// feathering (1 channel) and the low-resolution background of composite_blur (3 channels).
#pragma once
#include <algorithm>
#include <cstring>
#include <vector>

namespace fastseg {

struct BoxScratch {
    std::vector<float> tmp, acc, pad;
};

// Radii up to this sum their taps directly: independent sums vectorise, where a running sum
// is one serial chain of dependent additions.
constexpr int kDirectBoxRadius = 12;

// One row of the horizontal pass: out[x] = mean of in[x - r .. x + r], borders replicated.
inline void horizontal_box_row(const float* in, float* out, int w, int c, int r, float inv, std::vector<float>& pad) {
    if (r <= kDirectBoxRadius) {
        const std::size_t n = std::size_t(w) * c, step = std::size_t(c), edge = std::size_t(r) * c;
        pad.resize(n + 2 * edge);
        float* p = pad.data();
        for (std::size_t i = 0; i < edge; ++i) p[i] = in[i % step];
        std::copy(in, in + n, p + edge);
        for (std::size_t i = 0; i < edge; ++i) p[edge + n + i] = in[n - step + i % step];
        // Sixteen outputs at a time in four vector registers (GCC/Clang vector extensions, so
        // every target gets its own SIMD): four independent chains of additions hide their
        // latency. The tail goes one at a time.
        typedef float f32x4 __attribute__((vector_size(16)));
        auto load = [](const float* q) {
            f32x4 v;
            std::memcpy(&v, q, sizeof v);
            return v;
        };
        const f32x4 scale = {inv, inv, inv, inv};
        const int taps = 2 * r + 1;
        std::size_t i = 0;
        for (; i + 16 <= n; i += 16) {
            const float* q = p + i;
            f32x4 v[4] = {load(q), load(q + 4), load(q + 8), load(q + 12)};
            for (int k = 1; k < taps; ++k) {
                q += step;
                for (int j = 0; j < 4; ++j) v[j] += load(q + 4 * j);
            }
            for (int j = 0; j < 4; ++j) {
                v[j] *= scale;
                std::memcpy(out + i + 4 * j, &v[j], sizeof v[j]);
            }
        }
        for (; i < n; ++i) {
            float sum = 0;
            for (int k = 0; k < taps; ++k) sum += p[i + k * step];
            out[i] = sum * inv;
        }
        return;
    }
    for (int ch = 0; ch < c; ++ch) {
        float sum = 0;
        for (int i = -r; i <= r; ++i) sum += in[std::size_t(std::clamp(i, 0, w - 1)) * c + ch];
        for (int i = 0; i < w; ++i) {
            out[std::size_t(i) * c + ch] = sum * inv;
            sum += in[std::size_t(std::min(i + r + 1, w - 1)) * c + ch] - in[std::size_t(std::max(i - r, 0)) * c + ch];
        }
    }
}

// One horizontal then one vertical pass of radius r, in place on an h x w x c image.
inline void box_blur(float* img, int h, int w, int c, int r, BoxScratch& s) {
    if (r <= 0) return;
    const std::size_t row = std::size_t(w) * c;
    const float inv = 1.0f / float(2 * r + 1);
    s.tmp.resize(row * h);
    s.acc.resize(row);
    for (int y = 0; y < h; ++y) horizontal_box_row(img + y * row, s.tmp.data() + y * row, w, c, r, inv, s.pad);
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
