// Static background subtraction: the classical baseline that needs no model at all, for a
// fixed camera looking at a scene it can learn first.
//
// Per frame: grayscale (or the three colour planes), separable Gaussian blur, absolute
// difference against the learned background, threshold (global T or k * sigma per pixel),
// morphological close then open on a bit-packed mask, connected components (the largest, or
// all above a minimum area), and an optional slow update of the background outside the mask.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "fastseg/image.hpp"

namespace fastseg {

struct BgsubParams {
    int learn_frames = 30;    // frames averaged into the background before segmenting starts
    bool color = false;       // false: one gray plane; true: B, G, R planes, a pixel differs if any plane does
    int blur = 5;             // Gaussian kernel size (odd, 1 = off)
    double sigma = 0.0;       // Gaussian sigma; <= 0 derives it from the size as OpenCV does
    int threshold = 10;       // global threshold T on |frame - background| (0..255)
    double k_sigma = 3.0;     // > 0: per-pixel threshold max(T, k * sigma of the learning frames)
    int close = 15;           // closing kernel size (odd square, 1 = off): fills holes
    int open = 5;             // opening kernel size (odd square, 1 = off): removes specks
    bool largest = true;      // keep only the largest component (else every component >= min_area)
    int min_area = 500;       // components smaller than this many pixels are dropped
    int connectivity = 8;     // 4 or 8
    float update = 0.05f;     // background learning rate outside the mask per frame (0 = frozen)
};

// Throws std::invalid_argument naming the first bad parameter.
void check_params(const BgsubParams& p);

class BackgroundSubtractor {
public:
    explicit BackgroundSubtractor(const BgsubParams& params);
    ~BackgroundSubtractor();
    BackgroundSubtractor(const BackgroundSubtractor&) = delete;
    BackgroundSubtractor& operator=(const BackgroundSubtractor&) = delete;

    // Learning phase: the first learn_frames frames are assumed to show the empty scene. Each is
    // folded into the per-pixel mean and variance and gets an all-zero mask; the frame size is
    // fixed by the first of them. From frame learn_frames + 1 on, frames are segmented: `mask`
    // gets 255 for the person, 0 for background. A frame of another size throws until relearn().
    void apply(ConstImageU8 frame, ImageU8 mask);
    // Forget the background: the next learn_frames frames are learned again, at any size.
    void relearn();

    bool learning() const;
    int frames_learned() const;
    const BgsubParams& params() const;
    std::pair<int, int> size() const;  // (height, width) being learned or segmented
    // The learned background (blurred planes, planes x H x W) and per-pixel thresholds.
    const std::vector<std::uint8_t>& background() const;
    const std::vector<std::uint8_t>& thresholds() const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

// The stages on their own, for tests and references. Masks are 0 / nonzero in, 0 / 255 out.
// BGR -> gray as cv2.cvtColor(COLOR_BGR2GRAY) does it: (3735 B + 19235 G + 9798 R + 16384) >> 15.
void bgr_to_gray(ConstImageU8 frame, ImageU8 gray);
// Separable Gaussian blur of one u8 plane, borders reflected (OpenCV's BORDER_REFLECT_101),
// 8-bit fixed-point taps, rounded once at the end as OpenCV's bit-exact GaussianBlur does.
void gaussian_blur(ConstImageU8 src, ImageU8 dst, int ksize, double sigma);
// Square binary morphology; outside the image is 0 for dilation and 1 for erosion, as OpenCV's
// default border. op: 'd'ilate, 'e'rode, 'c'lose, 'o'pen.
void morphology(ConstImageU8 mask, ImageU8 out, char op, int ksize);
// Connected components of the nonzero pixels: keep the largest (largest = true) or every
// component of at least min_area pixels.
void keep_components(ConstImageU8 mask, ImageU8 out, int min_area, bool largest, int connectivity);

}  // namespace fastseg
