package org.streamfusion.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The sweep's results: one CSV row per measurement (RFC 4180 quoting), written and read back here. */
public final class SweepCsv {
    /** The column names, in order: the first line of every sweep CSV. */
    public static final List<String> HEADER = List.of("device", "date", "command", "topology", "link", "method", "mesh",
            "B", "S", "H", "D", "median_ms", "p10_ms", "p90_ms", "predicted_ms");

    /**
     * One measured layer; {@code mesh} is {@link SweepPlan.Row#mesh()}.
     *
     * @param device      the GPUs, e.g. {@code 2 x NVIDIA H200}
     * @param date        when the sweep started (ISO-8601 instant)
     * @param command     the sweep's command line
     * @param topology    the logical topology, {@code MxG}
     * @param link        the link setting's {@link SweepPlan.LinkSetting#label() label}
     * @param method      the {@link org.streamfusion.Method} name
     * @param mesh        the method and its degrees
     * @param batch       B
     * @param seqLen      S, the global sequence length in tokens
     * @param heads       H
     * @param headDim     D
     * @param medianMs    median layer time in milliseconds (rank 0, CUDA events)
     * @param p10Ms       10th percentile of the layer time, ms
     * @param p90Ms       90th percentile of the layer time, ms
     * @param predictedMs the layer simulated on the H200 profile with the row's link, ms
     */
    public record Result(String device, String date, String command, String topology, String link, String method,
            String mesh, int batch, int seqLen, int heads, int headDim, double medianMs, double p10Ms, double p90Ms,
            double predictedMs) {
        List<String> fields() {
            return List.of(device, date, command, topology, link, method, mesh, Integer.toString(batch),
                    Integer.toString(seqLen), Integer.toString(heads), Integer.toString(headDim), number(medianMs),
                    number(p10Ms), number(p90Ms), number(predictedMs));
        }

        private static String number(double v) {
            return String.format(Locale.ROOT, "%.4f", v);
        }
    }

    private SweepCsv() {
    }

    /**
     * Writes the header when the file is new or empty, then appends the rows.
     *
     * @param file the CSV, created if missing (its folder must exist)
     * @param rows the rows to append
     */
    public static void append(Path file, List<Result> rows) {
        try {
            StringBuilder sb = new StringBuilder();
            if (!Files.exists(file) || Files.size(file) == 0) {
                sb.append(line(HEADER));
            }
            for (Result r : rows) {
                sb.append(line(r.fields()));
            }
            Files.writeString(file, sb, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write sweep results to " + file, e);
        }
    }

    /**
     * Reads a CSV that {@link #append} wrote.
     *
     * @param file the CSV
     * @return its rows in file order, blank lines skipped
     * @throws IllegalArgumentException if the header, a row's field count or a number is wrong
     */
    public static List<Result> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read sweep results from " + file, e);
        }
        if (lines.isEmpty() || !split(lines.getFirst()).equals(HEADER)) {
            throw new IllegalArgumentException(file + ": first line is not the sweep header " + String.join(",", HEADER));
        }
        List<Result> out = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            List<String> f = split(lines.get(i));
            if (f.size() != HEADER.size()) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": " + f.size() + " fields, the header has "
                        + HEADER.size());
            }
            try {
                out.add(new Result(f.get(0), f.get(1), f.get(2), f.get(3), f.get(4), f.get(5), f.get(6),
                        Integer.parseInt(f.get(7)), Integer.parseInt(f.get(8)), Integer.parseInt(f.get(9)),
                        Integer.parseInt(f.get(10)), Double.parseDouble(f.get(11)), Double.parseDouble(f.get(12)),
                        Double.parseDouble(f.get(13)), Double.parseDouble(f.get(14))));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    static String line(List<String> fields) {
        StringBuilder sb = new StringBuilder();
        for (String f : fields) {
            if (!sb.isEmpty()) {
                sb.append(',');
            }
            if (f.contains(",") || f.contains("\"") || f.contains("\n")) {
                sb.append('"').append(f.replace("\"", "\"\"")).append('"');
            } else {
                sb.append(f);
            }
        }
        return sb.append('\n').toString();
    }

    /** One line's fields; quoted fields may hold commas and doubled quotes (no line breaks inside). */
    static List<String> split(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }
}
