// Non-owning views over caller memory: fastseg never allocates the frames it is handed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace fastseg {

// Rows of `width * channels` elements, `stride` elements apart (stride >= width * channels).
template <class T>
struct ImageView {
    T* data = nullptr;
    int height = 0;
    int width = 0;
    int channels = 1;
    std::ptrdiff_t stride = 0;

    ImageView() = default;
    ImageView(T* d, int h, int w, int c = 1, std::ptrdiff_t s = 0)
        : data(d), height(h), width(w), channels(c), stride(s ? s : std::ptrdiff_t(w) * c) {}

    T* row(int y) const { return data + std::ptrdiff_t(y) * stride; }
    std::size_t pixels() const { return std::size_t(height) * std::size_t(width); }
    bool empty() const { return height <= 0 || width <= 0; }
};

using ImageU8 = ImageView<std::uint8_t>;
using ConstImageU8 = ImageView<const std::uint8_t>;
using ImageF32 = ImageView<float>;
using ConstImageF32 = ImageView<const float>;

template <class T>
ImageView<const T> as_const(const ImageView<T>& v) {
    return {v.data, v.height, v.width, v.channels, v.stride};
}

// Kernels check their own preconditions so a C++ caller gets the same guarantees as Python.
inline void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(what);
}

}  // namespace fastseg
