#include "bitmask.hpp"

#include <algorithm>
#include <cstring>

#include "fastseg/dispatch.hpp"

namespace fastseg {

void BitMask::reset(int h, int w) {
    height = h;
    width = w;
    words = (w + 63) / 64;
    bits.assign(std::size_t(h) * words, 0);
}

std::uint64_t BitMask::last_word_mask() const {
    return width % 64 ? (std::uint64_t(1) << (width % 64)) - 1 : ~std::uint64_t(0);
}

namespace {

// Word j of a row whose pixel x takes pixel x + k (pulled) or x - k (pushed); zeros come in
// from outside the row.
inline std::uint64_t pulled_word(const std::uint64_t* a, int nw, int j, int k) {
    const int q = j + k / 64, s = k % 64;
    const std::uint64_t lo = q < nw ? a[q] : 0, hi = q + 1 < nw ? a[q + 1] : 0;
    return s ? (lo >> s) | (hi << (64 - s)) : lo;
}

inline std::uint64_t pushed_word(const std::uint64_t* a, int j, int k) {
    const int q = j - k / 64, s = k % 64;
    const std::uint64_t hi = q >= 0 ? a[q] : 0, lo = q - 1 >= 0 ? a[q - 1] : 0;
    return s ? (hi << s) | (lo >> (64 - s)) : hi;
}

// a[x] becomes the OR of a over x .. x + len - 1 (pull) or x - len + 1 .. x (push). 64 pixels
// share a word, so doubling the covered run (OR with itself shifted by 1, 2, 4, ...) costs
// log2(len) word operations per 64 pixels. Each pass walks in the direction that reads only
// words it has not yet rewritten.
void spread_row(std::uint64_t* a, int nw, int len, bool pull) {
    auto pass = [&](int k) {
        if (pull)
            for (int j = 0; j < nw; ++j) a[j] |= pulled_word(a, nw, j, k);
        else
            for (int j = nw - 1; j >= 0; --j) a[j] |= pushed_word(a, j, k);
    };
    int covered = 1;
    for (; 2 * covered <= len; covered *= 2) pass(covered);
    if (covered < len) pass(len - covered);
}

// Horizontal dilation of one row: x covers x - r .. x + r, as the right half-window of the
// row OR the left half-window of a copy (a centred window built by shifting would lose the
// pixels shifted out at the edge).
void dilate_row(std::uint64_t* a, std::uint64_t* copy, int nw, int len, std::uint64_t last_mask) {
    const int half = len / 2 + 1;
    std::copy(a, a + nw, copy);
    spread_row(a, nw, half, true);
    spread_row(copy, nw, half, false);
    for (int j = 0; j < nw; ++j) a[j] |= copy[j];
    a[nw - 1] &= last_mask;  // pushing carries bits into the padding
}

// Vertical dilation by van Herk / Gil-Werman: over blocks of `len` rows of the zero-padded
// column, g is the running OR from the block's start and h the running OR to its end; the
// window of rows y - r .. y + r is then h[y] | g[y + len - 1]: three ORs per word for any size.
void dilate_columns(BitMask& m, int len, MorphScratch& s) {
    const int r = len / 2, nw = m.words, n = (m.height + 2 * r + len - 1) / len * len;
    const std::size_t row = std::size_t(nw);
    s.g.resize(std::size_t(n) * row);
    s.h.resize(std::size_t(n) * row);
    auto padded = [&](int e) -> const std::uint64_t* {  // row e - r of the image, or null outside it
        const int y = e - r;
        return y >= 0 && y < m.height ? m.row(y) : nullptr;
    };
    auto fold = [&](std::uint64_t* dst, const std::uint64_t* prev, const std::uint64_t* x) {
        for (std::size_t j = 0; j < row; ++j) dst[j] = (prev ? prev[j] : 0) | (x ? x[j] : 0);
    };
    for (int e = 0; e < n; ++e) fold(&s.g[e * row], e % len ? &s.g[(e - 1) * row] : nullptr, padded(e));
    for (int e = n - 1; e >= 0; --e) fold(&s.h[e * row], e % len != len - 1 ? &s.h[(e + 1) * row] : nullptr, padded(e));
    for (int y = 0; y < m.height; ++y) {
        const std::uint64_t *h = &s.h[y * row], *g = &s.g[(y + len - 1) * row];
        std::uint64_t* out = m.row(y);
        for (std::size_t j = 0; j < row; ++j) out[j] = h[j] | g[j];
    }
}

void complement(BitMask& m) {
    for (auto& w : m.bits) w = ~w;
    for (int y = 0; y < m.height; ++y) m.row(y)[m.words - 1] &= m.last_word_mask();
}

// First pixel at or after `from` whose bit equals `value`, or the width if none.
int next_bit(const std::uint64_t* row, int nw, int width, int from, bool value) {
    if (from >= width) return width;
    int j = from / 64;
    std::uint64_t w = (value ? row[j] : ~row[j]) & (~std::uint64_t(0) << (from % 64));
    while (!w) {
        if (++j == nw) return width;
        w = value ? row[j] : ~row[j];
    }
    return std::min(width, j * 64 + __builtin_ctzll(w));
}

void find_runs(const BitMask& m, ComponentScratch& s) {
    s.runs.clear();
    s.row_start.assign(std::size_t(m.height) + 1, 0);
    for (int y = 0; y < m.height; ++y) {
        s.row_start[y] = int(s.runs.size());
        const std::uint64_t* row = m.row(y);
        for (int x = next_bit(row, m.words, m.width, 0, true); x < m.width;) {
            const int end = next_bit(row, m.words, m.width, x, false);
            s.runs.push_back({y, x, end});
            x = next_bit(row, m.words, m.width, end, true);
        }
    }
    s.row_start[m.height] = int(s.runs.size());
}

int find_root(std::vector<int>& parent, int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];  // path halving
    return i;
}

// Union-find over runs: a run joins the runs of the row above that it touches (sharing a
// column, or with 8-connectivity also a corner). The root is the run met first in raster order.
void link_runs(const BitMask& m, int connectivity, ComponentScratch& s) {
    s.parent.resize(s.runs.size());
    for (std::size_t i = 0; i < s.parent.size(); ++i) s.parent[i] = int(i);
    const int reach = connectivity == 8 ? 1 : 0;
    for (int y = 1; y < m.height; ++y) {
        int i = s.row_start[y - 1], j = s.row_start[y];
        const int i_end = s.row_start[y], j_end = s.row_start[y + 1];
        while (i < i_end && j < j_end) {
            const Run &a = s.runs[i], &b = s.runs[j];
            if (a.x0 < b.x1 + reach && b.x0 < a.x1 + reach) {
                const int ra = find_root(s.parent, i), rb = find_root(s.parent, j);
                s.parent[std::max(ra, rb)] = std::min(ra, rb);
            }
            if (a.x1 < b.x1) ++i; else ++j;  // the run ending first can touch nothing further on
        }
    }
}

}  // namespace

void dilate(BitMask& m, int ksize, MorphScratch& s) {
    if (ksize <= 1 || m.height == 0) return;
    const std::uint64_t last = m.last_word_mask();
    s.a.resize(std::size_t(m.words));
    for (int y = 0; y < m.height; ++y) dilate_row(m.row(y), s.a.data(), m.words, ksize, last);
    dilate_columns(m, ksize, s);
}

// Erosion is the complement of the complement's dilation; the zero border of that dilation
// is a border of ones here, which is OpenCV's default for erosion.
void erode(BitMask& m, int ksize, MorphScratch& s) {
    if (ksize <= 1 || m.height == 0) return;
    complement(m);
    dilate(m, ksize, s);
    complement(m);
}

void paint_components(const BitMask& m, ImageU8 out, int min_area, bool largest, int connectivity,
                      ComponentScratch& s) {
    find_runs(m, s);
    link_runs(m, connectivity, s);
    const std::size_t n = s.runs.size();
    s.area.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const int root = s.parent[i] = find_root(s.parent, int(i));  // flattened for the paint loop
        s.area[root] += s.runs[i].x1 - s.runs[i].x0;
    }
    // The first of equally large components (raster order of their first pixel), as OpenCV's labels.
    const int best = largest && n ? int(std::max_element(s.area.begin(), s.area.end()) - s.area.begin()) : -1;
    const std::int64_t keep_from = std::max(min_area, 1);
    for (int y = 0; y < out.height; ++y) std::memset(out.row(y), 0, std::size_t(out.width));
    for (std::size_t i = 0; i < n; ++i) {
        const int root = s.parent[i];
        if (s.area[root] < keep_from || (largest && root != best)) continue;
        const Run& r = s.runs[i];
        std::memset(out.row(r.y) + r.x0, 255, std::size_t(r.x1 - r.x0));
    }
}

void pack(ConstImageU8 mask, BitMask& m) {
    m.reset(mask.height, mask.width);
    const RowKernels& k = kernels();
    for (int y = 0; y < mask.height; ++y)
        k.pack_bits(mask.row(y), 1, reinterpret_cast<std::uint8_t*>(m.row(y)), std::size_t(mask.width));
}

void unpack(const BitMask& m, ImageU8 out) {
    const RowKernels& k = kernels();
    for (int y = 0; y < m.height; ++y)
        k.unpack_bits(reinterpret_cast<const std::uint8_t*>(m.row(y)), out.row(y), std::size_t(m.width));
}

}  // namespace fastseg
