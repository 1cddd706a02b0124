// Scratch memory for the kernels: sized on the first frame of a given size and reused, so the
// steady state allocates nothing; one per thread, so parallel callers never share it.
#pragma once

namespace fastseg {

// Bind the result to a reference once per call. Never inlined: every use of a thread_local
// the compiler can see costs a __tls_get_addr call in a shared library, and inlined it
// re-derives that address inside row loops (twice the time of upsample_mask).
template <class T>
[[gnu::noinline]] T& per_thread() {
    thread_local T value;
    return value;
}

}  // namespace fastseg
