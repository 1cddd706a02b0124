#include "arrays.hpp"
#include "fastseg/bitpack.hpp"

namespace py = pybind11;
using namespace fastseg;
using namespace fastseg::py_arrays;

namespace {

template <class Word>
py::array pack_as(const ConstImageU8& m, std::uint8_t threshold, const std::optional<py::array>& out) {
    constexpr int bits = 8 * sizeof(Word);
    auto dst = output<Word>(out, {m.height, packed_row_words(m.width, bits)}, "out");
    auto* words = reinterpret_cast<std::uint8_t*>(dst.mutable_data());
    py::gil_scoped_release release;
    pack_mask(m, threshold, words, bits);
    return dst;
}

py::array pack_mask_py(const py::array& mask, int bits, int threshold, const std::optional<py::array>& out) {
    const ConstImageU8 m = image<const std::uint8_t>(mask, "mask", 1);
    if (threshold < 1 || threshold > 255) throw py::value_error("threshold must be in 1..255");
    if (bits == 8) return pack_as<std::uint8_t>(m, std::uint8_t(threshold), out);
    if (bits == 16) return pack_as<std::uint16_t>(m, std::uint8_t(threshold), out);
    throw py::value_error("bits must be 8 or 16, got " + std::to_string(bits));
}

template <class Word>
py::array unpack_as(const py::array& packed, int width, const std::optional<py::array>& out) {
    constexpr int bits = 8 * sizeof(Word);
    const ImageView<const Word> p = image<const Word>(packed, "packed", 1);
    if (width <= 0) throw py::value_error("width must be positive");
    if (p.width != packed_row_words(width, bits))
        throw py::value_error("packed rows hold " + std::to_string(p.width) + " words of " + std::to_string(bits) +
                              " bits, but width " + std::to_string(width) + " needs " +
                              std::to_string(packed_row_words(width, bits)));
    auto dst = output<std::uint8_t>(out, {p.height, width}, "out");
    const ImageU8 m(dst.mutable_data(), p.height, width);
    const auto* words = reinterpret_cast<const std::uint8_t*>(p.data);
    py::gil_scoped_release release;
    unpack_mask(words, bits, m);
    return dst;
}

py::array unpack_mask_py(const py::array& packed, int width, const std::optional<py::array>& out) {
    if (packed.dtype().is(py::dtype::of<std::uint16_t>())) return unpack_as<std::uint16_t>(packed, width, out);
    if (packed.dtype().is(py::dtype::of<std::uint8_t>())) return unpack_as<std::uint8_t>(packed, width, out);
    throw py::type_error("packed must be a uint8 (8 pixels per word) or uint16 (16 per word) array, got " +
                         std::string(py::str(packed.dtype())));
}

}  // namespace

void register_bitpack(py::module_& m) {
    m.def("pack_mask", &pack_mask_py, py::arg("mask"), py::arg("bits") = 8, py::arg("threshold") = 128,
          py::arg("out") = py::none(),
          "Pack a uint8 (H, W) mask to bits (set where mask >= threshold), LSB first, rows padded to whole\n"
          "words: uint8 (H, ceil(W/8)) for bits=8, uint16 (H, ceil(W/16)) for bits=16.");
    m.def("unpack_mask", &unpack_mask_py, py::arg("packed"), py::arg("width"), py::arg("out") = py::none(),
          "Inverse of pack_mask: uint8 (H, width) with 255 where a bit is set.");
}
