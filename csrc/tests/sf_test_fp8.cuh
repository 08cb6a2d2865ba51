// sf_test_fp8.cuh -- the centred e4m3 wire (sf_fp8_quantize_centred / sf_fp8_dequantize_centred) against
// a host reference written as streamfusion-core's cpu/CentredFp8.java is: the wire is compared byte for
// byte (codes, scales and slots, centres, bf16 slots), the counts exactly, and every value that comes back
// against the stated bound, 2^-3 (e4m3) or 2^-8 (bf16) of its block's centred amax plus one rounding of
// the destination type. Included by sf_test.cu.
#include <cuda_fp8.h>

#include <cmath>

namespace fp8c {

static unsigned short bf16_bits(float x) {
    unsigned int bits;
    memcpy(&bits, &x, 4);
    if (std::isnan(x)) return 0x7FC0u;
    return (unsigned short)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

static float from_bf16(unsigned short b) {
    const unsigned int bits = (unsigned int)b << 16;
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

static float decode(unsigned char q) {
    const __half_raw h = __nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)q, __NV_E4M3);
    return __half2float(__half(h));
}

struct Wire {
    std::vector<unsigned char> bytes;
    long long counts[2] = {0, 0};
};

// The Java codec, step by step, on the values as the tensor stores them.
static Wire reference(const std::vector<float>& x, long long n, int block, int row, double tau) {
    Wire w;
    w.bytes.assign(SF_FP8C_WIRE_BYTES(n, block, row), 0);
    float* scales = reinterpret_cast<float*>(w.bytes.data() + SF_FP8C_SCALES_OFFSET(n));
    float* centres = reinterpret_cast<float*>(w.bytes.data() + SF_FP8C_CENTRES_OFFSET(n, block));
    unsigned short* patches = reinterpret_cast<unsigned short*>(w.bytes.data() + SF_FP8C_PATCHES_OFFSET(n, block, row));
    const long long tokens = n / row, blocks = n / block, slots = SF_FP8C_SLOTS(n, block);
    for (int c = 0; c < row; c++) {
        double shift = 0, sum = 0;
        long long count = 0;
        float amax = 0;
        for (long long t = 0; t < tokens; t++) {
            const float v = x[t * row + c];
            if (std::isfinite(v)) {
                if (count == 0) shift = v;
                sum += (double)v - shift;
                count++;
                amax = std::max(amax, std::fabs(v));
            }
        }
        centres[c] = count == 0 || amax >= 0x1p126f ? 0.0f : (float)(shift + sum / (double)count);
    }
    long long slot = 0;
    for (long long b = 0; b < blocks; b++) {
        const long long first = b * block;
        const int channel = (int)(first % row);
        double ss = 0, css = 0;
        float amax = 0;
        for (int i = 0; i < block; i++) {
            const float v = x[first + i];
            const float y = v - centres[channel + i];
            if (std::isfinite(v)) ss += (double)v * v;
            if (std::isfinite(y)) {
                css += (double)y * y;
                amax = std::max(amax, std::fabs(y));
            }
        }
        const double e = 0.125 / std::sqrt(12.0) * tau * std::sqrt(ss) * std::sqrt(css) / std::sqrt((double)block);
        if (e > SF_FP8C_LOGIT_ERROR_LIMIT) {
            if (slot < slots) {
                scales[b] = -(float)(slot + 1);
                for (int i = 0; i < block; i++)
                    patches[slot * block + i] = bf16_bits(x[first + i] - centres[channel + i]);
                slot++;
                continue;
            }
            w.counts[1]++;
        }
        const float scale = amax > 0 ? std::max(amax / 448.0f, 1.401298464e-45f) : 1.0f;
        scales[b] = scale;
        for (int i = 0; i < block; i++) {
            const float y = x[first + i] - centres[channel + i];
            w.bytes[first + i] = std::isfinite(y)
                                     ? (unsigned char)__nv_cvt_float_to_fp8(y / scale, __NV_SATFINITE, __NV_E4M3)
                                     : (unsigned char)0x7F;
        }
    }
    w.counts[0] = slot;
    return w;
}

static void one_case(sf_dtype dt, int block, int heads, long long tokens, float offset, float spread, bool specials,
                     int outliers) {
    const int row = heads * block;
    const long long n = tokens * row;
    const double tau = 1.0 / std::sqrt((double)block);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> channel_offset(row);
    for (auto& c : channel_offset) c = offset * (1.0f + 0.5f * std::fabs(u(g_rng))) * (u(g_rng) < 0 ? -1.0f : 1.0f);
    std::vector<float> x(n);
    for (long long i = 0; i < n; i++) x[i] = round_to(dt, channel_offset[i % row] + spread * u(g_rng));
    for (int k = 0; k < outliers; k++) {  // whole blocks far from their channels' means
        const long long b = (long long)((k * 7919LL) % (n / block));
        for (int i = 0; i < block; i++) x[b * block + i] = round_to(dt, 60.0f * (1.0f + std::fabs(u(g_rng))));
    }
    if (specials) {
        x[3] = NAN;
        x[block + 1] = INFINITY;
        for (long long t = 0; t < tokens; t++) x[t * row + row - 1] = round_to(dt, (t % 2 ? -1.0f : 1.0f) * 3e38f);
    }
    const size_t es = esize(dt);
    std::vector<unsigned char> host(n * es);
    for (long long i = 0; i < n; i++) store(dt, host.data(), i, x[i]);
    const long long wire_bytes = SF_FP8C_WIRE_BYTES(n, block, row);
    void *src, *dst, *wire;
    int64_t* counts;
    CK(cudaMalloc(&src, n * es));
    CK(cudaMalloc(&dst, n * es));
    CK(cudaMalloc(&wire, wire_bytes));
    CK(cudaMalloc(&counts, 16));
    CK(cudaMemcpy(src, host.data(), n * es, cudaMemcpyHostToDevice));
    CK(cudaMemset(wire, 0xAB, wire_bytes));  // every byte the reference holds must be written
    CK(cudaMemset(counts, 0, 16));
    SFCK(sf_fp8_quantize_centred(src, dt, wire, n, block, row, tau, counts, nullptr));
    SFCK(sf_fp8_dequantize_centred(wire, dst, dt, n, block, row, nullptr));
    after_launch();
    std::vector<unsigned char> got(wire_bytes), back(n * es);
    long long got_counts[2];
    CK(cudaMemcpy(got.data(), wire, wire_bytes, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(back.data(), dst, n * es, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(got_counts, counts, 16, cudaMemcpyDeviceToHost));
    const Wire ref = reference(x, n, block, row, tau);
    // The padding between parts is not written; compare the parts.
    const long long blocks = n / block;
    const long long slots_used = ref.counts[0];
    // Each part compared; the first byte that differs is printed, so a failure says where and what.
    struct Part { const char* name; long long offset, bytes; };
    const Part parts[4] = {{"codes", 0, n},
                           {"scales and slots", (long long)SF_FP8C_SCALES_OFFSET(n), 4 * blocks},
                           {"centres", (long long)SF_FP8C_CENTRES_OFFSET(n, block), 4LL * row},
                           {"bf16 slots", (long long)SF_FP8C_PATCHES_OFFSET(n, block, row), 2 * slots_used * block}};
    bool same = true;
    for (const Part& part : parts) {
        for (long long i = 0; i < part.bytes; i++) {
            if (got[part.offset + i] != ref.bytes[part.offset + i]) {
                printf("    %s differ first at byte %lld of %lld: device 0x%02x, Java codec 0x%02x\n", part.name, i,
                       part.bytes, got[part.offset + i], ref.bytes[part.offset + i]);
                same = false;
                break;
            }
        }
    }
    // Every finite value back within the bound of its block (the reference's centres and scales).
    const float* scales = reinterpret_cast<const float*>(ref.bytes.data() + SF_FP8C_SCALES_OFFSET(n));
    const float* centres = reinterpret_cast<const float*>(ref.bytes.data() + SF_FP8C_CENTRES_OFFSET(n, block));
    double worst = 0;
    bool specials_ok = true;
    for (long long b = 0; b < blocks; b++) {
        double a = 0;
        for (int i = 0; i < block; i++) {
            const double y = (double)x[b * block + i] - centres[(b * block + i) % row];
            if (std::isfinite(y)) a = std::max(a, std::fabs(y));
        }
        for (int i = 0; i < block; i++) {
            const long long e = b * block + i;
            const float v = load(dt, back.data(), e);
            if (!std::isfinite(x[e])) {
                specials_ok = specials_ok && !std::isfinite(v) && (std::isnan(x[e]) ? std::isnan(v) : true);
                continue;
            }
            const double ulp = std::fabs(x[e]) * (dt == SF_DTYPE_BF16 ? 0x1p-8 : dt == SF_DTYPE_FP16 ? 0x1p-10 : 0x1p-23);
            const double bound = (scales[b] < 0 ? 0x1p-8 : 0x1p-3) * a * (1 + 0x1p-20) + ulp;
            const double err = std::fabs((double)v - x[e]);
            worst = std::max(worst, bound > 0 ? err / bound : (err > 0 ? INFINITY : 0));
        }
    }
    char nm[128];
    snprintf(nm, sizeof nm, "fp8 centred %s D=%d H=%d T=%lld c=%g +-%g%s%s: wire = Java codec's",
             dt == SF_DTYPE_BF16 ? "bf16" : dt == SF_DTYPE_FP16 ? "fp16" : "fp32", block, heads, tokens, offset, spread,
             specials ? " specials" : "", outliers ? " outliers" : "");
    report_bool(nm, same);
    snprintf(nm, sizeof nm, "  counts %lld/%lld = reference %lld/%lld", got_counts[0], got_counts[1], ref.counts[0],
             ref.counts[1]);
    report_bool(nm, got_counts[0] == ref.counts[0] && got_counts[1] == ref.counts[1]);
    report("  each value within its bound (err/bound)", worst, 1.0);
    if (specials) report_bool("  NaN stays NaN, inf never a number", specials_ok);
    CK(cudaFree(src));
    CK(cudaFree(dst));
    CK(cudaFree(wire));
    CK(cudaFree(counts));
}

static void suite(bool small) {
    printf("== fp8 centred wire\n");
    const sf_dtype dts[3] = {SF_DTYPE_BF16, SF_DTYPE_FP16, SF_DTYPE_FP32};
    for (sf_dtype dt : dts)
        for (int block : {64, 128, 40}) {
            one_case(dt, block, 3, small ? 37 : 300, 0.0f, 1.0f, false, 0);       // Gaussian-like: no slot used
            one_case(dt, block, 3, small ? 37 : 300, 1000.0f, 8.0f, false, 0);    // a shared offset
            one_case(dt, block, 3, small ? 37 : 300, 30.0f, 1.0f, false, 5);      // outliers take slots
            one_case(dt, block, 2, 64, 0.0f, 40.0f, false, 0);                   // every block over: slots run out
            one_case(dt, block, 3, 37, 10.0f, 1.0f, true, 0);                    // NaN, inf, a 3e38 channel
        }
    // Refusals name the bad value.
    void* p;
    CK(cudaMalloc(&p, 1 << 16));
    int64_t* c = reinterpret_cast<int64_t*>(p);
    report_bool("refuses a row that is not whole blocks",
                sf_fp8_quantize_centred(p, SF_DTYPE_BF16, p, 96, 32, 48, 1.0, c, nullptr) == SF_ERR_INVALID_ARGUMENT);
    report_bool("refuses n that is not whole rows",
                sf_fp8_dequantize_centred(p, p, SF_DTYPE_BF16, 96, 32, 64, nullptr) == SF_ERR_INVALID_ARGUMENT);
    report_bool("refuses a softmax scale of 0",
                sf_fp8_quantize_centred(p, SF_DTYPE_BF16, p, 64, 32, 32, 0.0, c, nullptr) == SF_ERR_INVALID_ARGUMENT);
    report_bool("refuses NULL counts",
                sf_fp8_quantize_centred(p, SF_DTYPE_BF16, p, 64, 32, 32, 1.0, nullptr, nullptr) == SF_ERR_NULL_POINTER);
    CK(cudaFree(p));
}

}  // namespace fp8c
