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
        if (ext.containsKey("cluster_hub")) {
            cluster(sb, iface + ",hub=\"" + escape(ext.get("cluster_hub")) + "\"", ext);
        }
        process(sb);
        return sb.toString();
    }

    /** A cluster hub's own series (docs/cluster.md): what it serves, the store's health, the backplane. */
    private static void cluster(StringBuilder sb, String labels, Map<String, String> ext) {
        help(sb, "patchcord_cluster_hubs", "gauge", "Live hubs of the cluster, this one included.");
        sample(sb, "patchcord_cluster_hubs", labels, number(ext.get("cluster_hubs")));
        help(sb, "patchcord_cluster_clients", "gauge", "Clients in the cluster store that this hub serves.");
        sample(sb, "patchcord_cluster_clients", labels, number(ext.get("cluster_clients")));
        help(sb, "patchcord_cluster_attached_clients", "gauge", "Clients attached to this hub.");
        sample(sb, "patchcord_cluster_attached_clients", labels, number(ext.get("cluster_attached")));
        help(sb, "patchcord_cluster_store_up", "gauge", "1 if the last request to the store was answered.");
        sample(sb, "patchcord_cluster_store_up", labels, number(ext.get("cluster_store_reachable")));
        help(sb, "patchcord_cluster_store_latency_seconds", "gauge", "How long the last answered store request took.");
        long ns = number(ext.get("cluster_store_latency_ns"));
        sb.append("patchcord_cluster_store_latency_seconds{").append(labels).append("} ").append(ns < 0 ? "NaN" : ns / 1e9)
                .append('\n');
        help(sb, "patchcord_cluster_store_errors_total", "counter", "Store requests that failed or timed out.");
        sample(sb, "patchcord_cluster_store_errors_total", labels, number(ext.get("cluster_store_errors")));
        help(sb, "patchcord_cluster_takeovers_total", "counter", "Clients of a dead hub that this hub called back.");
        sample(sb, "patchcord_cluster_takeovers_total", labels, number(ext.get("cluster_takeovers")));
        help(sb, "patchcord_cluster_takeovers_declined_total", "counter",
                "Clients of a hub whose lease expired that were left to it, since it was still heard on the backplane.");
        sample(sb, "patchcord_cluster_takeovers_declined_total", labels, number(ext.get("cluster_takeovers_declined")));
        help(sb, "patchcord_cluster_sessions_dropped_total", "counter",
                "Sessions dropped here because their client attached to another hub.");
        sample(sb, "patchcord_cluster_sessions_dropped_total", labels, number(ext.get("cluster_sessions_dropped")));
        help(sb, "patchcord_cluster_backplane_receive_bytes_total", "counter", "Bytes received from other hubs over the backplane.");
        sample(sb, "patchcord_cluster_backplane_receive_bytes_total", labels, number(ext.get("cluster_backplane_rx_bytes")));
        help(sb, "patchcord_cluster_backplane_transmit_bytes_total", "counter", "Bytes sent to other hubs over the backplane.");
        sample(sb, "patchcord_cluster_backplane_transmit_bytes_total", labels, number(ext.get("cluster_backplane_tx_bytes")));
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
