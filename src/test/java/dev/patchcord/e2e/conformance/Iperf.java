package dev.patchcord.e2e.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.patchcord.lab.Lab;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** One iperf3 run between two namespaces, read from its JSON report. */
final class Iperf {
    private Iperf() {}

    /** What the receiving side counted. */
    record Run(double mbitPerSecond, long bytes, double lostPercent) {}

    /**
     * Runs iperf3 for {@code seconds} from {@code clientNs} to a one-shot server bound to
     * {@code serverAddress} in {@code serverNs}; {@code extra} adds client options ({@code -u
     * -b 20M}, {@code -R}, {@code -M}).
     */
    static Run run(Lab lab, String serverNs, String serverAddress, String clientNs, int seconds, String... extra) {
        String name = "iperf3-server-" + System.nanoTime();
        lab.spawn(serverNs, name, List.of("iperf3", "-s", "-1", "--forceflush", "-B", serverAddress, "-p", "5201"));
        assertThat(Lab.await(Duration.ofSeconds(20), () -> lab.log(name).contains("listening")))
                .as("iperf3 server listening: " + lab.log(name)).isTrue();
        List<String> cmd = new ArrayList<>(List.of("iperf3", "-c", serverAddress, "-p", "5201", "-t", String.valueOf(seconds), "-J"));
        cmd.addAll(List.of(extra));
        Lab.Result r = lab.run(clientNs, Duration.ofSeconds(seconds + 40L), cmd.toArray(String[]::new));
        assertThat(r.code()).as(String.join(" ", cmd) + ":\n" + r.output()).isZero();
        try {
            JsonNode end = new ObjectMapper().readTree(r.output()).path("end");
            boolean udp = List.of(extra).contains("-u");
            if (udp) {
                // The client's "sum" carries the server's count of lost datagrams.
                JsonNode sum = end.path("sum");
                return new Run(sum.path("bits_per_second").asDouble() / 1e6, sum.path("bytes").asLong(),
                        sum.path("lost_percent").asDouble());
            }
            JsonNode received = end.path("sum_received");
            return new Run(received.path("bits_per_second").asDouble() / 1e6, received.path("bytes").asLong(), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("iperf3 report: " + r.output(), e);
        }
    }
}
