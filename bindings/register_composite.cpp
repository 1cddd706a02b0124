#include <pybind11/stl.h>

#include <array>

#include "arrays.hpp"
#include "fastseg/composite.hpp"

namespace py = pybind11;
using namespace fastseg;
using namespace fastseg::py_arrays;

namespace {

struct FrameAlpha {
    ConstImageU8 frame, alpha;
};

FrameAlpha frame_and_alpha(const py::array& frame, const py::array& alpha) {
    FrameAlpha fa{image<const std::uint8_t>(frame, "frame", 3), image<const std::uint8_t>(alpha, "alpha", 1)};
    if (fa.alpha.height != fa.frame.height || fa.alpha.width != fa.frame.width)
        throw py::value_error("alpha must have the frame's size (" + std::to_string(fa.frame.height) + ", " +
                              std::to_string(fa.frame.width) + "), got " + shape_str(alpha));
    return fa;
}

ImageU8 frame_out(py::array_t<std::uint8_t>& dst, const ConstImageU8& frame, int channels) {
    return ImageU8(dst.mutable_data(), frame.height, frame.width, channels);
}

py::array composite_blur_py(const py::array& frame, const py::array& alpha, const std::optional<py::array>& out,
                            float strength) {
    const FrameAlpha fa = frame_and_alpha(frame, alpha);
    if (!(strength >= 0.0f && strength <= 1.0f)) throw py::value_error("strength must be in [0, 1]");
    auto dst = output<std::uint8_t>(out, {fa.frame.height, fa.frame.width, 3}, "out");
    const ImageU8 o = frame_out(dst, fa.frame, 3);
    py::gil_scoped_release release;
    composite_blur(fa.frame, fa.alpha, o, strength);
    return dst;
}

ConstImageU8 background_like(const py::array& background, const ConstImageU8& frame) {
    const ConstImageU8 bg = image<const std::uint8_t>(background, "background", 3);
    if (bg.height != frame.height || bg.width != frame.width)
        throw py::value_error("background must have the frame's size (" + std::to_string(frame.height) + ", " +
                              std::to_string(frame.width) + ", 3), got " + shape_str(background) +
                              ": resize it once with resize_image");
    return bg;
}

py::array composite_image_py(const py::array& frame, const py::array& alpha, const py::array& background,
                             const std::optional<py::array>& out) {
    const FrameAlpha fa = frame_and_alpha(frame, alpha);
    const ConstImageU8 bg = background_like(background, fa.frame);
    auto dst = output<std::uint8_t>(out, {fa.frame.height, fa.frame.width, 3}, "out");
    const ImageU8 o = frame_out(dst, fa.frame, 3);
    py::gil_scoped_release release;
    composite_image(fa.frame, fa.alpha, bg, o);
    return dst;
}

py::array composite_color_py(const py::array& frame, const py::array& alpha, std::array<int, 3> color,
                             const std::optional<py::array>& out) {
    const FrameAlpha fa = frame_and_alpha(frame, alpha);
    std::uint8_t c[3];
    for (int i = 0; i < 3; ++i) {
        if (color[i] < 0 || color[i] > 255)
            throw py::value_error("color components must be in 0..255, got " + std::to_string(color[i]));
        c[i] = std::uint8_t(color[i]);
    }
    auto dst = output<std::uint8_t>(out, {fa.frame.height, fa.frame.width, 3}, "out");
    const ImageU8 o = frame_out(dst, fa.frame, 3);
    py::gil_scoped_release release;
    composite_color(fa.frame, fa.alpha, c, o);
    return dst;
}

py::array composite_rgba_py(const py::array& frame, const py::array& alpha, const std::optional<py::array>& out,
                            bool swap_rb) {
    const FrameAlpha fa = frame_and_alpha(frame, alpha);
    auto dst = output<std::uint8_t>(out, {fa.frame.height, fa.frame.width, 4}, "out");
    const ImageU8 o = frame_out(dst, fa.frame, 4);
    py::gil_scoped_release release;
    composite_rgba(fa.frame, fa.alpha, o, swap_rb);
    return dst;
}

py::array harmonize_py(const py::array& frame, const py::array& alpha, const py::array& background,
                       const std::optional<py::array>& out, float amount) {
    const FrameAlpha fa = frame_and_alpha(frame, alpha);
    const ConstImageU8 bg = image<const std::uint8_t>(background, "background", 3);
    if (!(amount >= 0.0f && amount <= 1.0f)) throw py::value_error("amount must be in [0, 1]");
    auto dst = output<std::uint8_t>(out, {fa.frame.height, fa.frame.width, 3}, "out");
    const ImageU8 o = frame_out(dst, fa.frame, 3);
    py::gil_scoped_release release;
    harmonize(fa.frame, fa.alpha, bg, o, amount);
    return dst;
}

}  // namespace

void register_composite(py::module_& m) {
    m.def("composite_blur", &composite_blur_py, py::arg("frame"), py::arg("alpha"), py::arg("out") = py::none(),
          py::arg("strength") = 0.5f,
          "Frame over its own blurred copy (fused downscale, blur, upscale-and-blend); strength in [0, 1].");
    m.def("composite_image", &composite_image_py, py::arg("frame"), py::arg("alpha"), py::arg("background"),
          py::arg("out") = py::none(), "Frame over a background image of the frame's size.");
    m.def("composite_color", &composite_color_py, py::arg("frame"), py::arg("alpha"), py::arg("color"),
          py::arg("out") = py::none(), "Frame over one colour, given in the frame's channel order.");
    m.def("composite_rgba", &composite_rgba_py, py::arg("frame"), py::arg("alpha"), py::arg("out") = py::none(),
          py::arg("swap_rb") = false, "H x W x 4: the frame's colours (reversed when swap_rb) plus alpha.");
    m.def("harmonize", &harmonize_py, py::arg("frame"), py::arg("alpha"), py::arg("background"),
          py::arg("out") = py::none(), py::arg("amount") = 1.0f,
          "Reinhard colour transfer in CIELAB of the person (alpha-weighted) toward the background's statistics.");
    m.def("blur_factor", &blur_factor, py::arg("height"), py::arg("width"),
          "Integer downscale factor composite_blur uses for a frame of this size.");
    m.def("blur_radius", &blur_radius, py::arg("strength"),
          "Low-resolution box radius composite_blur uses for a strength.");
}
