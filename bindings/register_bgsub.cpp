#include <cstring>

#include "arrays.hpp"
#include "fastseg/bgsub.hpp"

namespace py = pybind11;
using namespace fastseg;
using namespace fastseg::py_arrays;

namespace {

py::array_t<std::uint8_t> plane_out(const std::optional<py::array>& out, int height, int width) {
    return output<std::uint8_t>(out, {height, width}, "out");
}

ImageU8 view(py::array_t<std::uint8_t>& a) { return ImageU8(a.mutable_data(), int(a.shape(0)), int(a.shape(1))); }

py::array apply_py(BackgroundSubtractor& self, const py::array& frame, const std::optional<py::array>& out) {
    const ConstImageU8 f = image<const std::uint8_t>(frame, "frame", 3);
    auto dst = plane_out(out, f.height, f.width);
    const ImageU8 m = view(dst);
    py::gil_scoped_release release;
    self.apply(f, m);
    return dst;
}

// planes x H x W copy of a learned per-pixel table, or None while learning.
template <const std::vector<std::uint8_t>& (BackgroundSubtractor::*table)() const>
py::object learned_planes(const BackgroundSubtractor& self) {
    if (self.learning()) return py::none();
    const auto [height, width] = self.size();
    const std::vector<std::uint8_t>& values = (self.*table)();
    py::array_t<std::uint8_t> a({self.params().color ? 3 : 1, height, width});
    std::memcpy(a.mutable_data(), values.data(), values.size());
    return std::move(a);
}

py::array to_gray_py(const py::array& frame, const std::optional<py::array>& out) {
    const ConstImageU8 f = image<const std::uint8_t>(frame, "frame", 3);
    auto dst = plane_out(out, f.height, f.width);
    const ImageU8 g = view(dst);
    py::gil_scoped_release release;
    bgr_to_gray(f, g);
    return dst;
}

py::array gaussian_blur_py(const py::array& src, int ksize, double sigma, const std::optional<py::array>& out) {
    const ConstImageU8 s = image<const std::uint8_t>(src, "image", 1);
    if (ksize < 1 || ksize % 2 == 0 || ksize > 61)
        throw py::value_error("ksize must be an odd size in 1..61, got " + std::to_string(ksize));
    auto dst = plane_out(out, s.height, s.width);
    if (dst.data() == s.data) throw py::value_error("out must not be the input image");
    const ImageU8 d = view(dst);
    py::gil_scoped_release release;
    gaussian_blur(s, d, ksize, sigma);
    return dst;
}

py::array morphology_py(const py::array& mask, const std::string& op, int ksize, const std::optional<py::array>& out) {
    const ConstImageU8 m = image<const std::uint8_t>(mask, "mask", 1);
    if (op != "dilate" && op != "erode" && op != "close" && op != "open")
        throw py::value_error("op must be 'dilate', 'erode', 'close' or 'open', got '" + op + "'");
    if (ksize < 1 || ksize % 2 == 0 || ksize > 61)
        throw py::value_error("ksize must be an odd size in 1..61, got " + std::to_string(ksize));
    auto dst = plane_out(out, m.height, m.width);
    const ImageU8 d = view(dst);
    py::gil_scoped_release release;
    morphology(m, d, op[0], ksize);
    return dst;
}

py::array keep_components_py(const py::array& mask, int min_area, bool largest, int connectivity,
                             const std::optional<py::array>& out) {
    const ConstImageU8 m = image<const std::uint8_t>(mask, "mask", 1);
    if (connectivity != 4 && connectivity != 8)
        throw py::value_error("connectivity must be 4 or 8, got " + std::to_string(connectivity));
    if (min_area < 0) throw py::value_error("min_area must be >= 0, got " + std::to_string(min_area));
    auto dst = plane_out(out, m.height, m.width);
    const ImageU8 d = view(dst);
    py::gil_scoped_release release;
    keep_components(m, d, min_area, largest, connectivity);
    return dst;
}

}  // namespace

void register_bgsub(py::module_& m) {
    static const BgsubParams kDefaults;
    py::class_<BackgroundSubtractor>(m, "BackgroundSubtractor",
                                     "Static background subtraction; see fastseg.BackgroundSubtractor.")
        .def(py::init([](int learn_frames, bool color, int blur, double sigma, int threshold, double k_sigma,
                         int close, int open, bool largest, int min_area, int connectivity, float update) {
                 // Field order of BgsubParams.
                 return new BackgroundSubtractor(BgsubParams{learn_frames, color, blur, sigma, threshold, k_sigma,
                                                             close, open, largest, min_area, connectivity, update});
             }),
             py::kw_only(), py::arg("learn_frames") = kDefaults.learn_frames, py::arg("color") = kDefaults.color,
             py::arg("blur") = kDefaults.blur, py::arg("sigma") = kDefaults.sigma,
             py::arg("threshold") = kDefaults.threshold, py::arg("k_sigma") = kDefaults.k_sigma,
             py::arg("close") = kDefaults.close, py::arg("open") = kDefaults.open,
             py::arg("largest") = kDefaults.largest, py::arg("min_area") = kDefaults.min_area,
             py::arg("connectivity") = kDefaults.connectivity, py::arg("update") = kDefaults.update)
        .def("apply", &apply_py, py::arg("frame"), py::arg("out") = py::none(),
             "uint8 (H, W) mask of a uint8 (H, W, 3) frame: 255 = foreground; all 0 while learning.")
        .def("relearn", &BackgroundSubtractor::relearn, "Learn the background again from the next frames.")
        .def_property_readonly("learning", &BackgroundSubtractor::learning)
        .def_property_readonly("frames_learned", &BackgroundSubtractor::frames_learned)
        .def_property_readonly("background", learned_planes<&BackgroundSubtractor::background>)
        .def_property_readonly("thresholds", learned_planes<&BackgroundSubtractor::thresholds>);
    m.def("to_gray", &to_gray_py, py::arg("frame"), py::arg("out") = py::none(),
          "BGR -> gray with OpenCV's fixed-point coefficients (cv2.COLOR_BGR2GRAY).");
    m.def("gaussian_blur", &gaussian_blur_py, py::arg("image"), py::arg("ksize"), py::arg("sigma") = 0.0,
          py::arg("out") = py::none(),
          "Separable Gaussian blur of a uint8 (H, W) image, reflected borders, 8-bit fixed-point taps.");
    m.def("morphology", &morphology_py, py::arg("mask"), py::arg("op"), py::arg("ksize"), py::arg("out") = py::none(),
          "Square binary morphology of a uint8 (H, W) mask (nonzero = set) -> 0 / 255; out may be mask.");
    m.def("keep_components", &keep_components_py, py::arg("mask"), py::arg("min_area") = 0,
          py::arg("largest") = true, py::arg("connectivity") = 8, py::arg("out") = py::none(),
          "Connected components of a uint8 mask: the largest, or all of >= min_area pixels -> 0 / 255.");
}
