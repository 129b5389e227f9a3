// A minimal assertion helper for the C++ unit tests (no test framework to download): each failed check prints its
// place and values; main() returns check::finish(), non-zero when anything failed, which ctest reports.
#pragma once

#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

namespace check {

inline int& failures() {
  static int n = 0;
  return n;
}

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::printf("%s:%d: FAILED %s\n", file, line, what.c_str());
}

// |actual - expected| <= abs_tol + rel_tol |expected|; NaN never passes.
inline void close(const char* file, int line, const char* expr, double actual, double expected, double abs_tol,
                  double rel_tol) {
  const double err = std::fabs(actual - expected);
  if (!(err <= abs_tol + rel_tol * std::fabs(expected))) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s: got %.17g, expected %.17g (error %.3g, allowed %.3g + %.3g relative)", expr,
                  actual, expected, err, abs_tol, rel_tol);
    fail(file, line, buf);
  }
}

// Calls f and checks that it throws E (or a type derived from it) whose message contains `fragment`.
template <class E, class F>
void throws(const char* file, int line, const char* expr, F&& f, const char* fragment) {
  try {
    f();
  } catch (const E& e) {
    if (std::string(e.what()).find(fragment) == std::string::npos)
      fail(file, line, std::string(expr) + ": message '" + e.what() + "' lacks '" + fragment + "'");
    return;
  } catch (const std::exception& e) {
    fail(file, line, std::string(expr) + ": threw another type: " + e.what());
    return;
  }
  fail(file, line, std::string(expr) + ": did not throw");
}

inline int finish(const char* name) {
  if (failures() == 0) {
    std::printf("%s: all checks passed\n", name);
    return 0;
  }
  std::printf("%s: %d check(s) FAILED\n", name, failures());
  return 1;
}

}  // namespace check

#define CHECK(cond) ((cond) ? (void)0 : check::fail(__FILE__, __LINE__, #cond))
#define CHECK_CLOSE(actual, expected, abs_tol, rel_tol) \
  check::close(__FILE__, __LINE__, #actual, (actual), (expected), (abs_tol), (rel_tol))
#define CHECK_THROWS(E, fragment, ...) check::throws<E>(__FILE__, __LINE__, #__VA_ARGS__, [&] { __VA_ARGS__; }, fragment)
