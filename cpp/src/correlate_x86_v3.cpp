// Direct-convolution inner loop for this instruction set (compile options set in CMakeLists.txt).
#include "correlate_kernel.hpp"

namespace galaxyfit {
namespace detail {

void correlate_run_x86_v3(const double* src, const Taps& taps, int64_t len, double* out) {
  correlate_run_impl<4>(src, taps, len, out);
}

}  // namespace detail
}  // namespace galaxyfit
