package dev.patchcord.cli;

import dev.patchcord.control.UapiProtocol;

import java.util.List;
import java.util.Map;

/**
 * The {@code patchcord show --json} document: an array with one object per interface. Written by
 * hand, because every value is a number, a key in base64, an address or a label, so escaping
 * quotes and backslashes covers all it can hold.
 *
 * <p>Secrets appear only when asked for: the interface's {@code "private_key"} and each peer's
 * {@code "preshared_key_value"} (base64, null without one) are there with {@code --show-keys}
 * and absent otherwise; {@code "preshared_key"} only says whether one is set.
 *
 * <p>patchcord's own figures ({@code "mode"}, {@code "transport"}, {@code "rx_packets"},
 * {@code "tx_packets"}, {@code "dropped"}, {@code "pid"}, {@code "process_started"} and
 * {@code "interface_started"} (epoch seconds: they differ after a restart), {@code "handovers"},
 * and each peer's packet counts) are null for an
 * interface another implementation runs (wireguard-go's): it does not report them, and a 0 or
 * an empty {@code "dropped"} would claim it dropped nothing. The keys stay, so every object has
 * the same shape.
 */
final class ShowJson {
    private ShowJson() {}

    static String render(List<ShowCommand.Device> devices, boolean showKeys) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < devices.size(); i++) {
            sb.append(i == 0 ? "\n  " : ",\n  ");
            device(sb, devices.get(i), showKeys);
        }
        return sb.append(devices.isEmpty() ? "]" : "\n]").toString();
    }

    private static void device(StringBuilder sb, ShowCommand.Device d, boolean showKeys) {
        Map<String, String> dev = d.device();
        String ext = UapiProtocol.EXTENSION_PREFIX;
        sb.append("{\"interface\": ").append(str(d.name()));
        sb.append(", \"public_key\": ").append(str(ShowCommand.publicKey(dev)));
        if (showKeys) {
            sb.append(", \"private_key\": ").append(str(ShowCommand.privateKey(dev)));
        }
        sb.append(", \"listen_port\": ").append(num(dev.get("listen_port")));
        sb.append(", \"fwmark\": ").append(num(dev.get("fwmark")));
        boolean own = d.patchcord();
        sb.append(", \"mode\": ").append(str(dev.get(ext + "mode")));
        sb.append(", \"transport\": ").append(str(dev.get(ext + "transport")));
        sb.append(", \"pid\": ").append(own ? num(dev.get(ext + "pid")) : "null");
        sb.append(", \"process_started\": ").append(own ? num(dev.get(ext + "process_started")) : "null");
        sb.append(", \"interface_started\": ").append(own ? num(dev.get(ext + "interface_started")) : "null");
        sb.append(", \"handovers\": ").append(own ? num(dev.get(ext + "handovers")) : "null");
        sb.append(", \"rx_packets\": ").append(own ? num(dev.get(ext + "rx_packets")) : "null");
        sb.append(", \"tx_packets\": ").append(own ? num(dev.get(ext + "tx_packets")) : "null");
        sb.append(", \"dropped\": ");
        if (own) {
            sb.append('{');
            String sep = "";
            for (var e : dev.entrySet()) {
                if (e.getKey().startsWith(ext + "drop_")) {
                    sb.append(sep).append(str(e.getKey().substring((ext + "drop_").length()).replace('_', '-')))
                            .append(": ").append(num(e.getValue()));
                    sep = ", ";
                }
            }
            sb.append('}');
        } else {
            sb.append("null");
        }
        sb.append(", \"peers\": [");
        String sep = "";
        for (Map<String, List<String>> p : d.peers()) {
            sb.append(sep).append("\n    {\"public_key\": ").append(str(ShowCommand.base64(one(p, "public_key"))));
            String psk = one(p, "preshared_key");
            sb.append(", \"preshared_key\": ").append(psk != null && !psk.chars().allMatch(c -> c == '0'));
            if (showKeys) {
                sb.append(", \"preshared_key_value\": ").append(str(ShowCommand.presharedKey(p)));
            }
            sb.append(", \"endpoint\": ").append(str(one(p, "endpoint")));
            sb.append(", \"allowed_ips\": [");
            List<String> ips = p.getOrDefault("allowed_ip", List.of());
            for (int i = 0; i < ips.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(str(ips.get(i)));
            }
            sb.append("], \"latest_handshake\": ").append(num(one(p, "last_handshake_time_sec")));
            sb.append(", \"rx_bytes\": ").append(num(one(p, "rx_bytes")));
            sb.append(", \"tx_bytes\": ").append(num(one(p, "tx_bytes")));
            sb.append(", \"rx_packets\": ").append(own ? num(one(p, ext + "rx_packets")) : "null");
            sb.append(", \"tx_packets\": ").append(own ? num(one(p, ext + "tx_packets")) : "null");
            sb.append(", \"persistent_keepalive\": ").append(num(one(p, "persistent_keepalive_interval"))).append('}');
            sep = ",";
        }
        sb.append(d.peers().isEmpty() ? "]}" : "\n  ]}");
    }

    private static String one(Map<String, List<String>> p, String key) {
        List<String> v = p.get(key);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }

    private static String num(String v) {
        return v == null ? "0" : v.matches("\\d+") ? v : "0";
    }

    private static String str(String v) {
        return v == null ? "null" : "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
