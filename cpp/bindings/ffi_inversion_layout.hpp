// Operand shapes of the inversion FFI handlers (CPU and CUDA): columns (..., k, n), data (..., n) or (n,),
// regularization (..., k, k), (k, k) or (0, 0), flags (k,); the Gram form's operands each carry 1 or all batch
// elements.
#pragma once

#include <cstdint>
#include <string>

#include "xla/ffi/api/ffi.h"

namespace galaxyfit {
namespace inversion_ffi {

namespace ffi = xla::ffi;

inline int64_t leading(ffi::Span<const int64_t> dims, size_t core) {
  int64_t p = 1;
  for (size_t i = 0; i + core < dims.size(); ++i) p *= dims[i];
  return p;
}

// The columns form: columns (..., k, n), data (..., n) or (n,), regularization (..., k, k) or (k, k) (or (0, 0)
// for none), flags (k,). Sets k, n, the batch size and whether data / regularization are batched.
struct Layout {
  int64_t k = 0, n = 0, batch = 1;
  bool data_batched = false, regularization_batched = false, has_regularization = false;
};

inline ffi::Error layout_of(const char* name, ffi::Span<const int64_t> cdims, ffi::Span<const int64_t> ddims,
                            ffi::Span<const int64_t> hdims, int64_t n_flags, Layout* l) {
  if (cdims.size() < 2) return ffi::Error::InvalidArgument(std::string(name) + ": columns must be (..., k, n)");
  l->k = cdims[cdims.size() - 2];
  l->n = cdims[cdims.size() - 1];
  l->batch = leading(cdims, 2);
  if (n_flags != l->k) return ffi::Error::InvalidArgument(std::string(name) + ": one flag per column needed");
  if (ddims.size() == 0 || ddims[ddims.size() - 1] != l->n)
    return ffi::Error::InvalidArgument(std::string(name) + ": data must end in the columns' pixel count");
  const int64_t data_batch = leading(ddims, 1);
  if (data_batch != 1 && data_batch != l->batch)
    return ffi::Error::InvalidArgument(std::string(name) + ": data batch must be 1 or the columns' batch");
  l->data_batched = data_batch != 1 || (l->batch == 1 && ddims.size() > 1);
  if (hdims.size() < 2) return ffi::Error::InvalidArgument(std::string(name) + ": regularization must be (..., k, k)");
  const int64_t hk = hdims[hdims.size() - 1];
  l->has_regularization = hk != 0;
  if (l->has_regularization) {
    if (hk != l->k || hdims[hdims.size() - 2] != l->k)
      return ffi::Error::InvalidArgument(std::string(name) + ": regularization must be k x k");
    const int64_t h_batch = leading(hdims, 2);
    if (h_batch != 1 && h_batch != l->batch)
      return ffi::Error::InvalidArgument(std::string(name) + ": regularization batch must be 1 or the columns' batch");
    l->regularization_batched = h_batch != 1;
  }
  return ffi::Error::Success();
}

// Batch count of an operand with `core` trailing dimensions: 1 (shared) or the batch.
inline int64_t batch_of(ffi::Span<const int64_t> dims, size_t core) {
  return dims.size() >= core ? leading(dims, core) : 1;
}

// The Gram form: curvature (..., k, k), data_vector (..., k), data_norm (...), regularization (..., k, k) or (0, 0),
// flags (k,), guess (..., k) or (0,), each carrying 1 or all of the output's batch elements (fb, db, nb, hb, gb).
struct GramLayout {
  int64_t k = 0, batch = 1, fb = 1, db = 1, nb = 1, hb = 1, gb = 1;
  bool has_h = false, has_guess = false;
};

inline ffi::Error gram_layout_of(ffi::Span<const int64_t> fdims, ffi::Span<const int64_t> ddims, size_t norm_count,
                                 ffi::Span<const int64_t> hdims, size_t n_flags, ffi::Span<const int64_t> gdims,
                                 size_t reconstruction_count, GramLayout* l) {
  if (fdims.size() < 2 || fdims[fdims.size() - 1] != fdims[fdims.size() - 2])
    return ffi::Error::InvalidArgument("inversion_gram: curvature must be (..., k, k)");
  const int64_t k = fdims[fdims.size() - 1];
  l->k = k;
  if (static_cast<int64_t>(n_flags) != k)
    return ffi::Error::InvalidArgument("inversion_gram: one flag per column needed");
  if (ddims.size() < 1 || ddims[ddims.size() - 1] != k)
    return ffi::Error::InvalidArgument("inversion_gram: data_vector must be (..., k)");
  l->has_h = hdims.size() >= 2 && hdims[hdims.size() - 1] != 0;
  if (l->has_h && (hdims[hdims.size() - 1] != k || hdims[hdims.size() - 2] != k))
    return ffi::Error::InvalidArgument("inversion_gram: regularization must be (..., k, k)");
  l->batch = static_cast<int64_t>(reconstruction_count) / (k > 1 ? k : 1);
  l->fb = batch_of(fdims, 2);
  l->db = batch_of(ddims, 1);
  l->nb = static_cast<int64_t>(norm_count);
  l->hb = l->has_h ? batch_of(hdims, 2) : 1;
  l->has_guess = gdims.size() >= 1 && gdims[gdims.size() - 1] != 0;
  if (l->has_guess && gdims[gdims.size() - 1] != k)
    return ffi::Error::InvalidArgument("inversion_gram: guess must be (..., k) or (0,)");
  l->gb = l->has_guess ? batch_of(gdims, 1) : 1;
  for (int64_t count : {l->fb, l->db, l->nb, l->hb, l->gb})
    if (count != 1 && count != l->batch)
      return ffi::Error::InvalidArgument("inversion_gram: every operand must carry 1 or all batch elements");
  return ffi::Error::Success();
}

}  // namespace inversion_ffi
}  // namespace galaxyfit
