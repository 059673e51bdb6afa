package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the reply to a UAPI {@code get=1} back into a {@link UapiDevice.DeviceState}, from any
 * UAPI server (patchcord's or wireguard-go's), for tools that compare a running interface with a
 * file ({@code patchcord syncconf}). Keys it does not need are skipped, as {@code wg} skips them.
 */
public final class UapiGetReply {
    private UapiGetReply() {
    }

    /**
     * @throws UapiException {@code EPROTO} for a reply that is not {@code key=value} lines or holds
     *         a bad value, or with the errno the server answered
     */
    public static UapiDevice.DeviceState parse(String reply) throws UapiException {
        byte[] privateKey = null;
        int listenPort = 0;
        int fwmark = 0;
        List<UapiDevice.PeerState> peers = new ArrayList<>();
        Peer peer = null;
        for (String line : reply.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new UapiException(UapiException.EPROTO, "not a key=value line in the reply: " + line);
            }
            String key = line.substring(0, eq);
            String value = line.substring(eq + 1);
            try {
                switch (key) {
                    case "errno" -> {
                        int errno = Integer.parseInt(value);
                        if (errno != 0) {
                            throw new UapiException(Math.abs(errno), "the interface answered errno " + value);
                        }
                    }
                    case "private_key" -> privateKey = Keys.fromHex(value);
                    case "listen_port" -> listenPort = Integer.parseInt(value);
                    case "fwmark" -> fwmark = Integer.parseUnsignedInt(value);
                    case "public_key" -> {
                        if (peer != null) {
                            peers.add(peer.state());
                        }
                        peer = new Peer(Keys.fromHex(value));
                    }
                    default -> {
                        if (peer != null) {
                            peer.line(key, value);
                        }
                    }
                }
            } catch (IllegalArgumentException e) {
                throw new UapiException(UapiException.EPROTO, "bad " + key + " in the reply: " + e.getMessage());
            }
        }
        if (peer != null) {
            peers.add(peer.state());
        }
        return new UapiDevice.DeviceState(privateKey, listenPort, fwmark, peers);
    }

    /** One peer's lines as they come. */
    private static final class Peer {
        final byte[] publicKey;
        byte[] presharedKey;
        InetSocketAddress endpoint;
        long handshakeSec;
        long handshakeNsec;
        long rx;
        long tx;
        int keepalive;
        final List<Cidr> allowed = new ArrayList<>();
        /** A list of endpoints (patchcord's extension), kept so that syncconf leaves an unchanged one alone. */
        String endpoints;
        /** patchcord_cluster: the peer is a client of the cluster store (a hub), which syncconf leaves alone. */
        String cluster;

        Peer(byte[] publicKey) {
            this.publicKey = publicKey;
        }

        void line(String key, String value) {
            switch (key) {
                case "preshared_key" -> {
                    byte[] k = Keys.fromHex(value);
                    presharedKey = Keys.isZero(k) ? null : k;
                }
                case "endpoint" -> endpoint = endpoint(value);
                case "last_handshake_time_sec" -> handshakeSec = Long.parseLong(value);
                case "last_handshake_time_nsec" -> handshakeNsec = Long.parseLong(value);
                case "rx_bytes" -> rx = Long.parseUnsignedLong(value);
                case "tx_bytes" -> tx = Long.parseUnsignedLong(value);
                case "persistent_keepalive_interval" -> keepalive = Integer.parseInt(value);
                case "allowed_ip" -> allowed.add(Cidr.parse(value));
                case UapiProtocol.EXTENSION_PREFIX + WgUapiDevice.ENDPOINTS -> endpoints = value;
                case UapiProtocol.EXTENSION_PREFIX + ClusterUapiDevice.CLUSTER -> cluster = value;
                default -> { } // protocol_version, patchcord's extensions, future keys
            }
        }

        UapiDevice.PeerState state() {
            return new UapiDevice.PeerState(publicKey, presharedKey, endpoint,
                    handshakeSec * 1_000_000_000L + handshakeNsec, rx, tx, keepalive, allowed,
                    extensions());
        }

        private java.util.Map<String, String> extensions() {
            java.util.Map<String, String> ext = new java.util.LinkedHashMap<>();
            if (endpoints != null) {
                ext.put(WgUapiDevice.ENDPOINTS, endpoints);
            }
            if (cluster != null) {
                ext.put(ClusterUapiDevice.CLUSTER, cluster);
            }
            return ext;
        }

        /** {@code 1.2.3.4:51820} or {@code [fd00::1]:51820} (a zone, if any, is dropped). */
        private static InetSocketAddress endpoint(String value) {
            int colon = value.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("'" + value + "' has no port");
            }
            String host = value.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            int zone = host.indexOf('%');
            if (zone >= 0) {
                host = host.substring(0, zone);
            }
            return new InetSocketAddress(Cidr.parseAddress(host), Integer.parseInt(value.substring(colon + 1)));
        }
    }
}
