#include "fastseg/dispatch.hpp"

#include <atomic>
#include <stdexcept>

namespace fastseg {
namespace {

struct Candidate {
    const RowKernels& (*table)();
    bool (*supported)();
};

bool always() { return true; }
#if defined(FASTSEG_HAVE_X86)
bool has_sse2() { return __builtin_cpu_supports("sse2"); }
bool has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif
#if defined(FASTSEG_HAVE_AVX512)
bool has_avx512() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"); }
#endif

// Worst to best: the last supported entry is the default.
const Candidate kCandidates[] = {
    {scalar_kernels, always},
#if defined(FASTSEG_HAVE_X86)
    {sse2_kernels, has_sse2},
    {avx2_kernels, has_avx2},
#endif
#if defined(FASTSEG_HAVE_AVX512)
    {avx512_kernels, has_avx512},
#endif
#if defined(FASTSEG_HAVE_NEON)
    {neon_kernels, always},
#endif
};

const RowKernels* best_supported() {
    const RowKernels* best = nullptr;
    for (const auto& c : kCandidates)
        if (c.supported()) best = &c.table();
    return best;
}

std::atomic<const RowKernels*>& active() {
    static std::atomic<const RowKernels*> table{best_supported()};
    return table;
}

}  // namespace

std::vector<std::string> available_isas() {
    std::vector<std::string> names;
    for (const auto& c : kCandidates)
        if (c.supported()) names.emplace_back(c.table().isa);
    return names;
}

void set_isa(const std::string& name) {
    if (name == "auto") {
        active().store(best_supported());
        return;
    }
    for (const auto& c : kCandidates) {
        if (name == c.table().isa) {
            if (!c.supported()) throw std::invalid_argument("ISA '" + name + "' is not supported by this CPU");
            active().store(&c.table());
            return;
        }
    }
    throw std::invalid_argument("unknown ISA '" + name + "'");
}

const char* current_isa() { return kernels().isa; }

const RowKernels& kernels() { return *active().load(std::memory_order_relaxed); }

}  // namespace fastseg
