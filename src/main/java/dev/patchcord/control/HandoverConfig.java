package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.util.HexFormat;

/**
 * The running device's configuration as it travels in a hand-over: a UAPI {@code set} request
 * that makes a successor's device what the running one is now, including what {@code wg set}
 * changed since the file was read (peers added or removed, new keys, endpoints learned by
 * roaming). Applied with the configuration socket's own parser and semantics
 * ({@link UapiProtocol#parseSet}), so there is no second reading of UAPI to keep right.
 */
final class HandoverConfig {
    private static final HexFormat HEX = HexFormat.of();
    private static final String ZERO_KEY = "0".repeat(64);

    private HandoverConfig() {}

    /**
     * The set request that reproduces {@code state}: the private key, the firewall mark, and every
     * peer with its preshared key, endpoint, keepalive and allowed IPs. It updates peers in place
     * rather than replacing them all; the successor removes the peers it has and this does not
     * name ({@link #removals}).
     * The listen port is not in it: the successor adopts the very socket. A peer with several
     * endpoints ({@code Endpoint = a, b}) keeps the list the file gave it rather than the one
     * endpoint in use (its list would be replaced by that single address).
     */
    static String of(UapiDevice.DeviceState state) {
        StringBuilder out = new StringBuilder(256 + 320 * state.peers().size());
        byte[] privateKey = state.privateKey();
        out.append("private_key=").append(privateKey == null ? ZERO_KEY : HEX.formatHex(privateKey)).append('\n');
        out.append("fwmark=").append(Integer.toUnsignedString(state.fwmark())).append('\n');
        for (UapiDevice.PeerState peer : state.peers()) {
            out.append("public_key=").append(HEX.formatHex(peer.publicKey())).append('\n');
            byte[] psk = peer.presharedKey();
            out.append("preshared_key=").append(psk == null ? ZERO_KEY : HEX.formatHex(psk)).append('\n');
            if (peer.endpoint() != null && !peer.extensions().containsKey(WgUapiDevice.ENDPOINTS)) {
                out.append("endpoint=").append(UapiProtocol.formatEndpoint(peer.endpoint())).append('\n');
            }
            out.append("persistent_keepalive_interval=").append(peer.persistentKeepalive()).append('\n');
            out.append("replace_allowed_ips=true\n");
            for (Cidr cidr : peer.allowedIps()) {
                out.append("allowed_ip=").append(cidr.network()).append('\n');
            }
        }
        return out.toString();
    }

    /** The request, parsed as the configuration socket parses one. */
    static SetRequest request(String body) throws UapiException {
        return UapiProtocol.parseSet(body);
    }

    /** A request removing the peers of {@code current} that {@code wanted} does not name (removed by wg set). */
    static String removals(UapiDevice.DeviceState current, SetRequest wanted) {
        java.util.Set<String> keep = new java.util.HashSet<>();
        wanted.peers().forEach(c -> keep.add(HEX.formatHex(c.publicKey())));
        StringBuilder out = new StringBuilder();
        for (UapiDevice.PeerState p : current.peers()) {
            String key = HEX.formatHex(p.publicKey());
            if (!keep.contains(key)) {
                out.append("public_key=").append(key).append("\nremove=true\n");
            }
        }
        return out.toString();
    }
}
