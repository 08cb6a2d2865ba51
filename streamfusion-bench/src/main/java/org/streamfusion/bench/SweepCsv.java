package org.streamfusion.bench;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;
import org.streamfusion.InvalidConfigurationException;

/**
 * The sweep's results: one CSV record per measurement, written and read back here with Apache Commons CSV (RFC 4180:
 * quoted fields may hold commas, quotes and line breaks, and read back as written).
 */
public final class SweepCsv {
    /** RFC 4180 with Unix line ends; blank lines are skipped on reading. */
    static final CSVFormat FORMAT = CSVFormat.RFC4180.builder().setRecordSeparator('\n').setIgnoreEmptyLines(true).get();
    /**
     * The sweep's files between the driver and its ranks (the plan, rank 0's times): tab-separated, quoted where a
     * field holds a tab, quote or line break, spaces kept.
     */
    static final CSVFormat TSV = CSVFormat.TDF.builder().setIgnoreSurroundingSpaces(false).setRecordSeparator('\n')
            .setIgnoreEmptyLines(true).get();

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
     * Writes the header when the file is new or empty, then appends the rows (Commons CSV, RFC 4180: a field with a
     * comma, a quote or a line break is quoted).
     *
     * @param file the CSV, created if missing (its folder must exist)
     * @param rows the rows to append
     */
    public static void append(Path file, List<Result> rows) {
        try {
            boolean fresh = !Files.exists(file) || Files.size(file) == 0;
            try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND); CSVPrinter printer = new CSVPrinter(out, FORMAT)) {
                if (fresh) {
                    printer.printRecord(HEADER);
                }
                for (Result r : rows) {
                    printer.printRecord(r.fields());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write sweep results to " + file, e);
        }
    }

    /**
     * Every record of a file in {@code format}.
     *
     * @param file   the file
     * @param format its format
     * @return its records, each as its fields
     * @throws IOException if it cannot be read or parsed
     */
    static List<List<String>> records(Path file, CSVFormat format) throws IOException {
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8); CSVParser parser = CSVParser.parse(in, format)) {
            return parser.stream().map(CSVRecord::toList).toList();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Reads a CSV that {@link #append} wrote.
     *
     * @param file the CSV
     * @return its rows in file order, blank lines skipped
     * @throws InvalidConfigurationException if the header, a row's field count or a number is wrong
     */
    public static List<Result> read(Path file) {
        List<CSVRecord> records;
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                CSVParser parser = CSVParser.parse(in, FORMAT)) {
            records = parser.getRecords();
        } catch (IOException | UncheckedIOException e) {
            throw new InvalidConfigurationException(file + " cannot be read as CSV: " + e.getMessage(),
                    "a sweep CSV as SweepCsv.append writes it", e);
        }
        if (records.isEmpty() || !records.getFirst().toList().equals(HEADER)) {
            throw new InvalidConfigurationException(file + ": the first record is not the sweep header",
                    String.join(",", HEADER));
        }
        List<Result> out = new ArrayList<>();
        for (CSVRecord f : records.subList(1, records.size())) {
            String at = file + ", record " + f.getRecordNumber() + " (line " + f.getParser().getCurrentLineNumber() + ")";
            if (f.size() != HEADER.size()) {
                throw new InvalidConfigurationException(at + ": " + f.size() + " fields",
                        "the header's " + HEADER.size());
            }
            try {
                out.add(new Result(f.get(0), f.get(1), f.get(2), f.get(3), f.get(4), f.get(5), f.get(6),
                        Integer.parseInt(f.get(7)), Integer.parseInt(f.get(8)), Integer.parseInt(f.get(9)),
                        Integer.parseInt(f.get(10)), Double.parseDouble(f.get(11)), Double.parseDouble(f.get(12)),
                        Double.parseDouble(f.get(13)), Double.parseDouble(f.get(14))));
            } catch (NumberFormatException e) {
                throw new InvalidConfigurationException(at + ": " + e.getMessage(), "B, S, H, D are integers and the"
                        + " times numbers", e);
            }
        }
        return out;
    }
}
