// sf_test_split.cuh -- the split-KV schedule of sf_attention_fused_scheduled: the correctness
// suite run again with schedules that split (few SMs, a large workspace), the wave table of
// docs/kernels.md, and the per-rank timing of 1xN shards split against unsplit. Included by
// sf_test.cu after its helpers (Problem, launch, run_suite, init_random, ...).
#pragma once

// The suites of run_suite with every launch scheduled on sm_count SMs and a workspace of 64 slots:
// those the rule splits are counted (some must be), each checked against float64 as before, and its
// counters must be back at zero after it; a split launch repeated must give bit-identical output.
static void split_suite(bool small) {
    const int slots = 64;
    const size_t bytes_max = SF_SPLIT_COUNTER_BYTES(32) + (size_t)slots * (128 / 8 + 1) * 256 * 16;
    void* ws = nullptr;
    CK(cudaMalloc(&ws, bytes_max));
    CK(cudaMemset(ws, 0, bytes_max));
    g_split_search_max = 32;  // the counters of bytes_max serve up to 32 SMs
    const int sm_counts[3] = {3, 7, 13};
    for (int sms : sm_counts) {
        const bool shapes_small = small || sms != 13;  // the full-size shapes once
        printf("== split schedules: sm_count %d, workspace of %d slots\n", sms, slots);
        const sf_schedule sched{sms, 0, ws, SF_SPLIT_COUNTER_BYTES(sms) + (size_t)slots * (128 / 8 + 1) * 256 * 16};
        g_schedule = &sched;
        const long long before = g_split_launches, counters_before = g_counters_left;
        const sf_dtype dts[2] = {SF_DTYPE_BF16, SF_DTYPE_FP16};
        for (sf_dtype dt : dts)
            for (int D : {64, 128}) run_suite(dt, D, shapes_small);
        g_schedule = nullptr;
        char nm[96];
        printf("  sm_count %d: %lld launches split\n", sms, g_split_launches - before);
        snprintf(nm, sizeof nm, "sm_count %d: every split counter back at 0 after each launch (%lld left)", sms,
                 g_counters_left - counters_before);
        report_bool(nm, g_counters_left == counters_before);
    }
    // The rule splits where the last wave is partial and tiles are long: the suites above must have met it.
    char total[96];
    snprintf(total, sizeof total, "split suites: some launches split (%lld)", g_split_launches);
    if (small) printf("  %s: not required of the small shapes\n", total);  // their KV ranges are too short
    else report_bool(total, g_split_launches > 0);
    // Determinism: the merge runs in piece order, whichever piece finishes last.
    {
        Problem P;
        build_problem(P, 1, 4, 128, SF_DTYPE_BF16, {1000}, {2000, 300});
        std::vector<State> st;
        std::vector<Tensor> outs, lses;
        alloc_outputs(P, st, outs, lses);
        const sf_schedule sched{5, 0, ws, SF_SPLIT_COUNTER_BYTES(5) + (size_t)slots * (128 / 8 + 1) * 256 * 16};
        g_schedule = &sched;
        const long long splits_before = g_split_launches;
        bool same = true;
        std::vector<float> first;
        for (int rep = 0; rep < 5; ++rep) {
            poison(outs[0]);
            launch(P, &st, &outs, &lses, {0, 1}, SF_INIT | SF_FINALIZE | SF_WRITE_LSE, (float)P.scale);
            download(outs[0]);
            if (rep == 0) first = outs[0].h;
            else same &= memcmp(first.data(), outs[0].h.data(), first.size() * sizeof(float)) == 0;
        }
        g_schedule = nullptr;
        report_bool("split launch repeated 5 times: it split", g_split_launches - splits_before == 5);
        report_bool("split launch repeated 5 times: bit-identical O", same);
        free_all(st, outs, lses);
        for (auto& t : P.q) t.free_dev();
        for (auto& t : P.k) t.free_dev();
        for (auto& t : P.v) t.free_dev();
    }
    g_split_search_max = 0;
    CK(cudaFree(ws));
}

// One row of the wave table: T work tiles of n KV tiles each on P SMs.
static void wave_row(const char* shape, int S, int N, int heads, int q_rows, int kv_rows, int P, int D) {
    const long long T = (long long)((q_rows + 127) / 128) * heads;
    const int n = (kv_rows + 127) / 128;
    const long long W = (T + P - 1) / P;
    int64_t unsplit = 0;
    int split = 0, k = 1;
    SFCK(sf_attention_split_plan(T, n, P, D, sf_attention_workspace_bytes(D, P), &unsplit, &split, &k));
    // Predicted time in KV-tile times (the rule of streamfusion.h), whole tiles and as split.
    const double whole = W * (n + 1.0);
    const double w = (double)(unsplit / P);
    const double split_cost = k == 1 ? whole : w * (n + 1.0) + ((split * (long long)k + P - 1) / P) * ((n + k - 1) / k + 1.0) + 0.35 * k + 8.0;
    const double work = (double)T * n;
    char desc[64] = "none";
    if (k > 1) snprintf(desc, sizeof desc, "%lld whole + %d x %d", (long long)unsplit, split, k);
    printf("| %d | %d | %s | %d | %d | %lld | %d | %lld | %.0f %% | %s | %.1f %% | %.1f %% | %.3f |\n", S, N, shape, q_rows,
           kv_rows, T, n, W, 100.0 * (T - (W - 1) * P) / P, desc, 100.0 * work / (P * whole),
           100.0 * work / (P * split_cost), split_cost / whole);
}

// The wave table (host only): per-rank launches of a 1xN mesh, B = 1, H = 24, D = 128, 132 SMs.
static int waves_table() {
    const int P = 132, H = 24, D = 128;
    printf("| S | N | launch | Q rows | KV rows | tiles | KV tiles | waves | last wave full | split | busy whole | busy split | predicted time split/whole |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int S : {4608, 16896, 65536})
        for (int N : {1, 2, 4, 8}) {
            if (N == 1) { wave_row("whole", S, 1, H, S, S, P, D); continue; }
            wave_row("Ulysses", S, N, H / N, S, S, P, D);
            wave_row("ring step", S, N, H, (S + N - 1) / N, (S + N - 1) / N, P, D);
        }
    return 0;
}

// Per-rank launches of a 1xN shard, timed unsplit (no workspace) and split, alternately.
static int bench_waves(const char* csv_path) {
    FILE* csv = fopen(csv_path, "w");
    if (!csv) { perror(csv_path); return 2; }
    fprintf(csv, "S,N,launch,heads,q_rows,kv_rows,launches,unsplit_ms,split_ms,ratio,split,o_rel_diff\n");
    const int H = 24, D = 128, B = 1;
    size_t wsb = sf_attention_workspace_bytes(D, 0);
    void* ws = nullptr;
    CK(cudaMalloc(&ws, wsb));
    CK(cudaMemset(ws, 0, wsb));
    const sf_schedule sched{0, 0, ws, wsb};
    int sms = 0;
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    printf("per-rank launches, B=1 H=24 D=128 bf16, %d SMs; median of 60 alternating runs\n", sms);
    for (int S : {4608, 16896})
        for (int N : {1, 2, 4, 8}) {
            if (S > 4608 && N > 2) continue;
            for (int ring = 0; ring < (N == 1 ? 1 : 2); ++ring) {
                const int heads = ring ? H : H / N, rows = ring ? S / N : S, launches = ring ? N : 1;
                const size_t n = (size_t)B * S * H * D;
                __nv_bfloat16 *q, *k, *v, *o;
                float *so, *sm, *sl;
                CK(cudaMalloc(&q, n * 2)); CK(cudaMalloc(&k, n * 2)); CK(cudaMalloc(&v, n * 2)); CK(cudaMalloc(&o, n * 2));
                CK(cudaMalloc(&so, n * 4)); CK(cudaMalloc(&sm, (size_t)S * H * 4)); CK(cudaMalloc(&sl, (size_t)S * H * 4));
                init_random<<<1024, 256>>>(q, n, 11 + S, 2.f);
                init_random<<<1024, 256>>>(k, n, 12 + S, 2.f);
                init_random<<<1024, 256>>>(v, n, 13 + S, 1.f);
                after_launch();
                auto mk = [&](void* base, int row0, int r, size_t es) {
                    sf_view vw;
                    vw.ptr = static_cast<char*>(base) + (size_t)row0 * H * D * es;
                    vw.batch = B; vw.rows = r; vw.heads = heads;
                    vw.stride_batch = (long long)S * H * D; vw.stride_row = (long long)H * D; vw.stride_head = D;
                    return vw;
                };
                auto mk1 = [&](float* base) {  // m or l: [B, rows, H]
                    sf_view vw{base, B, rows, heads, (long long)S * H, H, 1};
                    return vw;
                };
                sf_q_chunk qc;
                memset(&qc, 0, sizeof qc);
                qc.q = mk(q, 0, rows, 2);
                qc.out = mk(o, 0, rows, 2);
                if (ring) qc.state = sf_state{mk(so, 0, rows, 4), mk1(sm), mk1(sl)};
                const float scale = 1.f / sqrtf((float)D);
                auto run = [&](const sf_schedule* sc) {
                    for (int j = 0; j < launches; ++j) {
                        sf_kv_chunk kc{mk(k, j * rows, rows, 2), mk(v, j * rows, rows, 2)};
                        const uint32_t flags = (j == 0 ? SF_INIT : 0u) | (j == launches - 1 ? SF_FINALIZE : 0u);
                        SFCK(sf_attention_fused_scheduled(&qc, 1, &kc, 1, D, SF_DTYPE_BF16, scale, flags, sc, nullptr));
                    }
                };
                // outputs of both forms, compared
                std::vector<__nv_bfloat16> a((size_t)rows * H * D), b(a.size());
                run(nullptr);
                after_launch();
                CK(cudaMemcpy(a.data(), o, a.size() * 2, cudaMemcpyDeviceToHost));
                CK(cudaMemset(o, 0xFF, n * 2));
                run(&sched);
                after_launch();
                CK(cudaMemcpy(b.data(), o, b.size() * 2, cudaMemcpyDeviceToHost));
                double num = 0, den = 0;
                for (int r = 0; r < rows; ++r)
                    for (int h = 0; h < heads; ++h)
                        for (int d = 0; d < D; ++d) {
                            const size_t i = ((size_t)r * H + h) * D + d;
                            const double x = __bfloat162float(a[i]), y = __bfloat162float(b[i]);
                            num += (x - y) * (x - y);
                            den += x * x;
                            if (!std::isfinite(y)) num = INFINITY;
                        }
                const double diff = sqrt(num / den);
                if (!(diff <= 1e-2)) { printf("split vs unsplit FAILED: %.3e\n", diff); ++g_failures; }
                for (int w = 0; w < 5; ++w) { run(nullptr); run(&sched); }
                after_launch();
                const int reps = 60;
                std::vector<float> tu(reps), ts(reps);
                for (int it = 0; it < reps; ++it)
                    for (int form = 0; form < 2; ++form) {
                        CK(cudaEventRecord(e0));
                        run(form ? &sched : nullptr);
                        CK(cudaEventRecord(e1));
                        CK(cudaEventSynchronize(e1));
                        CK(cudaEventElapsedTime(form ? &ts[it] : &tu[it], e0, e1));
                    }
                std::sort(tu.begin(), tu.end());
                std::sort(ts.begin(), ts.end());
                int64_t unsplit = 0;
                int split = 0, pieces = 1;
                SFCK(sf_attention_split_plan((long long)((rows + 127) / 128) * heads, (rows + 127) / 128,
                                             sms, D, wsb, &unsplit, &split, &pieces));
                char desc[64];
                snprintf(desc, sizeof desc, "%lld+%dx%d", (long long)unsplit, split, pieces);
                const char* lname = N == 1 ? "whole" : ring ? "ring" : "Ulysses";
                printf("S=%5d 1x%d %-8s heads %2d rows %5d x%d: unsplit %.4f ms, split %.4f ms (%s), ratio %.3f, O diff %.1e\n",
                       S, N, lname, heads, rows, launches, tu[reps / 2], ts[reps / 2], desc, ts[reps / 2] / tu[reps / 2], diff);
                fprintf(csv, "%d,%d,%s,%d,%d,%d,%d,%.4f,%.4f,%.4f,%s,%.2e\n", S, N, lname, heads, rows, rows, launches,
                        tu[reps / 2], ts[reps / 2], ts[reps / 2] / tu[reps / 2], desc, diff);
                fflush(csv);
                CK(cudaFree(q)); CK(cudaFree(k)); CK(cudaFree(v)); CK(cudaFree(o));
                CK(cudaFree(so)); CK(cudaFree(sm)); CK(cudaFree(sl));
            }
        }
    CK(cudaFree(ws));
    fclose(csv);
    return g_failures ? 1 : 0;
}
