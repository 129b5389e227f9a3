// The CUDA team inversion (cpp/cuda/inversion_team.hpp: a pixelization's Gram-form solve, one thread block per batch
// element on the GPU) run here by teams of std::threads against galaxyfit::invert_gram: mesh-like problems of 150 to
// 260 parameters (a rectangular mesh's bilinear columns on a 40 x 40 image, a gradient regularization), positive-only
// with many active-set changes, unconstrained, with held-zero edge pixels, with linear profiles and a free-sign sky
// beside the mesh, warm-started, and failing ones. Each case runs with 1, 3 and 8 members: every member must return
// the same terms (the replicated scalars stay uniform), and the results must agree with the CPU kernel to rounding
// whatever the team size (a member reading what another writes without a barrier shows up as a difference between
// team sizes or runs).
#include <galaxyfit/inversion.hpp>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "../cuda/inversion_team.hpp"
#include "check.hpp"

namespace sc = galaxyfit::scalar;

namespace {

// A reusable barrier for n threads.
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    if (++waiting_ == n_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int n_, waiting_ = 0;
  long generation_ = 0;
};

// The Team of inversion_team.hpp on std::threads: the barrier is a mutex and condition variable (so every write
// before it is visible after it), the reductions combine the members' parts in rank order.
struct HostTeam {
  int r, n;
  Barrier* barrier;
  double* red;
  int* redi;
  int rank() const { return r; }
  int size() const { return n; }
  void sync() { barrier->wait(); }
  double sum(double v) {
    red[r] = v;
    sync();
    double total = 0.0;
    for (int q = 0; q < n; ++q) total += red[q];
    sync();
    return total;
  }
  double max(double v) {
    red[r] = v;
    sync();
    double best = -std::numeric_limits<double>::infinity();
    for (int q = 0; q < n; ++q) best = std::fmax(best, red[q]);
    sync();
    return best;
  }
  void argmax(double& v, int& i) {
    red[r] = v;
    redi[r] = i;
    sync();
    for (int q = 0; q < n; ++q)
      if (red[q] > v || (red[q] == v && redi[q] < i)) v = red[q], i = redi[q];
    sync();
  }
};

struct Problem {
  int64_t k = 0;
  std::vector<double> f, d, h;  // h empty: no regularization
  double yy = 0.0;
  std::vector<int32_t> flags;
};

unsigned g_state = 12345u;
double uniform() {
  g_state = g_state * 1664525u + 1013904223u;
  return (g_state >> 8) / 16777216.0;
}

// A mesh of m x m pixels over a 40 x 40 image (bilinear interpolation weights of each image pixel onto the mesh,
// blurred by a 3 x 3 kernel), regularized by coefficient x (the squared differences of neighbours + 1e-8 I), plus
// `profiles` unregularized Gaussian columns and, with `sky`, a flat free-sign column. Data: a positive source with
// noise at signal-to-noise `snr` per pixel, so that faint mesh pixels come out negative without positivity.
Problem mesh(int m, int profiles, bool sky, double coefficient, double snr, unsigned seed) {
  g_state = seed;
  const int side = 40, n = side * side;
  const int k_mesh = m * m, k = profiles + (sky ? 1 : 0) + k_mesh;
  std::vector<double> columns(static_cast<size_t>(k) * n, 0.0), data(n, 0.0);
  const double sigma = 1.0 / snr;
  auto at = [&](int j, int y, int x) -> double& { return columns[static_cast<size_t>(j) * n + y * side + x]; };
  for (int j = 0; j < profiles; ++j) {
    const double width = 2.0 + 2.5 * j;
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        const double dy = y - 19.5, dx = x - 20.2;
        at(j, y, x) = std::exp(-(dy * dy + dx * dx) / (2 * width * width)) / sigma;
      }
  }
  if (sky)
    for (int i = 0; i < n; ++i) columns[static_cast<size_t>(profiles) * n + i] = 1.0 / sigma;
  const int first = profiles + (sky ? 1 : 0);
  std::vector<double> unblurred(static_cast<size_t>(k_mesh) * n, 0.0);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      const double u = (y + 0.5) / side * (m - 1), v = (x + 0.5) / side * (m - 1);
      const int iu = std::min(static_cast<int>(u), m - 2), iv = std::min(static_cast<int>(v), m - 2);
      const double fu = u - iu, fv = v - iv;
      const int pixel = y * side + x;
      unblurred[static_cast<size_t>(iu * m + iv) * n + pixel] += (1 - fu) * (1 - fv);
      unblurred[static_cast<size_t>(iu * m + iv + 1) * n + pixel] += (1 - fu) * fv;
      unblurred[static_cast<size_t>((iu + 1) * m + iv) * n + pixel] += fu * (1 - fv);
      unblurred[static_cast<size_t>((iu + 1) * m + iv + 1) * n + pixel] += fu * fv;
    }
  const double kernel[3] = {0.25, 0.5, 0.25};
  for (int q = 0; q < k_mesh; ++q)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        double value = 0.0;
        for (int a = -1; a <= 1; ++a)
          for (int b = -1; b <= 1; ++b) {
            const int yy = y + a, xx = x + b;
            if (yy < 0 || yy >= side || xx < 0 || xx >= side) continue;
            value += kernel[a + 1] * kernel[b + 1] * unblurred[static_cast<size_t>(q) * n + yy * side + xx];
          }
        at(first + q, y, x) = value / sigma;
      }
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      const double dy = y - 17.0, dx = x - 22.0;
      const double source = std::exp(-(dy * dy / 30.0 + dx * dx / 12.0)) + 0.3 * std::exp(-((y - 28) * (y - 28) +
                                                                                                (x - 9) * (x - 9)) / 8.0);
      data[y * side + x] = (source + 0.02 + sigma * 2.0 * (uniform() - 0.5) * 1.7) / sigma;
    }
  Problem p;
  p.k = k;
  p.f.assign(static_cast<size_t>(k) * k, 0.0);
  p.d.assign(k, 0.0);
  for (int a = 0; a < k; ++a) {
    for (int b = 0; b <= a; ++b) {
      double v = 0.0;
      for (int i = 0; i < n; ++i) v += columns[static_cast<size_t>(a) * n + i] * columns[static_cast<size_t>(b) * n + i];
      p.f[static_cast<size_t>(a) * k + b] = p.f[static_cast<size_t>(b) * k + a] = v;
    }
    double v = 0.0;
    for (int i = 0; i < n; ++i) v += columns[static_cast<size_t>(a) * n + i] * data[i];
    p.d[a] = v;
  }
  for (int i = 0; i < n; ++i) p.yy += data[i] * data[i];
  p.flags.assign(k, 0);
  if (sky) p.flags[profiles] = galaxyfit::kColumnFreeSign;
  p.h.assign(static_cast<size_t>(k) * k, 0.0);
  for (int q = 0; q < k_mesh; ++q) {
    p.flags[first + q] = galaxyfit::kColumnRegularized;
    const int y = q / m, x = q % m;
    const size_t diag = static_cast<size_t>(first + q) * k + first + q;
    p.h[diag] += 1e-8;
    const int neighbours[2][2] = {{y + 1, x}, {y, x + 1}};
    for (const auto& nb : neighbours) {
      if (nb[0] >= m || nb[1] >= m) continue;
      const int r = first + nb[0] * m + nb[1], c = first + q;
      p.h[static_cast<size_t>(c) * k + c] += coefficient;
      p.h[static_cast<size_t>(r) * k + r] += coefficient;
      p.h[static_cast<size_t>(c) * k + r] -= coefficient;
      p.h[static_cast<size_t>(r) * k + c] -= coefficient;
    }
  }
  return p;
}

void hold_edges(Problem& p, int m) {
  const int first = static_cast<int>(p.k) - m * m;
  for (int q = 0; q < m * m; ++q) {
    const int y = q / m, x = q % m;
    if (y == 0 || x == 0 || y == m - 1 || x == m - 1) p.flags[first + q] |= galaxyfit::kColumnHeldZero;
  }
}

struct TeamResult {
  sc::SmallTerms terms;
  std::vector<double> s, lambda;
  bool uniform = true;
};

TeamResult run_team(const Problem& p, const sc::SmallSettings& settings, const double* guess, int members) {
  const int64_t k = p.k;
  TeamResult out;
  out.s.assign(k, 0.0);
  out.lambda.assign(k, 0.0);
  std::vector<double> work(sc::team_work_doubles(k), std::nan(""));  // garbage, as device memory would hold
  std::vector<int32_t> iwork(sc::team_work_ints(k), -7);
  std::vector<double> red(members);
  std::vector<int> redi(members);
  std::vector<sc::SmallTerms> terms(members);
  Barrier barrier(members);
  std::vector<std::thread> threads;
  for (int r = 0; r < members; ++r)
    threads.emplace_back([&, r] {
      HostTeam team{r, members, &barrier, red.data(), redi.data()};
      terms[r] = sc::solve_team(team, p.f.data(), p.d.data(), p.yy, static_cast<int>(k),
                                p.h.empty() ? nullptr : p.h.data(), p.flags.data(), settings, guess, out.s.data(),
                                out.lambda.data(), work.data(), iwork.data());
    });
  for (auto& t : threads) t.join();
  out.terms = terms[0];
  for (int r = 1; r < members; ++r) {
    const sc::SmallTerms& t = terms[r];
    const bool same = t.status == out.terms.status && t.iterations == out.terms.iterations &&
                      std::memcmp(&t.chi_squared, &out.terms.chi_squared, sizeof(double)) == 0 &&
                      std::memcmp(&t.log_det_curvature_reg, &out.terms.log_det_curvature_reg, sizeof(double)) == 0 &&
                      std::memcmp(&t.log_det_regularization, &out.terms.log_det_regularization, sizeof(double)) == 0 &&
                      std::memcmp(&t.regularization_term, &out.terms.regularization_term, sizeof(double)) == 0;
    out.uniform = out.uniform && same;
  }
  return out;
}

void compare(const Problem& p, const galaxyfit::InversionSettings& settings, const char* label,
             const std::vector<double>* guess = nullptr, int expect_status = 0, int64_t min_iterations = 0) {
  const int64_t k = p.k;
  const double* h = p.h.empty() ? nullptr : p.h.data();
  std::vector<double> s_cpu(k), l_cpu(k);
  const galaxyfit::InversionTerms cpu = galaxyfit::invert_gram(p.f.data(), p.d.data(), p.yy, k, h, p.flags.data(),
                                                               settings, s_cpu.data(), l_cpu.data(),
                                                               guess != nullptr ? guess->data() : nullptr);
  const sc::SmallSettings team_settings{settings.positive_only, settings.no_regularization_add_to_curvature_diag_value,
                                        settings.max_iterations, settings.compute_log_det_regularization,
                                        settings.compute_log_det_curvature_reg};
  CHECK(static_cast<int>(cpu.status) == expect_status);
  CHECK(cpu.iterations >= min_iterations);  // the case exercises the passive-set changes it is meant to
  for (int members : {1, 3, 8}) {
    const TeamResult team = run_team(p, team_settings, guess != nullptr ? guess->data() : nullptr, members);
    std::printf("%s, k = %lld, %d members: status %d / %d, iterations %lld / %lld, chi2 %.12g / %.12g\n", label,
                static_cast<long long>(k), members, static_cast<int>(cpu.status), team.terms.status,
                static_cast<long long>(cpu.iterations), static_cast<long long>(team.terms.iterations),
                cpu.chi_squared, team.terms.chi_squared);
    CHECK(team.uniform);
    CHECK(static_cast<int>(cpu.status) == team.terms.status);
    if (team.terms.status != 0) {
      for (int64_t j = 0; j < k; ++j) CHECK(team.s[j] == 0.0 && team.lambda[j] == 0.0);
      CHECK(std::isnan(team.terms.chi_squared));
      continue;
    }
    CHECK(cpu.iterations == team.terms.iterations);
    double smax = 0.0, lmax = 0.0, serr = 0.0, lerr = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      smax = std::max(smax, std::fabs(s_cpu[j]));
      lmax = std::max(lmax, std::fabs(l_cpu[j]));
      serr = std::max(serr, std::fabs(s_cpu[j] - team.s[j]));
      lerr = std::max(lerr, std::fabs(l_cpu[j] - team.lambda[j]));
      CHECK((s_cpu[j] == 0.0) == (team.s[j] == 0.0));  // the same active set
      if (settings.positive_only && !(p.flags[j] & galaxyfit::kColumnFreeSign)) CHECK(team.s[j] >= 0.0);
    }
    std::printf("  s differs by %.2g of %.2g, lambda by %.2g of %.2g; ln det A_RR %.12g / %.12g\n", serr, smax, lerr,
                lmax, cpu.log_det_curvature_reg, team.terms.log_det_curvature_reg);
    CHECK(serr <= 1e-9 * smax);
    CHECK(lerr <= 1e-9 * lmax + 1e-300);
    CHECK_CLOSE(team.terms.chi_squared, cpu.chi_squared, 1e-9, 1e-10);
    CHECK_CLOSE(team.terms.regularization_term, cpu.regularization_term, 1e-12, 1e-10);
    CHECK_CLOSE(team.terms.log_det_curvature_reg, cpu.log_det_curvature_reg, 1e-9, 1e-11);
    CHECK_CLOSE(team.terms.log_det_regularization, cpu.log_det_regularization, 1e-9, 1e-11);
  }
}

// The passive factor's up- and down-dates against fresh factorizations: append three indices, remove the first, a
// middle and the last position, and check L L^T = A_PP after each change, with every team size.
void updates() {
  const Problem p = mesh(9, 2, true, 0.3, 4.0, 5);
  const int k = static_cast<int>(p.k);
  std::vector<double> a(p.f);
  for (int j = 0; j < k; ++j) {
    for (int i = 0; i < k; ++i) a[static_cast<size_t>(j) * k + i] += p.h[static_cast<size_t>(j) * k + i];
    if (!(p.flags[j] & galaxyfit::kColumnRegularized)) a[static_cast<size_t>(j) * k + j] += 1e-3;
  }
  for (int members : {1, 4}) {
    std::vector<double> l(static_cast<size_t>(k) * k, std::nan("")), w(k), t(k), red(members);
    std::vector<int32_t> pset(k), list(k);
    std::vector<int> redi(members);
    for (int i = 0; i < 40; ++i) list[i] = 2 * i;  // k = 84: even indices, then three odd ones appended
    std::vector<int> sizes(members);
    std::vector<std::vector<int32_t>> orders;
    double worst = 0.0;
    Barrier barrier(members);
    std::vector<std::thread> threads;
    std::mutex mutex;
    for (int r = 0; r < members; ++r)
      threads.emplace_back([&, r] {
        HostTeam team{r, members, &barrier, red.data(), redi.data()};
        sc::team_detail::TeamPassive passive{a.data(), p.d.data(), k, pset.data(), 0, l.data(), w.data(), t.data()};
        auto verify = [&] {  // L L^T = A_PP, by member 0
          team.sync();
          if (r == 0) {
            for (int i = 0; i < passive.size; ++i)
              for (int j = 0; j <= i; ++j) {
                double v = 0.0;
                for (int q = 0; q <= j; ++q) v += l[i + static_cast<size_t>(q) * k] * l[j + static_cast<size_t>(q) * k];
                const double expected = a[static_cast<size_t>(pset[i]) * k + pset[j]];
                worst = std::max(worst, std::fabs(v - expected) / std::fabs(a[static_cast<size_t>(pset[i]) * k + pset[i]]));
              }
            std::lock_guard<std::mutex> lock(mutex);
            orders.emplace_back(pset.begin(), pset.begin() + passive.size);
          }
          team.sync();
        };
        CHECK(passive.assign(team, list.data(), 40));
        verify();
        for (int j : {k - 1, k - 3, k - 5}) {
          CHECK(passive.append(team, j));
          verify();
        }
        for (int q : {0, 20, 41}) {
          passive.remove_at(team, q);
          verify();
        }
        sizes[r] = passive.size;
      });
    for (auto& th : threads) th.join();
    std::printf("passive factor updates, %d members: worst |L L^T - A_PP| %.2g (relative to the diagonal)\n", members,
                worst);
    CHECK(worst < 1e-12);
    for (int r = 0; r < members; ++r) CHECK(sizes[r] == 40);
    CHECK(orders.size() == 7 && orders.back().size() == 40);
    CHECK(orders.back()[0] == list[1] && orders.back()[20] == list[22] && orders.back()[38] == k - 1 &&
          orders.back()[39] == k - 3);  // the order after removing positions 0, 20 and 41
  }
}

}  // namespace

int main() {
  updates();
  galaxyfit::InversionSettings positive;
  galaxyfit::InversionSettings free = positive;
  free.positive_only = false;

  // Faint data and a weak regularization: many mesh pixels negative without positivity.
  const Problem faint = mesh(13, 0, false, 0.004, 2.0, 1);
  compare(faint, positive, "13 x 13 mesh, positive-only", nullptr, 0, 3);
  compare(faint, free, "13 x 13 mesh, unconstrained");

  Problem edges = mesh(13, 0, false, 0.004, 2.0, 2);
  hold_edges(edges, 13);
  compare(edges, positive, "13 x 13 mesh, edge ring held at zero", nullptr, 0, 2);
  compare(edges, free, "13 x 13 mesh, edge ring (ignored without positivity)");

  // Linear profiles and a free-sign sky beside a 16 x 16 mesh (k = 260): R is not every column.
  const Problem mixed = mesh(16, 3, true, 0.2, 5.0, 3);
  compare(mixed, positive, "3 profiles + sky + 16 x 16 mesh, positive-only", nullptr, 0, 150);
  compare(mixed, free, "3 profiles + sky + 16 x 16 mesh, unconstrained");

  // A warm start from a rough guess (the unconstrained solution's signs, perturbed), as the spectral route gives.
  {
    std::vector<double> s(faint.k), lambda(faint.k);
    galaxyfit::invert_gram(faint.f.data(), faint.d.data(), faint.yy, faint.k, faint.h.data(), faint.flags.data(), free,
                           s.data(), lambda.data());
    std::vector<double> guess(faint.k);
    for (int64_t j = 0; j < faint.k; ++j) guess[j] = s[j] * (1.0 + 0.3 * std::sin(3.0 * j)) - (j % 7 == 0 ? 0.5 : 0.0);
    compare(faint, positive, "13 x 13 mesh, warm-started", &guess, 0, 10);
  }
  {  // ln det H_RR left to the caller, and a closed-form ln det A_RR: both reported as 0
    galaxyfit::InversionSettings closed = positive;
    closed.compute_log_det_regularization = false;
    closed.compute_log_det_curvature_reg = false;
    compare(faint, closed, "13 x 13 mesh, log-determinants left to the caller", nullptr, 0, 3);
  }
  {  // failures: a NaN in the data vector (3), an indefinite regularization (1), regularization without H (4)
    Problem nan = faint;
    nan.d[40] = std::nan("");
    compare(nan, positive, "NaN in D (status 3)", nullptr, 3);
    Problem indefinite = faint;
    for (int64_t j = 0; j < indefinite.k; ++j) indefinite.h[j * indefinite.k + j] -= 1e9;
    compare(indefinite, free, "indefinite, unconstrained (status 1)", nullptr, 1);
    Problem no_h = faint;
    no_h.h.clear();
    compare(no_h, positive, "regularized columns without H (status 4)", nullptr, 4);
    // Positive-only with every kept column free in sign and one held at zero: nothing is constrained, so a failed
    // factorization fails the solve (it once fell through to the unconstrained branch with s = -1 and status 0).
    Problem free_held = indefinite;
    for (auto& f : free_held.flags) f |= galaxyfit::kColumnFreeSign;
    free_held.flags[0] |= galaxyfit::kColumnHeldZero;
    compare(free_held, positive, "free-sign columns, one held at zero, indefinite (status 1)", nullptr, 1);
  }
  return check::finish("test_cuda_team");
}
