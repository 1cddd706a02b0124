#include "fastseg/bgsub.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "bgsub_kernels.hpp"
#include "bitmask.hpp"
#include "workspace.hpp"

namespace fastseg {
namespace {

constexpr int kMaxKernel = 61;
constexpr int kMaxLearnFrames = 65535;  // sum of squares of 8-bit values stays within 32 bits

bool odd_size(int k) { return k >= 1 && k % 2 == 1 && k <= kMaxKernel; }

// OpenCV's BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba), repeated for images narrower than r.
int reflect101(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

// 8-bit fixed-point taps summing to 256. Sizes up to 7 with no sigma use OpenCV's fixed small
// kernels (exact in 8 bits, so the blur matches cv2.GaussianBlur bit for bit); otherwise the
// sampled Gaussian is floored and the remainder handed out in mirrored pairs by largest
// fraction, so the taps stay symmetric (the SIMD rows rely on it).
std::vector<std::uint16_t> gaussian_taps(int ksize, double sigma) {
    static const std::vector<std::uint16_t> small[4] = {
        {256}, {64, 128, 64}, {16, 64, 96, 64, 16}, {8, 28, 56, 72, 56, 28, 8}};
    if (sigma <= 0 && ksize <= 7) return small[ksize / 2];
    if (sigma <= 0) sigma = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8;
    const int r = ksize / 2;
    std::vector<double> w(ksize);
    for (int k = 0; k < ksize; ++k) w[k] = std::exp(-double((k - r) * (k - r)) / (2 * sigma * sigma));
    const double scale = 256.0 / std::accumulate(w.begin(), w.end(), 0.0);
    std::vector<std::uint16_t> taps(ksize);
    int left = 256;
    for (int k = 0; k < ksize; ++k) left -= taps[k] = std::uint16_t(std::floor(w[k] * scale));
    std::vector<int> order(r);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return w[a] * scale - taps[a] > w[b] * scale - taps[b];
    });
    for (int k : order) {
        if (left < 2) break;
        ++taps[k];
        ++taps[ksize - 1 - k];
        left -= 2;
    }
    taps[r] = std::uint16_t(taps[r] + left);
    return taps;
}

struct BlurScratch {
    std::vector<std::uint8_t> padded;
    std::vector<std::uint16_t> ring;  // horizontally blurred rows, source row y in slot y % ksize
    std::vector<int> owner;
    std::vector<const std::uint16_t*> rows;
};

void pad_row(const std::uint8_t* src, int w, int r, std::uint8_t* padded) {
    std::copy(src, src + w, padded + r);
    for (int j = 1; j <= r; ++j) {
        padded[r - j] = src[reflect101(-j, w)];
        padded[r + w - 1 + j] = src[reflect101(w - 1 + j, w)];
    }
}

// Horizontal pass into a ring of ksize rows, vertical pass out of it. The rows an output row
// needs always lie within ksize consecutive source rows, so their slots never collide.
void blur_plane(ConstImageU8 src, ImageU8 dst, const std::vector<std::uint16_t>& taps, BlurScratch& s) {
    const int ks = int(taps.size()), r = ks / 2, w = src.width;
    const BgsubKernels& k = bgsub_kernels();
    s.padded.resize(std::size_t(w) + 2 * r);
    s.ring.resize(std::size_t(ks) * w);
    s.owner.assign(ks, -1);
    s.rows.resize(ks);
    for (int y = 0; y < src.height; ++y) {
        for (int t = 0; t < ks; ++t) {
            const int sy = reflect101(y + t - r, src.height), slot = sy % ks;
            std::uint16_t* line = s.ring.data() + std::size_t(slot) * w;
            if (s.owner[slot] != sy) {
                pad_row(src.row(sy), w, r, s.padded.data());
                k.hblur_u8_u16(s.padded.data(), taps.data(), ks, line, std::size_t(w));
                s.owner[slot] = sy;
            }
            s.rows[t] = line;
        }
        k.vblur_u16_u8(s.rows.data(), taps.data(), ks, dst.row(y), std::size_t(w));
    }
}

void close_then_open(BitMask& m, int close, int open, MorphScratch& s) {
    dilate(m, close, s);
    erode(m, close, s);
    erode(m, open, s);
    dilate(m, open, s);
}

}  // namespace

void check_params(const BgsubParams& p) {
    auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
    if (p.learn_frames < 1 || p.learn_frames > kMaxLearnFrames)
        fail("learn_frames must be in 1.." + std::to_string(kMaxLearnFrames) + ", got " + std::to_string(p.learn_frames));
    if (!odd_size(p.blur)) fail("blur must be an odd kernel size in 1..61, got " + std::to_string(p.blur));
    if (!std::isfinite(p.sigma)) fail("sigma must be finite");
    if (p.threshold < 0 || p.threshold > 255) fail("threshold must be in 0..255, got " + std::to_string(p.threshold));
    if (!(p.k_sigma >= 0 && std::isfinite(p.k_sigma))) fail("k_sigma must be >= 0");
    if (p.close != 0 && !odd_size(p.close)) fail("close must be 0 or an odd size in 1..61, got " + std::to_string(p.close));
    if (p.open != 0 && !odd_size(p.open)) fail("open must be 0 or an odd size in 1..61, got " + std::to_string(p.open));
    if (p.min_area < 0) fail("min_area must be >= 0, got " + std::to_string(p.min_area));
    if (p.connectivity != 4 && p.connectivity != 8) fail("connectivity must be 4 or 8, got " + std::to_string(p.connectivity));
    if (!(p.update >= 0.0f && p.update <= 1.0f)) fail("update must be a rate in [0, 1]");
}

struct BackgroundSubtractor::State {
    BgsubParams p;
    std::vector<std::uint16_t> taps;
    int height = 0, width = 0, learned = 0;
    std::size_t plane = 0;                     // pixels per plane
    std::vector<std::uint8_t> split, blurred;  // planes x H x W
    std::vector<std::uint32_t> sum, sumsq;     // learning statistics of the blurred planes
    std::vector<float> bgf;                    // background mean, kept in float so slow updates add up
    std::vector<std::uint8_t> bg8, thr;        // round(bgf), per-pixel threshold
    BitMask fg;
    MorphScratch morph;
    ComponentScratch comps;
    BlurScratch blur;

    int planes() const { return p.color ? 3 : 1; }
    ImageU8 plane_of(std::vector<std::uint8_t>& v, int c) { return ImageU8(v.data() + c * plane, height, width); }

    void start(int h, int w);
    void split_and_blur(ConstImageU8 frame);
    void learn();
    void finish_learning();
    void segment(ImageU8 mask);
    void update(ConstImageU8 mask);
};

void BackgroundSubtractor::State::start(int h, int w) {
    height = h;
    width = w;
    plane = std::size_t(h) * w;
    const std::size_t n = plane * planes();
    split.resize(n);
    blurred.resize(n);
    sum.assign(n, 0);
    sumsq.assign(n, 0);
    bgf.resize(n);
    bg8.resize(n);
    thr.resize(n);
    fg.reset(h, w);
}

void BackgroundSubtractor::State::split_and_blur(ConstImageU8 frame) {
    const BgsubKernels& k = bgsub_kernels();
    for (int y = 0; y < height; ++y) {
        const std::size_t at = std::size_t(y) * width;
        if (p.color)
            k.deinterleave3(frame.row(y), &split[at], &split[plane + at], &split[2 * plane + at], std::size_t(width));
        else
            k.bgr_to_gray(frame.row(y), &split[at], std::size_t(width));
    }
    for (int c = 0; c < planes(); ++c) blur_plane(as_const(plane_of(split, c)), plane_of(blurred, c), taps, blur);
}

void BackgroundSubtractor::State::learn() {
    for (std::size_t i = 0; i < blurred.size(); ++i) {
        const std::uint32_t v = blurred[i];
        sum[i] += v;
        sumsq[i] += v * v;
    }
    if (++learned == p.learn_frames) finish_learning();
}

void BackgroundSubtractor::State::finish_learning() {
    const double n = p.learn_frames;
    for (std::size_t i = 0; i < sum.size(); ++i) {
        const double mean = sum[i] / n, var = std::max(0.0, sumsq[i] / n - mean * mean);
        bgf[i] = float(mean);
        bg8[i] = std::uint8_t(int(bgf[i] + 0.5f));  // as update_px rounds
        const double t = std::max(double(p.threshold), p.k_sigma * std::sqrt(var));
        thr[i] = std::uint8_t(std::min(255.0, std::floor(t)));  // integer d > t  <=>  d > floor(t)
    }
}

void BackgroundSubtractor::State::segment(ImageU8 mask) {
    const BgsubKernels& k = bgsub_kernels();
    for (int c = 0; c < planes(); ++c)
        for (int y = 0; y < height; ++y) {
            const std::size_t at = c * plane + std::size_t(y) * width;
            k.diff_bits(&blurred[at], &bg8[at], &thr[at], std::size_t(width), fg.row(y), c > 0);
        }
    close_then_open(fg, p.close, p.open, morph);
    paint_components(fg, mask, p.min_area, p.largest, p.connectivity, comps);
}

void BackgroundSubtractor::State::update(ConstImageU8 mask) {
    const BgsubKernels& k = bgsub_kernels();
    for (int c = 0; c < planes(); ++c)
        for (int y = 0; y < height; ++y) {
            const std::size_t at = c * plane + std::size_t(y) * width;
            k.update_background(&blurred[at], mask.row(y), p.update, &bgf[at], &bg8[at], std::size_t(width));
        }
}

BackgroundSubtractor::BackgroundSubtractor(const BgsubParams& params) : s_(new State) {
    check_params(params);
    s_->p = params;
    s_->taps = gaussian_taps(params.blur, params.sigma);
}

BackgroundSubtractor::~BackgroundSubtractor() = default;

void BackgroundSubtractor::apply(ConstImageU8 frame, ImageU8 mask) {
    State& s = *s_;
    require(!frame.empty() && frame.channels == 3, "frame must be a non-empty H x W x 3 image");
    require(mask.height == frame.height && mask.width == frame.width, "mask must have the frame's size");
    if (s.learned == 0) {
        s.start(frame.height, frame.width);
    } else if (frame.height != s.height || frame.width != s.width) {
        throw std::invalid_argument("frame size changed from " + std::to_string(s.height) + "x" +
                                    std::to_string(s.width) + " (learned) to " + std::to_string(frame.height) + "x" +
                                    std::to_string(frame.width) + ": call relearn() to learn the new size");
    }
    s.split_and_blur(frame);
    if (learning()) {
        s.learn();
        for (int y = 0; y < mask.height; ++y) std::fill(mask.row(y), mask.row(y) + mask.width, std::uint8_t(0));
        return;
    }
    s.segment(mask);
    if (s.p.update > 0.0f) s.update(as_const(mask));
}

void BackgroundSubtractor::relearn() { s_->learned = 0; }
bool BackgroundSubtractor::learning() const { return s_->learned < s_->p.learn_frames; }
int BackgroundSubtractor::frames_learned() const { return s_->learned; }
const BgsubParams& BackgroundSubtractor::params() const { return s_->p; }
std::pair<int, int> BackgroundSubtractor::size() const { return {s_->height, s_->width}; }
const std::vector<std::uint8_t>& BackgroundSubtractor::background() const { return s_->bg8; }
const std::vector<std::uint8_t>& BackgroundSubtractor::thresholds() const { return s_->thr; }

// --- the stages on their own ------------------------------------------------------------------

void bgr_to_gray(ConstImageU8 frame, ImageU8 gray) {
    require(frame.channels == 3 && gray.height == frame.height && gray.width == frame.width,
            "gray must be H x W for an H x W x 3 frame");
    const BgsubKernels& k = bgsub_kernels();
    for (int y = 0; y < frame.height; ++y) k.bgr_to_gray(frame.row(y), gray.row(y), std::size_t(frame.width));
}

void gaussian_blur(ConstImageU8 src, ImageU8 dst, int ksize, double sigma) {
    require(odd_size(ksize), "ksize must be an odd size in 1..61");
    require(src.channels == 1 && dst.height == src.height && dst.width == src.width, "dst must match src (H x W)");
    blur_plane(src, dst, gaussian_taps(ksize, sigma), per_thread<BlurScratch>());
}

void morphology(ConstImageU8 mask, ImageU8 out, char op, int ksize) {
    require(odd_size(ksize), "ksize must be an odd size in 1..61");
    require(out.height == mask.height && out.width == mask.width, "out must match the mask");
    auto& m = per_thread<BitMask>();
    auto& s = per_thread<MorphScratch>();
    pack(mask, m);
    switch (op) {
        case 'd': dilate(m, ksize, s); break;
        case 'e': erode(m, ksize, s); break;
        case 'c': close_then_open(m, ksize, 1, s); break;
        case 'o': close_then_open(m, 1, ksize, s); break;
        default: throw std::invalid_argument("op must be dilate, erode, close or open");
    }
    unpack(m, out);
}

void keep_components(ConstImageU8 mask, ImageU8 out, int min_area, bool largest, int connectivity) {
    require(out.height == mask.height && out.width == mask.width, "out must match the mask");
    require(connectivity == 4 || connectivity == 8, "connectivity must be 4 or 8");
    require(min_area >= 0, "min_area must be >= 0");
    auto& m = per_thread<BitMask>();
    pack(mask, m);
    paint_components(m, out, min_area, largest, connectivity, per_thread<ComponentScratch>());
}

}  // namespace fastseg
