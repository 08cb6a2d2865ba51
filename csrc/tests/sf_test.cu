// sf_test.cu -- standalone test + benchmark driver for libstreamfusion (no Java).
//
//   sf_test --test            full correctness suite (float64 host reference)
//   sf_test --small           small suite (for compute-sanitizer)
//   sf_test --bench FILE.csv  B=1, H=24, S in {16384, 65536}, D in {64, 128}, bf16
//   sf_test --bench-waves F   per-rank launches of 1xN shards, split against unsplit (sf_test_split.cuh)
//   sf_test --waves           the wave table of docs/kernels.md (host only, no device needed)
// Exit: 0 pass, 1 fail, 2 CUDA/setup error, 77 no GPU (ctest: skipped).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "streamfusion.h"

#define CK(x)                                                                                             \
    do {                                                                                                  \
        cudaError_t e_ = (x);                                                                             \
        if (e_ != cudaSuccess) {                                                                          \
            fprintf(stderr, "CUDA error %s at %s:%d: %s\n", #x, __FILE__, __LINE__, cudaGetErrorString(e_)); \
            exit(2);                                                                                      \
        }                                                                                                 \
    } while (0)
#define SFCK(x)                                                                                          \
    do {                                                                                                 \
        int s_ = (x);                                                                                    \
        if (s_ != 0) {                                                                                   \
            fprintf(stderr, "%s failed at %s:%d: status %d (%s): %s\n", #x, __FILE__, __LINE__, s_,      \
                    sf_status_string(s_), sf_last_error_message());                                      \
            exit(2);                                                                                     \
        }                                                                                                \
    } while (0)

static void after_launch() {
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
}

static int g_failures = 0;
static void report(const char* name, double err, double tol) {
    const bool ok = err <= tol;  // NaN fails
    printf("  %-58s err=%.3e tol=%.1e %s\n", name, err, tol, ok ? "PASS" : "FAIL");
    if (!ok) ++g_failures;
}
static void report_bool(const char* name, bool ok) {
    printf("  %-58s %s\n", name, ok ? "PASS" : "FAIL");
    if (!ok) ++g_failures;
}

// ---------------------------------------------------------------- host dtype helpers
static size_t esize(sf_dtype t) { return t == SF_DTYPE_FP32 ? 4 : 2; }
static float round_to(sf_dtype t, float x) {
    if (t == SF_DTYPE_BF16) return __bfloat162float(__float2bfloat16_rn(x));
    if (t == SF_DTYPE_FP16) return __half2float(__float2half_rn(x));
    return x;
}
static void store(sf_dtype t, void* base, size_t i, float x) {
    if (t == SF_DTYPE_BF16) reinterpret_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16_rn(x);
    else if (t == SF_DTYPE_FP16) reinterpret_cast<__half*>(base)[i] = __float2half_rn(x);
    else reinterpret_cast<float*>(base)[i] = x;
}
static float load(sf_dtype t, const void* base, size_t i) {
    if (t == SF_DTYPE_BF16) return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(base)[i]);
    if (t == SF_DTYPE_FP16) return __half2float(reinterpret_cast<const __half*>(base)[i]);
    return reinterpret_cast<const float*>(base)[i];
}

// ---------------------------------------------------------------- tensors
// Logical [B, R, H, D]; stored in a buffer [B, R, Hbuf, D] (+ row padding), view at head `hoff`.
struct Tensor {
    int B = 0, R = 0, H = 0, D = 0;
    int Hbuf = 0, hoff = 0;
    long long sb = 0, sr = 0, sh = 0;
    sf_dtype dt = SF_DTYPE_BF16;
    void* dbase = nullptr;
    size_t nbuf = 0;         // elements in buffer
    std::vector<float> h;    // logical values, dense [B,R,H,D]
    std::vector<uint8_t> raw;  // host image of the whole buffer (for poison checks)

    size_t lidx(int b, int r, int hh, int d) const { return (((size_t)b * R + r) * H + hh) * D + d; }
    size_t bidx(int b, int r, int hh, int d) const { return b * sb + r * sr + (hh + hoff) * sh + d; }
    sf_view view() const {
        sf_view v;
        v.ptr = static_cast<char*>(dbase) + (size_t)hoff * sh * esize(dt);
        v.batch = B; v.rows = R; v.heads = H;
        v.stride_batch = sb; v.stride_row = sr; v.stride_head = sh;
        return v;
    }
    void free_dev() {
        if (dbase) CK(cudaFree(dbase));
        dbase = nullptr;
    }
};

static void layout(Tensor& t, int B, int R, int H, int D, sf_dtype dt, bool strided) {
    t.B = B; t.R = R; t.H = H; t.D = D; t.dt = dt;
    t.Hbuf = strided ? H + 1 : H;
    t.hoff = strided ? 1 : 0;
    t.sh = D;
    // padding keeps 16-byte alignment of 16-bit rows (8 elements) when D > 1
    t.sr = (long long)t.Hbuf * D + (strided ? (D > 1 ? 8 : 3) : 0);
    t.sb = (long long)R * t.sr + (strided ? (D > 1 ? 16 : 5) : 0);
    t.nbuf = (size_t)B * t.sb;
    CK(cudaMalloc(&t.dbase, t.nbuf * esize(dt)));
}

using Gen = std::function<float(int b, int r, int h, int d)>;

// Input: values from gen rounded to dtype; everything outside the view is NaN.
static void make_input(Tensor& t, int B, int R, int H, int D, sf_dtype dt, bool strided, const Gen& gen) {
    layout(t, B, R, H, D, dt, strided);
    t.h.assign((size_t)B * R * H * D, 0.f);
    std::vector<uint8_t> img(t.nbuf * esize(dt), 0xFF);  // 0xFFFF (16-bit) / 0xFFFFFFFF (fp32) = NaN
    for (int b = 0; b < B; ++b)
        for (int r = 0; r < R; ++r)
            for (int hh = 0; hh < H; ++hh)
                for (int d = 0; d < D; ++d) {
                    const float x = round_to(dt, gen(b, r, hh, d));
                    t.h[t.lidx(b, r, hh, d)] = x;
                    store(dt, img.data(), t.bidx(b, r, hh, d), x);
                }
    CK(cudaMemcpy(t.dbase, img.data(), img.size(), cudaMemcpyHostToDevice));
}
// Output: whole buffer poisoned with NaN.
static void make_output(Tensor& t, int B, int R, int H, int D, sf_dtype dt, bool strided) {
    layout(t, B, R, H, D, dt, strided);
    CK(cudaMemset(t.dbase, 0xFF, t.nbuf * esize(dt)));
}
static void poison(Tensor& t) { CK(cudaMemset(t.dbase, 0xFF, t.nbuf * esize(t.dt))); }

// Download the logical values; returns false if any element outside the view lost its NaN poison.
static bool download(Tensor& t) {
    const size_t es = esize(t.dt);
    t.raw.resize(t.nbuf * es);
    CK(cudaMemcpy(t.raw.data(), t.dbase, t.raw.size(), cudaMemcpyDeviceToHost));
    t.h.assign((size_t)t.B * t.R * t.H * t.D, 0.f);
    std::vector<uint8_t> inside(t.nbuf, 0);
    for (int b = 0; b < t.B; ++b)
        for (int r = 0; r < t.R; ++r)
            for (int hh = 0; hh < t.H; ++hh)
                for (int d = 0; d < t.D; ++d) {
                    const size_t bi = t.bidx(b, r, hh, d);
                    inside[bi] = 1;
                    t.h[t.lidx(b, r, hh, d)] = load(t.dt, t.raw.data(), bi);
                }
    bool intact = true;
    for (size_t i = 0; i < t.nbuf; ++i)
        if (!inside[i] && !std::isnan(load(t.dt, t.raw.data(), i))) { intact = false; break; }
    return intact;
}

static double rel_err(const std::vector<float>& got, const std::vector<double>& ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (!std::isfinite(got[i]) && !(std::isinf(got[i]) && got[i] == ref[i])) return INFINITY;  // NaN never passes
        if (std::isinf(ref[i])) continue;
        const double d = got[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

// ---------------------------------------------------------------- float64 reference
struct RefOut {
    std::vector<double> O;    // [B,R,H,D]
    std::vector<double> lse;  // [B,R,H]
};

static void reference(const std::vector<Tensor*>& qs, const std::vector<Tensor*>& ks, const std::vector<Tensor*>& vs,
                      double scale, std::vector<RefOut>& out) {
    out.assign(qs.size(), RefOut());
    struct Task { int qi, b, h; };
    std::vector<Task> tasks;
    for (size_t i = 0; i < qs.size(); ++i) {
        const Tensor& q = *qs[i];
        out[i].O.assign((size_t)q.B * q.R * q.H * q.D, 0.0);
        out[i].lse.assign((size_t)q.B * q.R * q.H, 0.0);
        for (int b = 0; b < q.B; ++b)
            for (int h = 0; h < q.H; ++h) tasks.push_back({(int)i, b, h});
    }
    std::atomic<size_t> next(0);
    auto work = [&]() {
        std::vector<double> s, qd;
        for (;;) {
            const size_t ti = next.fetch_add(1);
            if (ti >= tasks.size()) return;
            const Task tk = tasks[ti];
            const Tensor& q = *qs[tk.qi];
            const int D = q.D;
            qd.resize(D);
            for (int r = 0; r < q.R; ++r) {
                for (int d = 0; d < D; ++d) qd[d] = q.h[q.lidx(tk.b, r, tk.h, d)];
                s.clear();
                double m = -INFINITY;
                for (size_t c = 0; c < ks.size(); ++c) {
                    const Tensor& k = *ks[c];
                    for (int j = 0; j < k.R; ++j) {
                        const float* kr = &k.h[k.lidx(tk.b, j, tk.h, 0)];
                        double acc = 0;
                        for (int d = 0; d < D; ++d) acc += qd[d] * (double)kr[d];
                        acc *= scale;
                        s.push_back(acc);
                        m = std::max(m, acc);
                    }
                }
                double l = 0;
                for (double& x : s) { x = exp(x - m); l += x; }
                double* o = &out[tk.qi].O[q.lidx(tk.b, r, tk.h, 0)];
                size_t si = 0;
                for (size_t c = 0; c < vs.size(); ++c) {
                    const Tensor& v = *vs[c];
                    for (int j = 0; j < v.R; ++j) {
                        const double p = s[si++] / l;
                        const float* vr = &v.h[v.lidx(tk.b, j, tk.h, 0)];
                        for (int d = 0; d < D; ++d) o[d] += p * vr[d];
                    }
                }
                out[tk.qi].lse[((size_t)tk.b * q.R + r) * q.H + tk.h] = m + log(l);
            }
        }
    };
    unsigned nt = std::max(1u, std::min(32u, std::thread::hardware_concurrency()));
    std::vector<std::thread> th;
    for (unsigned i = 0; i < nt; ++i) th.emplace_back(work);
    for (auto& x : th) x.join();
}

// ---------------------------------------------------------------- per-chunk state
struct State {
    Tensor o, m, l;
    sf_state st() const { return sf_state{o.view(), m.view(), l.view()}; }
    void alloc(int B, int R, int H, int D, bool strided) {
        make_output(o, B, R, H, D, SF_DTYPE_FP32, strided);
        make_output(m, B, R, H, 1, SF_DTYPE_FP32, strided);
        make_output(l, B, R, H, 1, SF_DTYPE_FP32, strided);
    }
    void free_dev() { o.free_dev(); m.free_dev(); l.free_dev(); }
};

static std::mt19937_64 g_rng;  // seeded in main(): SF_TEST_SEED or std::random_device (printed)
static Gen uniform_gen(float amp) {
    auto dist = std::make_shared<std::uniform_real_distribution<float>>(-amp, amp);
    return [dist](int, int, int, int) { return (*dist)(g_rng); };
}

struct Problem {
    int B, H, D;
    sf_dtype dt;
    std::vector<Tensor> q, k, v;
    std::vector<RefOut> ref;
    double scale;
};

static void build_problem(Problem& P, int B, int H, int D, sf_dtype dt, const std::vector<int>& qrows,
                          const std::vector<int>& kvrows) {
    P.B = B; P.H = H; P.D = D; P.dt = dt;
    P.scale = 1.0 / sqrt((double)D);
    P.q.resize(qrows.size());
    P.k.resize(kvrows.size());
    P.v.resize(kvrows.size());
    for (size_t i = 0; i < qrows.size(); ++i) make_input(P.q[i], B, qrows[i], H, D, dt, i % 2 == 0, uniform_gen(2.f));
    for (size_t i = 0; i < kvrows.size(); ++i) {
        make_input(P.k[i], B, kvrows[i], H, D, dt, i % 2 == 1, uniform_gen(2.f));
        make_input(P.v[i], B, kvrows[i], H, D, dt, i % 2 == 0, uniform_gen(1.f));
    }
}

static void ref_for(const Problem& P, const std::vector<int>& kv_idx, std::vector<RefOut>& out) {
    std::vector<Tensor*> qs, ks, vs;
    for (auto& t : P.q) qs.push_back(const_cast<Tensor*>(&t));
    for (int j : kv_idx) { ks.push_back(const_cast<Tensor*>(&P.k[j])); vs.push_back(const_cast<Tensor*>(&P.v[j])); }
    reference(qs, ks, vs, P.scale, out);
}

// The schedule every launch() below passes (NULL: the device's SMs, no split), and how many of
// those launches the library split (sf_attention_split_plan on the same numbers).
static const sf_schedule* g_schedule = nullptr;
static long long g_split_launches = 0;
static int g_split_search_max = 0;
static long long g_counters_left = 0;  // split counters not back at zero after a launch
static int g_last_sms = 0;            // the SM count of the last scheduled launch  // > sm_count: launch() looks for an SM count at which the launch splits

// Launch one fused call over all Q chunks and the given KV chunks.
static void launch(Problem& P, std::vector<State>* states, std::vector<Tensor>* outs, std::vector<Tensor>* lses,
                   const std::vector<int>& kv_idx, uint32_t flags, float scale) {
    std::vector<sf_q_chunk> qc(P.q.size());
    for (size_t i = 0; i < P.q.size(); ++i) {
        memset(&qc[i], 0, sizeof(sf_q_chunk));
        qc[i].q = P.q[i].view();
        if (states) qc[i].state = (*states)[i].st();
        if (outs) qc[i].out = (*outs)[i].view();
        if (lses) qc[i].lse = (*lses)[i].view();
    }
    std::vector<sf_kv_chunk> kc;
    for (int j : kv_idx) kc.push_back(sf_kv_chunk{P.k[j].view(), P.v[j].view()});
    sf_schedule chosen{};
    if (g_schedule) {
        int64_t q_tiles = 0, unsplit = 0;
        int kv_tiles = 0, split = 0, pieces = 1;
        for (auto& t : P.q) q_tiles += (t.R + 127) / 128;
        for (int j : kv_idx) kv_tiles += (P.k[j].R + 127) / 128;
        chosen = *g_schedule;
        SFCK(sf_attention_split_plan(q_tiles * P.B * P.H, kv_tiles, chosen.sm_count, P.D, chosen.workspace_bytes,
                                     &unsplit, &split, &pieces));
        // The split suite wants split launches to check: from the suite's SM count up, the first count
        // (at most g_split_search_max) at which the rule splits this launch, else the suite's own.
        for (int sms = g_schedule->sm_count + 1; pieces == 1 && sms <= g_split_search_max; ++sms) {
            const size_t bytes = g_schedule->workspace_bytes - SF_SPLIT_COUNTER_BYTES(g_schedule->sm_count) +
                                 SF_SPLIT_COUNTER_BYTES(sms);
            SFCK(sf_attention_split_plan(q_tiles * P.B * P.H, kv_tiles, sms, P.D, bytes, &unsplit, &split, &pieces));
            if (pieces > 1) {
                chosen.sm_count = sms;
                chosen.workspace_bytes = bytes;
                break;
            }
        }
        if (pieces > 1) ++g_split_launches;
        // Counters sit before the slots, sized by the SM count: when it changes, a launch would read the
        // last one's slots as its counters, so they start at zero again (every launch leaves its own at 0).
        if (g_split_search_max > 0 && chosen.sm_count != g_last_sms) {
            CK(cudaMemset(chosen.workspace, 0, SF_SPLIT_COUNTER_BYTES(g_split_search_max)));
        }
        g_last_sms = chosen.sm_count;
    }
    SFCK(sf_attention_fused_scheduled(qc.data(), (int)qc.size(), kc.data(), (int)kc.size(), P.D, P.dt, scale, flags,
                                      g_schedule ? &chosen : nullptr, nullptr));
    after_launch();
    if (g_schedule && chosen.workspace) {  // every launch leaves its split counters at zero
        std::vector<unsigned> counters(SF_SPLIT_COUNTER_BYTES(chosen.sm_count) / 4);
        CK(cudaMemcpy(counters.data(), chosen.workspace, counters.size() * 4, cudaMemcpyDeviceToHost));
        for (unsigned c : counters) g_counters_left += c != 0;
    }
}

static void alloc_outputs(Problem& P, std::vector<State>& st, std::vector<Tensor>& outs, std::vector<Tensor>& lses) {
    st.resize(P.q.size());
    outs.resize(P.q.size());
    lses.resize(P.q.size());
    for (size_t i = 0; i < P.q.size(); ++i) {
        st[i].alloc(P.B, P.q[i].R, P.H, P.D, i % 2 == 1);
        make_output(outs[i], P.B, P.q[i].R, P.H, P.D, P.dt, i % 2 == 1);
        make_output(lses[i], P.B, P.q[i].R, P.H, 1, SF_DTYPE_FP32, i % 2 == 0);
    }
}

// Check O and lse of every chunk against the reference; poison outside the views must be intact.
static void check_out(const char* name, Problem& P, std::vector<Tensor>& outs, std::vector<Tensor>* lses,
                      const std::vector<RefOut>& ref, double tol) {
    std::vector<float> got;
    std::vector<double> want, got_lse_ref;
    std::vector<float> got_lse;
    bool intact = true;
    for (size_t i = 0; i < outs.size(); ++i) {
        intact &= download(outs[i]);
        got.insert(got.end(), outs[i].h.begin(), outs[i].h.end());
        want.insert(want.end(), ref[i].O.begin(), ref[i].O.end());
        if (lses) {
            intact &= download((*lses)[i]);
            got_lse.insert(got_lse.end(), (*lses)[i].h.begin(), (*lses)[i].h.end());
            got_lse_ref.insert(got_lse_ref.end(), ref[i].lse.begin(), ref[i].lse.end());
        }
    }
    char buf[160];
    snprintf(buf, sizeof buf, "%s: O", name);
    report(buf, rel_err(got, want), tol);
    if (lses) {
        snprintf(buf, sizeof buf, "%s: lse", name);
        report(buf, rel_err(got_lse, got_lse_ref), 1e-3);
    }
    snprintf(buf, sizeof buf, "%s: no write outside the views", name);
    report_bool(buf, intact);
}

// State consistency: o/l == O_ref and m + log l == lse_ref.
static void check_state(const char* name, Problem& P, std::vector<State>& st, const std::vector<RefOut>& ref, double tol) {
    std::vector<float> got, gl;
    std::vector<double> want, wl;
    for (size_t i = 0; i < st.size(); ++i) {
        download(st[i].o); download(st[i].m); download(st[i].l);
        const Tensor& o = st[i].o;
        for (int b = 0; b < o.B; ++b)
            for (int r = 0; r < o.R; ++r)
                for (int h = 0; h < o.H; ++h) {
                    const size_t mi = ((size_t)b * o.R + r) * o.H + h;
                    const float l = st[i].l.h[mi], m = st[i].m.h[mi];
                    for (int d = 0; d < o.D; ++d) {
                        got.push_back(o.h[o.lidx(b, r, h, d)] / l);
                        want.push_back(ref[i].O[o.lidx(b, r, h, d)]);
                    }
                    gl.push_back(m + logf(l));
                    wl.push_back(ref[i].lse[mi]);
                }
    }
    char buf[160];
    snprintf(buf, sizeof buf, "%s: state o/l", name);
    report(buf, rel_err(got, want), tol);
    snprintf(buf, sizeof buf, "%s: state m+log(l)", name);
    report(buf, rel_err(gl, wl), 1e-3);
}

static void free_all(std::vector<State>& st, std::vector<Tensor>& outs, std::vector<Tensor>& lses) {
    for (auto& s : st) s.free_dev();
    for (auto& t : outs) t.free_dev();
    for (auto& t : lses) t.free_dev();
}

// Logical batch B over one stored batch: stride_batch = 0 (every batch reads the same K/V).
static void broadcast_batch(Tensor& t, int B) {
    const std::vector<float> one = t.h;
    t.h.clear();
    for (int b = 0; b < B; ++b) t.h.insert(t.h.end(), one.begin(), one.end());
    t.B = B;
    t.sb = 0;
}

static void run_suite(sf_dtype dt, int D, bool small) {
    const double tol = dt == SF_DTYPE_BF16 ? 1e-2 : 5e-3;
    const char* dn = dt == SF_DTYPE_BF16 ? "bf16" : "fp16";
    printf("== %s D=%d %s\n", dn, D, small ? "(small)" : "");
    const int B = 2, H = small ? 2 : 3;
    char nm[128];

    // T1: single chunk (rows not tile multiples), state + out + lse
    {
        Problem P;
        build_problem(P, B, H, D, dt, {small ? 200 : 1000}, {small ? 77 : 777});
        std::vector<RefOut> ref;
        ref_for(P, {0}, ref);
        std::vector<State> st; std::vector<Tensor> outs, lses;
        alloc_outputs(P, st, outs, lses);
        launch(P, &st, &outs, &lses, {0}, SF_INIT | SF_FINALIZE | SF_WRITE_LSE, (float)P.scale);
        check_out("single chunk", P, outs, &lses, ref, tol);
        check_state("single chunk", P, st, ref, tol);
        free_all(st, outs, lses);
        for (auto& t : P.q) t.free_dev();
        for (auto& t : P.k) t.free_dev();
        for (auto& t : P.v) t.free_dev();
    }

    // T2..T4: 4 Q chunks x 3 KV chunks of ragged lengths
    {
        Problem P;
        const std::vector<int> qr = small ? std::vector<int>{1, 127, 129, 200} : std::vector<int>{1, 127, 1000, 4099};
        const std::vector<int> kr = small ? std::vector<int>{130, 1, 65} : std::vector<int>{1000, 1, 4099};
        build_problem(P, B, H, D, dt, qr, kr);
        std::vector<RefOut> ref;
        ref_for(P, {0, 1, 2}, ref);

        std::vector<State> st; std::vector<Tensor> outs, lses;
        alloc_outputs(P, st, outs, lses);
        launch(P, &st, &outs, &lses, {0, 1, 2}, SF_INIT | SF_FINALIZE | SF_WRITE_LSE, (float)P.scale);
        snprintf(nm, sizeof nm, "4Q x 3KV ragged (%d,%d,%d,%d | %d,%d,%d)", qr[0], qr[1], qr[2], qr[3], kr[0], kr[1], kr[2]);
        check_out(nm, P, outs, &lses, ref, tol);
        check_state("4Q x 3KV ragged", P, st, ref, tol);

        // carried state: launch A = KV {0,1} (INIT), launch B = KV {2} (FINALIZE)
        for (auto& s : st) { poison(s.o); poison(s.m); poison(s.l); }
        for (auto& t : outs) poison(t);
        for (auto& t : lses) poison(t);
        launch(P, &st, nullptr, nullptr, {0, 1}, SF_INIT, (float)P.scale);
        launch(P, &st, &outs, &lses, {2}, SF_FINALIZE | SF_WRITE_LSE, (float)P.scale);
        check_out("carried state: 2 launches == 1 launch", P, outs, &lses, ref, tol);
        check_state("carried state", P, st, ref, tol);

        // stateless one-shot (NULL state)
        for (auto& t : outs) poison(t);
        launch(P, nullptr, &outs, nullptr, {2, 0, 1}, SF_INIT | SF_FINALIZE, (float)P.scale);
        check_out("stateless INIT|FINALIZE, KV order permuted", P, outs, nullptr, ref, tol);

        // merge: X = KV{0}, Y = KV{1,2}; X <- merge(X, Y) in place; finalize(X)
        std::vector<State> sy(P.q.size());
        for (size_t i = 0; i < P.q.size(); ++i) sy[i].alloc(B, P.q[i].R, H, D, i % 2 == 0);
        for (auto& s : st) { poison(s.o); poison(s.m); poison(s.l); }
        launch(P, &st, nullptr, nullptr, {0}, SF_INIT, (float)P.scale);
        launch(P, &sy, nullptr, nullptr, {1, 2}, SF_INIT, (float)P.scale);
        for (auto& t : outs) poison(t);
        for (auto& t : lses) poison(t);
        for (size_t i = 0; i < P.q.size(); ++i) {
            sf_state a = st[i].st(), b = sy[i].st();
            SFCK(sf_state_merge(&a, &b, &a, B, P.q[i].R, H, D, nullptr));
            after_launch();
            sf_view ov = outs[i].view(), lv = lses[i].view();
            SFCK(sf_state_finalize(&a, &ov, dt, &lv, B, P.q[i].R, H, D, nullptr));
            after_launch();
        }
        check_out("merge(KV{0}, KV{1,2}) in place + finalize", P, outs, &lses, ref, tol);

        // merge with empty states: m=-inf, l=0, o=0 on both sides -> no NaN
        {
            State e1, e2;
            const int R = 33;
            e1.alloc(1, R, 2, D, false);
            e2.alloc(1, R, 2, D, true);
            std::vector<float> ninf((size_t)R * 2, -INFINITY), zl((size_t)R * 2, 0.f), zo((size_t)R * 2 * D, 0.f);
            CK(cudaMemcpy(e1.m.dbase, ninf.data(), ninf.size() * 4, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(e1.l.dbase, zl.data(), zl.size() * 4, cudaMemcpyHostToDevice));
            CK(cudaMemcpy(e1.o.dbase, zo.data(), zo.size() * 4, cudaMemcpyHostToDevice));
            sf_state a = e1.st(), o2 = e2.st();
            SFCK(sf_state_merge(&a, &a, &o2, 1, R, 2, D, nullptr));
            after_launch();
            download(e2.o); download(e2.m); download(e2.l);
            bool ok = true;
            for (float x : e2.o.h) ok &= (x == 0.f);
            for (float x : e2.l.h) ok &= (x == 0.f);
            for (float x : e2.m.h) ok &= (std::isinf(x) && x < 0);
            report_bool("merge(empty, empty): m=-inf, l=0, o=0, no NaN", ok);
            e1.free_dev(); e2.free_dev();
        }
        for (auto& s : sy) s.free_dev();
        free_all(st, outs, lses);
        for (auto& t : P.q) t.free_dev();
        for (auto& t : P.k) t.free_dev();
        for (auto& t : P.v) t.free_dev();
    }

    // T5: whole score rows very negative (finite) and overflowing to -inf
    {
        Problem P;
        P.B = 1; P.H = 2; P.D = D; P.dt = dt;
        P.q.resize(1); P.k.resize(2); P.v.resize(2);
        std::uniform_real_distribution<float> u(0.f, 1.f);
        make_input(P.q[0], 1, 300, 2, D, dt, true, [&](int, int r, int, int) { return r % 3 == 0 ? -8.f : -4.f - 4.f * u(g_rng); });
        for (int j = 0; j < 2; ++j) {
            make_input(P.k[j], 1, j == 0 ? 100 : 257, 2, D, dt, false, [&](int, int, int, int) { return 0.5f + u(g_rng); });
            make_input(P.v[j], 1, j == 0 ? 100 : 257, 2, D, dt, true, [&](int, int, int, int) { return 2.f * u(g_rng) - 1.f; });
        }
        P.scale = 0.5;  // scaled scores around -2000 .. -6000: far below any exp range
        std::vector<RefOut> ref;
        ref_for(P, {0, 1}, ref);
        std::vector<State> st; std::vector<Tensor> outs, lses;
        alloc_outputs(P, st, outs, lses);
        launch(P, &st, &outs, &lses, {0, 1}, SF_INIT | SF_FINALIZE | SF_WRITE_LSE, (float)P.scale);
        check_out("very negative score rows (scaled ~ -250..-800)", P, outs, &lses, ref, tol);
        // scale so large that every scaled score is -inf: expect O = 0, lse = -inf, no NaN
        for (auto& t : outs) poison(t);
        for (auto& t : lses) poison(t);
        launch(P, &st, &outs, &lses, {0, 1}, SF_INIT | SF_FINALIZE | SF_WRITE_LSE, 1e37f);
        download(outs[0]); download(lses[0]); download(st[0].m); download(st[0].l);
        bool ok = true;
        for (float x : outs[0].h) ok &= (x == 0.f);
        for (float x : lses[0].h) ok &= (std::isinf(x) && x < 0);
        for (float x : st[0].l.h) ok &= (x == 0.f);
        report_bool("all scores -inf (overflow): O=0, lse=-inf, l=0, no NaN", ok);
        free_all(st, outs, lses);
        for (auto& t : P.q) t.free_dev();
        for (auto& t : P.k) t.free_dev();
        for (auto& t : P.v) t.free_dev();
    }

    // T6: KV chunk 0 shared by the batch (stride_batch = 0). No TMA tensor map has a zero
    // stride, so on sm_90a this launch runs the cp.async + wgmma fallback kernel.
    {
        Problem P;
        P.B = B; P.H = H; P.D = D; P.dt = dt;
        P.scale = 1.0 / sqrt((double)D);
        P.q.resize(1); P.k.resize(2); P.v.resize(2);
        make_input(P.q[0], B, small ? 130 : 700, H, D, dt, true, uniform_gen(2.f));
        const int r0 = small ? 70 : 300, r1 = small ? 129 : 513;
        make_input(P.k[0], 1, r0, H, D, dt, false, uniform_gen(2.f));
        make_input(P.v[0], 1, r0, H, D, dt, true, uniform_gen(1.f));
        broadcast_batch(P.k[0], B);
        broadcast_batch(P.v[0], B);
        make_input(P.k[1], B, r1, H, D, dt, true, uniform_gen(2.f));
        make_input(P.v[1], B, r1, H, D, dt, false, uniform_gen(1.f));
        std::vector<RefOut> ref;
        ref_for(P, {0, 1}, ref);
        std::vector<State> st; std::vector<Tensor> outs, lses;
        alloc_outputs(P, st, outs, lses);
        launch(P, &st, &outs, &lses, {0, 1}, SF_INIT | SF_FINALIZE | SF_WRITE_LSE, (float)P.scale);
        check_out("K/V stride_batch = 0 (no TMA map: cp.async fallback on sm_90a)", P, outs, &lses, ref, tol);
        check_state("K/V stride_batch = 0", P, st, ref, tol);
        free_all(st, outs, lses);
        for (auto& t : P.q) t.free_dev();
        for (auto& t : P.k) t.free_dev();
        for (auto& t : P.v) t.free_dev();
    }
}

static void copy_suite() {
    printf("== strided copy\n");
    const sf_dtype dts[3] = {SF_DTYPE_BF16, SF_DTYPE_FP16, SF_DTYPE_FP32};
    const int Ds[3] = {128, 64, 3};
    // packed = both views contiguous: sf_copy_strided takes its flat path (whole chunks, one-sided copies).
    for (bool packed : {false, true})
    for (sf_dtype dt : dts)
        for (int D : Ds) {
            Tensor src, dst;
            make_input(src, 2, 37, 5, D, dt, !packed, uniform_gen(3.f));
            make_output(dst, 2, 37, 5, D, dt, packed ? false : D != 64);
            sf_view sv = src.view(), dv = dst.view();
            dv.batch = dv.rows = dv.heads = 0;  // inherit
            SFCK(sf_copy_strided(&sv, &dv, D, dt, nullptr));
            after_launch();
            const bool intact = download(dst);
            bool eq = dst.h.size() == src.h.size();
            for (size_t i = 0; eq && i < src.h.size(); ++i) eq = memcmp(&src.h[i], &dst.h[i], 4) == 0;
            char nm[96];
            snprintf(nm, sizeof nm, "copy %s D=%d %s exact, nothing outside dst view written",
                     dt == SF_DTYPE_BF16 ? "bf16" : dt == SF_DTYPE_FP16 ? "fp16" : "fp32", D, packed ? "packed" : "strided");
            report_bool(nm, eq && intact);
            src.free_dev(); dst.free_dev();
        }
}

static void segments_suite() {
    printf("== segment copy (the one-sided mover)\n");
    // Segments at every vector width (16, 8, 4, 2, 1 bytes: set by the pointers' alignment), some large
    // enough for several passes of several blocks, with odd tails and an empty one; each starts on a
    // 256-byte boundary plus its offset, with guard bytes around it. One launch copies all of them;
    // every byte and every guard byte is checked.
    struct Case { long long bytes; int dst_off, src_off; };
    const Case cases[] = {
        {3 * (1 << 20) + 7, 0, 0},   // width 16, 48 passes of 4096 vectors at 1 block/segment, 7-byte tail
        {(1 << 20) + 5, 16, 32},     // width 16 again, other offsets
        {(1 << 20) + 5, 8, 24},      // width 8
        {(256 << 10) + 3, 4, 12},    // width 4
        {100000 + 1, 2, 6},          // width 2
        {70001, 1, 3},               // width 1
        {0, 0, 0}, {1, 5, 9}, {15, 0, 0}, {17, 8, 8},
    };
    const int n = sizeof cases / sizeof cases[0];
    std::vector<long long> base(n);
    long long total = 0;
    for (int i = 0; i < n; i++) {
        base[i] = total;
        total = (total + 64 + cases[i].bytes + 64 + 255) / 256 * 256;
    }
    std::vector<unsigned char> hs(total), hd(total, 0xA5);
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& c : hs) c = (unsigned char)byte(g_rng);
    unsigned char *ds, *dd;
    CK(cudaMalloc(&ds, total));
    CK(cudaMalloc(&dd, total));
    CK(cudaMemcpy(ds, hs.data(), total, cudaMemcpyHostToDevice));
    std::vector<sf_copy_segment> seg(n);
    bool widths[17] = {false};
    for (int i = 0; i < n; i++) {
        unsigned char* d = dd + base[i] + 64 + cases[i].dst_off;
        const unsigned char* src = ds + base[i] + 64 + cases[i].src_off;
        seg[i] = sf_copy_segment{d, src, cases[i].bytes};
        const uintptr_t a = reinterpret_cast<uintptr_t>(d) | reinterpret_cast<uintptr_t>(src);
        int w = 16;
        while (w > 1 && a % w) w /= 2;
        if (cases[i].bytes >= 4096) widths[w] = true;
    }
    const bool all_widths = widths[16] && widths[8] && widths[4] && widths[2] && widths[1];
    report_bool("segment cases cover vector widths 16, 8, 4, 2 and 1 with >= 4 KiB each", all_widths);
    for (int per : {0, 1, 3}) {
        CK(cudaMemcpy(dd, hd.data(), total, cudaMemcpyHostToDevice));
        SFCK(sf_copy_segments(seg.data(), n, per, nullptr));
        after_launch();
        std::vector<unsigned char> got(total);
        CK(cudaMemcpy(got.data(), dd, total, cudaMemcpyDeviceToHost));
        long long bad_at = -1;
        for (int i = 0; i < n && bad_at < 0; i++) {
            const long long lo = base[i] + 64 + cases[i].dst_off, hi = lo + cases[i].bytes;
            const long long end = i + 1 < n ? base[i + 1] : total;
            for (long long j = base[i]; j < end; j++) {
                const unsigned char want = (j >= lo && j < hi) ? hs[base[i] + 64 + cases[i].src_off + (j - lo)] : 0xA5;
                if (got[j] != want) { bad_at = j; break; }
            }
        }
        if (bad_at >= 0) printf("  first wrong byte at offset %lld\n", bad_at);
        char nm[128];
        snprintf(nm, sizeof nm, "%d segments (0 B .. 3 MiB + 7) blocks/segment %d%s: every byte exact, guards intact", n,
                 per, per == 0 ? " (library's choice)" : "");
        report_bool(nm, bad_at < 0);
    }
    report_bool("count 0 -> SF_OK, nothing launched", sf_copy_segments(nullptr, 0, 0, nullptr) == SF_OK);
    std::vector<sf_copy_segment> many(SF_MAX_COPY_SEGMENTS + 1, seg[7]);
    report_bool("count 65 -> SF_ERR_INVALID_ARGUMENT", sf_copy_segments(many.data(), SF_MAX_COPY_SEGMENTS + 1, 0, nullptr) == SF_ERR_INVALID_ARGUMENT);
    sf_copy_segment bad = seg[7];
    bad.bytes = -1;
    report_bool("bytes -1 -> SF_ERR_INVALID_ARGUMENT naming segments[0].bytes",
                sf_copy_segments(&bad, 1, 0, nullptr) == SF_ERR_INVALID_ARGUMENT &&
                    strstr(sf_last_error_message(), "segments[0].bytes") != nullptr);
    bad = seg[7];
    bad.src = nullptr;
    report_bool("NULL src -> SF_ERR_NULL_POINTER", sf_copy_segments(&bad, 1, 0, nullptr) == SF_ERR_NULL_POINTER);
    CK(cudaFree(ds));
    CK(cudaFree(dd));
}

static void arg_suite() {
    printf("== argument checks\n");
    Tensor q;
    make_input(q, 1, 16, 2, 64, SF_DTYPE_BF16, false, uniform_gen(1.f));
    sf_q_chunk qc;
    memset(&qc, 0, sizeof qc);
    qc.q = q.view();
    Tensor o;
    make_output(o, 1, 16, 2, 64, SF_DTYPE_BF16, false);
    qc.out = o.view();
    sf_kv_chunk kc{q.view(), q.view()};
    const uint32_t f = SF_INIT | SF_FINALIZE;
    int s = sf_attention_fused(&qc, 0, &kc, 1, 64, SF_DTYPE_BF16, 0.125f, f, nullptr);
    report_bool("nq = 0 -> SF_ERR_TOO_MANY_CHUNKS", s == SF_ERR_TOO_MANY_CHUNKS && strlen(sf_last_error_message()) > 0);
    s = sf_attention_fused(&qc, 1, &kc, 1, 96, SF_DTYPE_BF16, 0.125f, f, nullptr);
    report_bool("head_dim 96 -> SF_ERR_UNSUPPORTED_HEAD_DIM", s == SF_ERR_UNSUPPORTED_HEAD_DIM);
    s = sf_attention_fused(&qc, 1, &kc, 1, 64, SF_DTYPE_FP32, 0.125f, f, nullptr);
    report_bool("dtype fp32 -> SF_ERR_UNSUPPORTED_DTYPE", s == SF_ERR_UNSUPPORTED_DTYPE);
    sf_kv_chunk bad = kc;
    bad.k.ptr = static_cast<char*>(bad.k.ptr) + 2;
    s = sf_attention_fused(&qc, 1, &bad, 1, 64, SF_DTYPE_BF16, 0.125f, f, nullptr);
    report_bool("misaligned K -> SF_ERR_MISALIGNED (message names kv_chunks[0].k)",
                s == SF_ERR_MISALIGNED && strstr(sf_last_error_message(), "kv_chunks[0].k") != nullptr);
    bad = kc;
    bad.v.rows = 17;
    s = sf_attention_fused(&qc, 1, &bad, 1, 64, SF_DTYPE_BF16, 0.125f, f, nullptr);
    report_bool("K/V rows differ -> SF_ERR_INVALID_SHAPE", s == SF_ERR_INVALID_SHAPE);
    s = sf_attention_fused(&qc, 1, &kc, 1, 64, SF_DTYPE_BF16, 0.125f, SF_FINALIZE, nullptr);
    report_bool("NULL state without SF_INIT -> SF_ERR_NULL_POINTER", s == SF_ERR_NULL_POINTER);
    s = sf_attention_fused(&qc, 1, &kc, 1, 64, SF_DTYPE_BF16, 0.125f, 0x80, nullptr);
    report_bool("unknown flag -> SF_ERR_INVALID_FLAGS", s == SF_ERR_INVALID_FLAGS);
    report_bool("sf_status_string(cudaErrorInvalidValue) is CUDA's text",
                strcmp(sf_status_string(cudaErrorInvalidValue), cudaGetErrorString(cudaErrorInvalidValue)) == 0);
    report_bool("sf_abi_version() == SF_ABI_VERSION", sf_abi_version() == SF_ABI_VERSION);
    q.free_dev(); o.free_dev();
}

// ---------------------------------------------------------------- benchmark
__global__ void init_random(__nv_bfloat16* p, size_t n, uint64_t seed, float amp) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed;
        x ^= x >> 31; x *= 0xBF58476D1CE4E5B9ull; x ^= x >> 29; x *= 0x94D049BB133111EBull; x ^= x >> 32;
        const float u = (float)(x & 0xFFFFFF) / 16777216.f;  // [0,1)
        p[i] = __float2bfloat16_rn(amp * (2.f * u - 1.f));
    }
}

static int bench(const char* csv_path) {
    FILE* csv = fopen(csv_path, "w");
    if (!csv) { perror(csv_path); return 2; }
    fprintf(csv, "variant,S,D,median_ms,tflops,min_ms,max_ms,iters,spot_rel_err\n");
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    const char* kenv = getenv("SF_KERNEL");
    const bool wg = prop.major == 9 && prop.minor == 0 && !(kenv && strcmp(kenv, "mma") == 0);
    printf("device: %s, %d SMs, kernel path: %s (SF_KERNEL=%s)\n", prop.name, prop.multiProcessorCount,
           wg ? "sm_90a" : "mma.sync", kenv ? kenv : "default");
    const int B = 1, H = 24;
    const bool quick = getenv("SF_BENCH_QUICK") != nullptr;  // S = 16384 only
    const std::vector<int> Ss = quick ? std::vector<int>{16384} : std::vector<int>{16384, 65536};
    const int Ds[2] = {64, 128};
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    // As the Java layers launch: with a split-KV workspace (sf_test_split.cuh times split against unsplit).
    const size_t wsb = sf_attention_workspace_bytes(128, 0);
    void* ws = nullptr;
    CK(cudaMalloc(&ws, wsb));
    CK(cudaMemset(ws, 0, wsb));
    const sf_schedule sched{0, 0, ws, wsb};
    for (int S : Ss)
        for (int D : Ds) {
            const size_t n = (size_t)B * S * H * D;
            __nv_bfloat16 *q, *k, *v, *o;
            CK(cudaMalloc(&q, n * 2)); CK(cudaMalloc(&k, n * 2)); CK(cudaMalloc(&v, n * 2)); CK(cudaMalloc(&o, n * 2));
            init_random<<<1024, 256>>>(q, n, 1, 2.f);
            init_random<<<1024, 256>>>(k, n, 2, 2.f);
            init_random<<<1024, 256>>>(v, n, 3, 1.f);
            after_launch();
            const float scale = 1.f / sqrtf((float)D);
            auto mk = [&](void* base, int row0, int rows) {
                sf_view vw;
                vw.ptr = static_cast<__nv_bfloat16*>(base) + (size_t)row0 * H * D;
                vw.batch = B; vw.rows = rows; vw.heads = H;
                vw.stride_batch = (long long)S * H * D; vw.stride_row = (long long)H * D; vw.stride_head = D;
                return vw;
            };
            for (int variant = 0; variant < 2; ++variant) {
                const int nq = variant == 0 ? 1 : 4, nkv = variant == 0 ? 1 : 2;
                std::vector<sf_q_chunk> qc(nq);
                std::vector<sf_kv_chunk> kc(nkv);
                for (int i = 0; i < nq; ++i) {
                    memset(&qc[i], 0, sizeof(sf_q_chunk));
                    qc[i].q = mk(q, i * (S / nq), S / nq);
                    qc[i].out = mk(o, i * (S / nq), S / nq);
                }
                for (int j = 0; j < nkv; ++j) kc[j] = sf_kv_chunk{mk(k, j * (S / nkv), S / nkv), mk(v, j * (S / nkv), S / nkv)};
                auto run = [&]() {
                    SFCK(sf_attention_fused_scheduled(qc.data(), nq, kc.data(), nkv, D, SF_DTYPE_BF16, scale,
                                                      SF_INIT | SF_FINALIZE, &sched, nullptr));
                };
                CK(cudaMemset(o, 0xFF, n * 2));
                run();
                after_launch();
                // spot check a few rows of two heads against float64
                double num = 0, den = 0;
                {
                    const int hs[2] = {0, H - 1};
                    std::vector<__nv_bfloat16> kh((size_t)S * D), vh((size_t)S * D), qh(D), oh(D);
                    for (int hh : hs) {
                        CK(cudaMemcpy2D(kh.data(), D * 2, k + (size_t)hh * D, (size_t)H * D * 2, D * 2, S, cudaMemcpyDeviceToHost));
                        CK(cudaMemcpy2D(vh.data(), D * 2, v + (size_t)hh * D, (size_t)H * D * 2, D * 2, S, cudaMemcpyDeviceToHost));
                        const int rows[4] = {0, 127, S / 2 + 5, S - 1};
                        for (int r : rows) {
                            CK(cudaMemcpy(qh.data(), q + ((size_t)r * H + hh) * D, D * 2, cudaMemcpyDeviceToHost));
                            CK(cudaMemcpy(oh.data(), o + ((size_t)r * H + hh) * D, D * 2, cudaMemcpyDeviceToHost));
                            std::vector<double> s(S), acc(D, 0.0);
                            double m = -INFINITY, l = 0;
                            for (int j = 0; j < S; ++j) {
                                double a = 0;
                                for (int d = 0; d < D; ++d) a += (double)__bfloat162float(qh[d]) * __bfloat162float(kh[(size_t)j * D + d]);
                                s[j] = a * scale;
                                m = std::max(m, s[j]);
                            }
                            for (int j = 0; j < S; ++j) {
                                const double p = exp(s[j] - m);
                                l += p;
                                for (int d = 0; d < D; ++d) acc[d] += p * __bfloat162float(vh[(size_t)j * D + d]);
                            }
                            for (int d = 0; d < D; ++d) {
                                const double ref = acc[d] / l, got = __bfloat162float(oh[d]);
                                if (!std::isfinite(got)) num = INFINITY;
                                num += (got - ref) * (got - ref);
                                den += ref * ref;
                            }
                        }
                    }
                }
                const double spot = sqrt(num / den);
                if (!(spot <= 1e-2)) { printf("spot check FAILED: %.3e\n", spot); ++g_failures; }
                for (int w = 0; w < 3; ++w) run();
                after_launch();
                const int iters = S >= 65536 ? 10 : 30;
                std::vector<float> ms(iters);
                for (int it = 0; it < iters; ++it) {
                    CK(cudaEventRecord(e0));
                    run();
                    CK(cudaEventRecord(e1));
                    CK(cudaEventSynchronize(e1));
                    CK(cudaGetLastError());
                    CK(cudaEventElapsedTime(&ms[it], e0, e1));
                }
                std::sort(ms.begin(), ms.end());
                const double med = ms[iters / 2];
                const double tf = 4.0 * B * H * (double)S * S * D / (med * 1e-3) / 1e12;
                const char* vn = variant == 0 ? "sf_single" : "sf_4q2kv";
                printf("%-10s S=%6d D=%3d  median %9.3f ms  %6.1f TFLOP/s  (min %.3f max %.3f, spot err %.2e)\n", vn, S, D, med,
                       tf, ms[0], ms[iters - 1], spot);
                fprintf(csv, "%s,%d,%d,%.4f,%.2f,%.4f,%.4f,%d,%.3e\n", vn, S, D, med, tf, ms[0], ms[iters - 1], iters, spot);
                fflush(csv);
            }
            CK(cudaFree(q)); CK(cudaFree(k)); CK(cudaFree(v)); CK(cudaFree(o));
        }
    CK(cudaFree(ws));
    fclose(csv);
    return g_failures ? 1 : 0;
}

#include "sf_test_split.cuh"
#include "sf_test_fp8.cuh"

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--waves") return waves_table();  // host only
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
        printf("no CUDA device: skipping\n");
        return 77;
    }
#if !defined(SF_KERNEL_VARIANTS)
    // The shipped build has one kernel path per architecture; a set SF_KERNEL would be ignored
    // and its numbers mislabelled.
    if (getenv("SF_KERNEL")) {
        fprintf(stderr, "SF_KERNEL is set, but this build has only the shipped kernels "
                        "(configure with -DSF_KERNEL_VARIANTS=ON to select variants)\n");
        return 2;
    }
#endif
    const std::string mode = argc > 1 ? argv[1] : "--test";
    if (mode == "--bench") return bench(argc > 2 ? argv[2] : "sf_bench.csv");
    if (mode == "--bench-waves") return bench_waves(argc > 2 ? argv[2] : "sf_waves.csv");
    const bool small = mode == "--small";
    const char* seed_env = getenv("SF_TEST_SEED");
    const unsigned long long seed = seed_env ? strtoull(seed_env, nullptr, 10) : ((unsigned long long)std::random_device{}() << 32) ^ std::random_device{}();
    g_rng.seed(seed);
    printf("random seed %llu (rerun with SF_TEST_SEED=%llu)\n", seed, seed);
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
    arg_suite();
    copy_suite();
    segments_suite();
    fp8c::suite(small);
    const sf_dtype dts[2] = {SF_DTYPE_BF16, SF_DTYPE_FP16};
    const int Ds[2] = {64, 128};
    for (sf_dtype dt : dts)
        for (int D : Ds) run_suite(dt, D, small);
    split_suite(small);
    printf("%s: %d failure(s)\n", g_failures ? "FAILED" : "ALL PASSED", g_failures);
    return g_failures ? 1 : 0;
}
