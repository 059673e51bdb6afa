package dev.patchcord.control;

import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.Keys;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One interface's state in the Prometheus text format (version 0.0.4), rendered from the same
 * snapshot the UAPI {@code get} answers, so a scrape and {@code patchcord show --json} taken at
 * the same moment agree. Peers are labelled by public key (base64), the name every WireGuard tool
 * shows; drop counters are listed for every reason, zero included, so each series exists from the
 * start.
 */
public final class Metrics {
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private Metrics() {
    }

    /**
     * @param ifname the interface, a label on every series
     * @param state the device snapshot ({@link UapiDevice#get})
     * @param nowEpochNanos the wall clock, for handshake ages
     */
    public static String render(String ifname, UapiDevice.DeviceState state, long nowEpochNanos) {
        StringBuilder sb = new StringBuilder(4096);
        String iface = "interface=\"" + escape(ifname) + "\"";
        Map<String, String> ext = state.extensions();
        help(sb, "patchcord_peers", "gauge", "Peers configured on the interface.");
        sample(sb, "patchcord_peers", iface, state.peers().size());
        help(sb, "patchcord_receive_packets_total", "counter", "Packets delivered from the network to the interface.");
        sample(sb, "patchcord_receive_packets_total", iface, number(ext.get("rx_packets")));
        help(sb, "patchcord_transmit_packets_total", "counter", "Packets sent from the interface to the network.");
        sample(sb, "patchcord_transmit_packets_total", iface, number(ext.get("tx_packets")));
        help(sb, "patchcord_dropped_packets_total", "counter", "Packets dropped, by reason.");
        for (Drop d : Drop.values()) {
            String key = "drop_" + d.label().replace('-', '_');
            sample(sb, "patchcord_dropped_packets_total", iface + ",reason=\"" + d.label() + "\"", number(ext.get(key)));
        }

        help(sb, "patchcord_peer_receive_bytes_total", "counter", "Bytes of WireGuard messages received from the peer.");
        for (UapiDevice.PeerState p : state.peers()) {
            sample(sb, "patchcord_peer_receive_bytes_total", peer(iface, p), p.rxBytes());
        }
        help(sb, "patchcord_peer_transmit_bytes_total", "counter", "Bytes of WireGuard messages sent to the peer.");
        for (UapiDevice.PeerState p : state.peers()) {
            sample(sb, "patchcord_peer_transmit_bytes_total", peer(iface, p), p.txBytes());
        }
        help(sb, "patchcord_peer_receive_packets_total", "counter", "Transport messages received from the peer.");
        for (UapiDevice.PeerState p : state.peers()) {
            sample(sb, "patchcord_peer_receive_packets_total", peer(iface, p), number(p.extensions().get("rx_packets")));
        }
        help(sb, "patchcord_peer_transmit_packets_total", "counter", "Transport messages sent to the peer.");
        for (UapiDevice.PeerState p : state.peers()) {
            sample(sb, "patchcord_peer_transmit_packets_total", peer(iface, p), number(p.extensions().get("tx_packets")));
        }
        help(sb, "patchcord_peer_last_handshake_timestamp_seconds", "gauge",
                "When the last handshake with the peer completed (Unix time; 0: never).");
        for (UapiDevice.PeerState p : state.peers()) {
            sample(sb, "patchcord_peer_last_handshake_timestamp_seconds", peer(iface, p),
                    p.lastHandshakeEpochNanos() / 1_000_000_000L);
        }
        help(sb, "patchcord_peer_handshake_age_seconds", "gauge",
                "Seconds since the last handshake with the peer (absent: never).");
        for (UapiDevice.PeerState p : state.peers()) {
            if (p.lastHandshakeEpochNanos() > 0) {
                sb.append("patchcord_peer_handshake_age_seconds{").append(peer(iface, p)).append("} ")
                        .append(Math.max(0, nowEpochNanos - p.lastHandshakeEpochNanos()) / 1e9).append('\n');
            }
        }
        process(sb);
        return sb.toString();
    }

    /** The process's health: the usual {@code process_*} series and the Java heap. */
    private static void process(StringBuilder sb) {
        var runtime = ManagementFactory.getRuntimeMXBean();
        help(sb, "process_start_time_seconds", "gauge", "Start time of the process (Unix time).");
        sb.append("process_start_time_seconds ").append(runtime.getStartTime() / 1000).append('\n');
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            help(sb, "process_cpu_seconds_total", "counter", "CPU time used by the process.");
            sb.append("process_cpu_seconds_total ").append(os.getProcessCpuTime() / 1e9).append('\n');
        }
        long rss = residentBytes();
        if (rss >= 0) {
            help(sb, "process_resident_memory_bytes", "gauge", "Resident memory of the process.");
            sb.append("process_resident_memory_bytes ").append(rss).append('\n');
        }
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            help(sb, "process_open_fds", "gauge", "Open file descriptors.");
            sb.append("process_open_fds ").append(fds.count()).append('\n');
        } catch (IOException | java.io.UncheckedIOException e) {
            // not Linux, or /proc is hidden: leave the series out
        }
        var heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        help(sb, "patchcord_jvm_heap_used_bytes", "gauge", "Java heap in use.");
        sb.append("patchcord_jvm_heap_used_bytes ").append(heap.getUsed()).append('\n');
        help(sb, "patchcord_jvm_threads", "gauge", "Live Java threads.");
        sb.append("patchcord_jvm_threads ").append(ManagementFactory.getThreadMXBean().getThreadCount()).append('\n');
    }

    private static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // leave the series out
        }
        return -1;
    }

    private static String peer(String iface, UapiDevice.PeerState p) {
        return iface + ",public_key=\"" + Keys.toBase64(p.publicKey()) + "\"";
    }

    private static void help(StringBuilder sb, String name, String type, String text) {
        sb.append("# HELP ").append(name).append(' ').append(text).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder sb, String name, String labels, long value) {
        sb.append(name).append('{').append(labels).append("} ").append(value).append('\n');
    }

    private static long number(String s) {
        if (s == null) {
            return 0;
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Label values escape backslash, quote and newline (the format's rule). */
    static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
