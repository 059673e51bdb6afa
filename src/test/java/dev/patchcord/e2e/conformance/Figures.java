package dev.patchcord.e2e.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Measured figures (throughput, bytes) a scenario reports beside its verdict. Printed, and
 * appended as {@code IMPLEMENTATION<TAB>NAME<TAB>VALUE} to the file named by {@code
 * conformance.figures} / {@code CONFORMANCE_FIGURES}, which bench/conformance.sh reads.
 */
final class Figures {
    private Figures() {}

    static synchronized void record(String name, double value, String unit) {
        String impl = Implementation.selected().label;
        String text = String.format(Locale.ROOT, value == Math.rint(value) ? "%.0f %s" : "%.1f %s", value, unit);
        System.out.println("conformance figure: " + impl + ": " + name + " = " + text);
        String file = Implementation.setting("conformance.figures", "CONFORMANCE_FIGURES");
        if (file == null || file.isBlank()) {
            return;
        }
        try {
            Files.writeString(Path.of(file), impl + "\t" + name + "\t" + text + "\n",
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
